"""Enrollment on the corpus's held-out speakers: quality, retrieval and speed (issue 11).

    python benchmarks/bench_enroll.py [MODEL] [--corpus data/corpus] [--speakers h01,h02,...]
        [--minutes 3] [--curve 10,30,60] [--every 2] [--upper-bound runs/enroll-upper-bound/final]
        [--steps 100] [--seed 0] [--no-write]

For each held-out speaker (never trained on), the first ``--minutes`` of its ``enroll`` split are
enrolled twice into a throwaway identity store (the user's is not touched): with their captures
(the npz beside each wav) and from the audio alone, each timed. Then, on every ``--every``-th
``heldout_test`` clip (sentences the enrollment never heard), side by side with ``dtsdk eval``'s
metrics: the model's null identity (``generic``), ``auto`` (the nearest library identity), the
two enrolled identities, the ``resampled`` floor (a second draw of the corpus) and, with
``--upper-bound``, a model trained with these speakers' enroll clips as its own identities
(``dtsdk train enroll-upper-bound``), which shows how far an identity can go on this backbone.
Gap closure: (generic - enrolled) / (generic - upper bound), for LVE and style error. ``auto`` is
also matched on the held-out clips with the 3-minute identities among the candidates (retrieval).
Finally a curve: style error and LVE against seconds of enrollment data (``--curve`` seconds with
captures, plus the ``--minutes`` run). Writes docs/results/bench_enroll.json and the "Enrollment"
section of docs/benchmarks.md. MODEL defaults to the packaged default model.
"""
from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_results, write_section  # noqa: E402


REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "results" / "bench_enroll.json"
TARGETS = {"gap_closed": 0.70, "retrieval_top1": 0.90, "enroll_3min_s": 30.0}


def enrollment_folder(corpus: Path, speaker: str, seconds: float, folder: Path, captures: bool) -> float:
    """Links to the first ``seconds`` of the speaker's enroll clips (and their npz captures) in ``folder``."""
    folder.mkdir(parents=True)
    total = 0.0
    for wav in sorted((corpus / "speakers" / speaker).glob(f"{speaker}_enroll_*.wav")):
        if total >= seconds:
            break
        total += sf.info(str(wav)).duration
        os.symlink(wav.resolve(), folder / wav.name)
        if captures:
            os.symlink(wav.with_suffix(".npz").resolve(), folder / wav.with_suffix(".npz").name)
    return total


def auto_matches(model, corpus: Path, speakers: list[str]) -> dict:
    """speaker -> {chosen identity: clips} for "auto" on each speaker's heldout_test clips."""
    from dtsdk.audio import load_audio
    from dtsdk.identities import match_identity

    picks = {}
    for speaker in speakers:
        counts = collections.Counter()
        for wav in sorted((corpus / "speakers" / speaker).glob(f"{speaker}_heldout_test_*.wav")):
            wave = torch.from_numpy(load_audio(wav, sr=model.config.sample_rate))[None]  # (1, S)
            frames = max(1, round(wave.shape[1] / model.config.sample_rate * model.config.fps))
            with torch.no_grad():
                counts[match_identity(model, model.encoder(wave, frames))[0].name] += 1
        picks[speaker] = dict(counts.most_common())
    return picks


def enroll_all(model, corpus: Path, speakers: list[str], seconds: float, captures: bool, tmp: Path, args) -> dict:
    """Enroll each speaker from its first ``seconds`` of recordings: speaker -> {name, seconds, metrics}."""
    from dtsdk.enrollment import enroll

    runs = {}
    for speaker in speakers:
        name = f"{speaker}-{'captures' if captures else 'audio'}-{int(seconds)}s"
        used = enrollment_folder(corpus, speaker, seconds, tmp / name, captures)
        started = time.perf_counter()
        result = enroll(tmp / name, name, model, steps=args.steps, seed=args.seed)
        runs[speaker] = {"name": name, "seconds_of_audio": round(used, 1),
                         "wall_seconds": round(time.perf_counter() - started, 2), **result.metrics}
    return runs


def score(model, corpus: Path, args, systems: list[str], identities: dict | None = None) -> dict:
    from dtsdk.eval.harness import evaluate_model

    run = evaluate_model(model, corpus, "heldout_test", systems=systems, every=args.every, seed=args.seed,
                         identities=identities, speakers=args.speaker_list)
    return {**run["systems"], "_clips": run["num_clips"], "_sampler": f"{run['sampler']}-{run['steps']}"}


