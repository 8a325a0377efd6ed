"""How ``auto`` should match a voice against enrolled identities: which voice keys, what margin (issue 11).

    python benchmarks/bench_voice_keys.py [MODEL] [--corpus data/corpus] [--minutes 3] [--no-write]

Offline, on MODEL (default: the packaged default model): each of the corpus's held-out speakers is "enrolled" from the
first ``--minutes`` of its ``enroll`` recordings (their 4 s windows, as ``dtsdk enroll`` cuts them), and
each way of keying it is scored on two sets of clips apart from each other:

* tuning: the speaker's later ``enroll`` recordings (never part of the enrolled minutes), and the
  training speakers' ``test`` clips that bench_enroll.py does not judge (all but every 4th);
* judged: every ``heldout_test`` clip, and every 4th training-speaker ``test`` clip (bench_enroll.py's).

Found: the share of a held-out speaker's clips ``auto`` gives its own identity (the library and all
held-out speakers' keys are the candidates). Taken: the share of training voices ``auto`` gives an
enrolled identity instead of a library one. An enrolled identity wins a clip when its closest key
beats the closest library identity by more than the margin (cosine). The rule reads the tuning clips
alone: at most 5% of the tuning training voices taken, then the most tuning voices found, ties to the
fewest taken. Keys: the audio-only fit (one key, the earlier design), the
mean query, k-means centres of the window queries, or every window's query.
Writes docs/results/bench_voice_keys.json and the "Voice keys" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, publish, repo_relative  # noqa: E402
from bench_enroll import LIBRARY_EVERY, enrollment_folder  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "results" / "bench_voice_keys.json"
KEYS = ("fit", "mean", "kmeans-3", "kmeans-8", "every-window")
MARGINS = (0.0, 0.04, 0.08, 0.10, 0.12, 0.15)
MAX_TAKEN = 0.05  # the rule's ceiling on the tuning training voices taken


def clip_query(model, wav: Path) -> torch.Tensor:
    """One clip's audio-to-identity query (E,), as ``auto`` computes it."""
    from dtsdk.audio import load_audio

    wave = torch.from_numpy(load_audio(wav, sr=model.config.sample_rate))[None]  # (1, S)
    frames = max(1, round(wave.shape[1] / model.config.sample_rate * model.config.fps))
    with torch.no_grad():
        return model.personalizer.query(model.encoder(wave, frames))[0]


def spherical_kmeans(points: torch.Tensor, k: int, iterations: int = 20) -> torch.Tensor:
    """Unit rows (N, E) -> k unit centres (k, E); deterministic (farthest-point start from the mean)."""
    centres = [F.normalize(points.mean(0), dim=0)]
    while len(centres) < min(k, len(points)):
        centres.append(points[(points @ torch.stack(centres).T).max(dim=1).values.argmin()])
    centres = torch.stack(centres)
    for _ in range(iterations):
        nearest = (points @ centres.T).argmax(dim=1)
        centres = torch.stack([F.normalize(points[nearest == j].mean(0), dim=0) if (nearest == j).any() else c
                               for j, c in enumerate(centres)])
    return centres


def speaker_keys(model, windows) -> dict[str, torch.Tensor]:
    """Every kind of key for one enrolled speaker: kind -> unit rows (K, E)."""
    from dtsdk.enrollment import voice_keys_for
    from dtsdk.enrollment.fit import EnrollSettings, fit_identity

    queries = voice_keys_for(model, windows)  # (N, E), unit rows
    fit = fit_identity(model, windows, EnrollSettings()).embedding  # the audio-only fit
    return {"fit": F.normalize(fit, dim=0)[None], "mean": F.normalize(queries.mean(0), dim=0)[None],
            "kmeans-3": spherical_kmeans(queries, 3), "kmeans-8": spherical_kmeans(queries, 8),
            "every-window": queries}


def collect(model, corpus: Path, minutes: float) -> dict:
    """Keys of each held-out speaker and the clip queries of the four sets."""
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.enrollment import MIN_SECONDS
    from dtsdk.enrollment.fit import cut_windows
    from dtsdk.enrollment.scan import scan_recordings

    speakers = sorted(p.name for p in (corpus / "speakers").iterdir() if any(p.glob(f"{p.name}_heldout_test_*.wav")))
    keys, tune, judged = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for speaker in speakers:
            folder = Path(tmp) / speaker
            enrollment_folder(corpus, speaker, minutes * 60, folder, captures=False)
            enrolled = {p.name for p in folder.iterdir()}
            windows = cut_windows(model, scan_recordings(folder, model.config, MIN_SECONDS).used, 4.0)
            keys[speaker] = speaker_keys(model, windows)
            own = corpus / "speakers" / speaker
            tune[speaker] = [clip_query(model, w) for w in sorted(own.glob(f"{speaker}_enroll_*.wav"))
                             if w.name not in enrolled]
            judged[speaker] = [clip_query(model, w) for w in sorted(own.glob(f"{speaker}_heldout_test_*.wav"))]
    tests = [c for c in read_manifest(corpus)["clips"] if c["split"] == "test"]
    voices = {"tune": [clip_query(model, corpus / c["wav"]) for i, c in enumerate(tests) if i % LIBRARY_EVERY],
              "judged": [clip_query(model, corpus / c["wav"]) for c in tests[::LIBRARY_EVERY]]}
    return {"speakers": speakers, "keys": keys, "own": {"tune": tune, "judged": judged}, "voices": voices}