def gap_closed(generic: dict, enrolled: dict, upper: dict, key: str) -> float | None:
    gap = generic[key] - upper[key]
    return (generic[key] - enrolled[key]) / gap if gap > 0 else None


def retrieval_top1(picks: dict) -> dict:
    """speaker -> share of its clips on which ``auto`` picked one of the speaker's enrolled identities."""
    return {s: sum(n for name, n in p.items() if name.startswith(f"{s}-")) / max(1, sum(p.values()))
            for s, p in picks.items()}


def measure(args) -> dict:
    from dtsdk.inference.talker import load_model

    corpus = Path(args.corpus)
    model, label = load_model(args.model)
    heldout = sorted(p.name for p in (corpus / "speakers").iterdir() if p.name.startswith("h"))
    speakers = args.speaker_list = args.speakers.split(",") if args.speakers else heldout
    main_s = args.minutes * 60
    res = {"machine": machine_line(), "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
           "model": _repo_relative(args.model) if args.model else "the packaged default model",
           "corpus": _repo_relative(args.corpus), "speakers": speakers, "every": args.every,
           "minutes": args.minutes}
    print(f"model {label}; held-out speakers {', '.join(speakers)}")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DTSDK_HOME"] = str(Path(tmp) / "home")  # a throwaway store, never the user's
        res["enroll"] = {"captures": enroll_all(model, corpus, speakers, main_s, True, Path(tmp), args),
                         "audio": enroll_all(model, corpus, speakers, main_s, False, Path(tmp), args)}
        res["auto_picks"] = auto_matches(model, corpus, heldout)  # before the curve's identities exist
        res["retrieval_top1"] = retrieval_top1({s: res["auto_picks"][s] for s in speakers})
        print("enrolled; scoring", flush=True)
        res["systems"] = score(model, corpus, args, ["generic", "auto", "resampled"])
        for mode in ("captures", "audio"):
            names = {s: run["name"] for s, run in res["enroll"][mode].items()}
            res["systems"][f"enrolled-{mode}"] = score(model, corpus, args, ["identity"], names)["identity"]
        res["curve"] = {}
        for seconds in args.curve:
            runs = enroll_all(model, corpus, speakers, seconds, True, Path(tmp), args)
            scored = score(model, corpus, args, ["identity"], {s: r["name"] for s, r in runs.items()})["identity"]
            res["curve"][str(seconds)] = {"seconds_of_audio": _mean(r["seconds_of_audio"] for r in runs.values()),
                                          **_summary(scored)}
        res["curve"][str(int(main_s))] = {
            "seconds_of_audio": _mean(r["seconds_of_audio"] for r in res["enroll"]["captures"].values()),
            **_summary(res["systems"]["enrolled-captures"])}
    if args.upper_bound:
        res["upper_bound_model"] = _repo_relative(args.upper_bound)
        res["systems"]["upper-bound"] = score(args.upper_bound, corpus, args, ["identity"])["identity"]
    return res


def _summary(metrics: dict) -> dict:
    return {k: metrics[k] for k in ("lve_max_l2_mm", "style_error", "fdd_abs_mm2")}


def _mean(values) -> float:
    values = list(values)
    return round(sum(values) / len(values), 1)


def _repo_relative(path) -> str:
    """A path as the results record it: relative to the repository, never this machine's absolute path."""
    path = Path(path).resolve()
    return os.fspath(path.relative_to(REPO)) if path.is_relative_to(REPO) else path.name