def picks(queries: list[torch.Tensor], bank: torch.Tensor, keys: dict, margin: float) -> list[str | None]:
    """The enrolled speaker ``auto`` gives each clip, or None where a library identity wins."""
    if not queries:
        return []
    owners = [s for s, k in keys.items() for _ in range(len(k))]
    q = F.normalize(torch.stack(queries), dim=-1)  # (C, E)
    library = (q @ bank.T).max(dim=1).values  # (C,)
    enrolled = q @ torch.cat(list(keys.values())).T  # (C, K_all)
    best, which = enrolled.max(dim=1)
    return [owners[j] if b > lib + margin else None
            for b, j, lib in zip(best.tolist(), which.tolist(), library.tolist())]


def score(data: dict, bank: torch.Tensor, kind: str, margin: float, part: str) -> dict:
    keys = {s: data["keys"][s][kind] for s in data["speakers"]}
    own = [(s, p) for s in data["speakers"] for p in picks(data["own"][part][s], bank, keys, margin)]
    taken = picks(data["voices"][part], bank, keys, margin)
    return {"found": sum(s == p for s, p in own) / max(1, len(own)),
            "taken": sum(p is not None for p in taken) / max(1, len(taken)),
            "clips": len(own), "voices": len(taken)}


def choose(rows: list[dict]) -> dict:
    """The rule: at most MAX_TAKEN of the tuning voices taken, the most found, ties to the fewest taken
    (where no row keeps to MAX_TAKEN: the fewest taken, ties to the most found)."""
    allowed = [r for r in rows if r["tune"]["taken"] <= MAX_TAKEN]
    if not allowed:
        return min(rows, key=lambda r: (r["tune"]["taken"], -r["tune"]["found"]))
    return max(allowed, key=lambda r: (r["tune"]["found"], -r["tune"]["taken"]))


def measure(args) -> dict:
    from dtsdk.identities.resolver import ENROLLED_MARGIN
    from dtsdk.inference.talker import load_model

    model, _ = load_model(args.model)
    model.eval()
    data = collect(model, Path(args.corpus), args.minutes)
    bank = F.normalize(model.personalizer.bank.detach(), dim=-1)
    rows = [{"keys": kind, "margin": m, "tune": score(data, bank, kind, m, "tune"),
             "judged": score(data, bank, kind, m, "judged")} for kind in KEYS for m in MARGINS]
    chosen = choose(rows)
    return {"machine": machine_line(), "date": time.strftime("%Y-%m-%d"), "command": args.command,
            "model": repo_relative(args.model) if args.model else "default",
            "corpus": repo_relative(args.corpus), "minutes": args.minutes, "speakers": data["speakers"],
            "rows": rows, "chosen": {"keys": chosen["keys"], "margin": chosen["margin"]},
            "shipped": {"keys": "every-window", "margin": ENROLLED_MARGIN}}


def report(res: dict) -> str:
    first = res["rows"][0]
    lines = [f"`{res['command']}` on {res['machine']}, {res['date']}", "",
             f"The {len(res['speakers'])} held-out speakers keyed from their first {res['minutes']:g} min of "
             f"`enroll` recordings. Tuning: {first['tune']['clips']} later `enroll` clips of theirs and "
             f"{first['tune']['voices']} training-speaker `test` clips; judged: their {first['judged']['clips']} "
             f"`heldout_test` clips and {first['judged']['voices']} training-speaker `test` clips (every "
             f"{LIBRARY_EVERY}th, as bench_enroll.py). Found: clips given their own speaker; taken: training "
             f"voices given an enrolled identity. Rule (tuning clips only): taken <= {MAX_TAKEN:.0%}, "
             "then the most found, ties to the fewest taken.", "",
             "| keys | margin | tuning found | tuning taken | judged found | judged taken |",
             "|---|---|---|---|---|---|"]
    for r in res["rows"]:
        mark = " **(chosen)**" if (r["keys"], r["margin"]) == (res["chosen"]["keys"], res["chosen"]["margin"]) else ""
        lines.append(f"| {r['keys']}{mark} | {r['margin']:.2f} | {r['tune']['found']:.1%} | {r['tune']['taken']:.1%} "
                     f"| {r['judged']['found']:.1%} | {r['judged']['taken']:.1%} |")
    shipped = res["shipped"]
    agree = "agrees with" if shipped == res["chosen"] else "DIFFERS from"
    lines += ["", f"Shipped (`dtsdk.enrollment.voice_keys_for`, `ENROLLED_MARGIN`): {shipped['keys']} keys, margin "
              f"{shipped['margin']:.2f}; it {agree} the rule's choice.", "",
              "Raw numbers: `docs/results/bench_voice_keys.json`."]
    return "\n".join(lines)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", help="checkpoint folder (default: the packaged default model)")
    parser.add_argument("--corpus", default=str(REPO / "data" / "corpus"))
    parser.add_argument("--minutes", type=float, default=3.0, help="enrolled minutes a speaker")
    parser.add_argument("--no-write", action="store_true", help="print only; write no results")
    args = parser.parse_args(argv)
    args.command = " ".join(["python benchmarks/bench_voice_keys.py",
                             *(shlex.quote(repo_relative(a) if os.path.isabs(a) else a)
                               for a in (sys.argv[1:] if argv is None else argv))])
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    res = measure(args)
    publish(RESULTS, res, "voice-keys", report(res), write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