def verdicts(res: dict) -> list[str]:
    """One line per target, met or missed, from the numbers."""
    lines = []
    systems = res["systems"]
    if "upper-bound" in systems:
        for key, what in (("style_error", "style error"), ("lve_max_l2_mm", "LVE")):
            closed = gap_closed(systems["generic"], systems["enrolled-captures"], systems["upper-bound"], key)
            ok = closed is not None and closed >= TARGETS["gap_closed"]
            shown = "no gap to close" if closed is None else f"{100 * closed:.0f}%"
            lines.append(f"audio+capture enrollment closes {shown} of the generic-to-upper-bound gap in {what} "
                         f"(target >= 70%): {'met' if ok else 'missed'}")
    else:
        lines.append("gap closure: not measured (no --upper-bound model)")
    top1 = res["retrieval_top1"]
    mean_top1 = sum(top1.values()) / len(top1)
    lines.append(f"`auto` retrieves the speaker's enrolled identity on {100 * mean_top1:.0f}% of its held-out clips "
                 f"(per speaker {', '.join(f'{s} {100 * v:.0f}%' for s, v in top1.items())}; target >= 90%): "
                 f"{'met' if mean_top1 >= TARGETS['retrieval_top1'] else 'missed'}")
    runs = res["enroll"]["captures"].values()
    slowest = max(r["wall_seconds"] for r in runs)
    lines.append(f"{res['minutes']:g} min with captures enroll in {_mean(r['wall_seconds'] for r in runs)} s on "
                 f"average, {slowest:.1f} s at most (target < 30 s for 3 min): "
                 f"{'met' if slowest < TARGETS['enroll_3min_s'] else 'missed'}")
    return lines


def report(res: dict) -> str:
    from dtsdk.eval.harness import comparison_table

    s = res["systems"]
    rows = [("resampled (floor)", s["resampled"]), ("generic (null identity)", s["generic"]),
            ("auto (nearest library identity)", s["auto"]), ("enrolled, audio only", s["enrolled-audio"]),
            ("enrolled, audio + captures", s["enrolled-captures"]), ("upper bound (trained on them)",
                                                                     s.get("upper-bound"))]
    curve = "\n".join(f"| {c['seconds_of_audio']:.0f} | {c['lve_max_l2_mm']:.3f} | {c['style_error']:.4f} | "
                      f"{c['fdd_abs_mm2']:.3f} |" for c in sorted(res["curve"].values(),
                                                                key=lambda c: c["seconds_of_audio"]))
    times = {mode: _mean(r["wall_seconds"] for r in runs.values()) for mode, runs in res["enroll"].items()}
    upper = (f" The upper bound is `{res['upper_bound_model']}` (`dtsdk train enroll-upper-bound`: the teacher's "
             "recipe with these speakers' enroll clips of the large corpus, another draw of the same styles, as "
             "identities of their own)." if "upper_bound_model" in res else " No upper-bound model was given.")
    verdict = "\n".join(f"- {line}" for line in verdicts(res))
    return f"""## Enrollment

`python benchmarks/bench_enroll.py{' --upper-bound ' + res['upper_bound_model'] if 'upper_bound_model' in res else ''}`
on {res['machine']}, {res['threads']} thread(s), {res['date']}, model: {res['model']}. Held-out speakers
{', '.join(res['speakers'])} (never trained on): {res['minutes']:g} min of each one's `enroll` recordings
enrolled with captures and from the audio alone, then every {res['every']}th `heldout_test` clip
({s['generic']['num_sequences']} clips, sentences enrollment never heard), {s['_sampler']}, 2 samples
per clip, seed 0.{upper} Mean enrollment time: {times['captures']} s with captures, {times['audio']} s
audio only.

{comparison_table(rows, floor=s['resampled'])}
Style error and LVE against seconds of enrollment data (audio + captures, mean per speaker):

| seconds enrolled | LVE max-L2 (mm) | style error | FDD abs |
|---|---|---|---|
{curve}

{verdict}
"""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="checkpoint folder (default: the packaged default model)")
    parser.add_argument("--corpus", default=str(REPO / "data" / "corpus"))
    parser.add_argument("--speakers", default="", help="comma-separated held-out speakers (default: all)")
    parser.add_argument("--minutes", type=float, default=3.0, help="enrollment data per speaker")
    parser.add_argument("--curve", default="10,30,60", help="comma-separated seconds for the data curve ('' none)")
    parser.add_argument("--every", type=int, default=2, help="score every N-th heldout_test clip")
    parser.add_argument("--upper-bound", help="a model trained with the held-out speakers as identities")
    parser.add_argument("--steps", type=int, default=None, help="enrollment optimiser steps (default: enrollment's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    args.curve = [float(x) for x in args.curve.split(",") if x.strip()]
    started = time.perf_counter()
    res = measure(args)
    res["wall_seconds"] = round(time.perf_counter() - started, 1)
    body = report(res)
    print(body)
    if not args.no_write:
        write_results(RESULTS, res)
        print(f"wrote {RESULTS} and {write_section('enroll', body)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
