"""Style transfer (one voice in another identity's style) and the face at rest in silence (issue 9).

    python benchmarks/bench_style_transfer.py MODEL [--generic GENERIC_MODEL] [--every N]
        [--pause-every N] [--corpus data/corpus] [--samples 1] [--seed 0] [--silence-speakers 8] [--print-only]

On `swapped_test` (the audio of training speaker A, the ground truth articulated in speaker B's
style and labelled B; docs/articulation.md) it scores MODEL with identity B, with `auto` and with
the null identity, the generic model (trained without identities; only with `--generic`) and the
corpus resampled in B's style (the floor): the style error against B's ground truth and against
A's own motion of the same audio (A's natural clip), the share of clips closer to B, the ratio of
the identity-B style error to MODEL's own-identity style error on natural `test` clips of the same
stride, LVE against B's ground truth and its reduction against the generic model. On `pause_test`
(every `--pause-every`-th clip) and on 3 s of digital silence per speaker it scores the silence
(dtsdk.eval.silence): jaw and brows against the speaker's rest pose, blinks per minute against the
ground truth's and the speaker's style rate. Writes docs/results/bench_style_transfer.json and the
"Style transfer" and "Silence" sections of docs/benchmarks.md, targets checked against the numbers.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_results, write_section  # noqa: E402

from dtsdk.eval.harness import evaluate_model  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "results" / "bench_style_transfer.json"
SILENCE_S = 3.0  # digital silence per speaker
BLINK_TOLERANCE = 0.3  # "blinks at the speaker's rate": within 30% of the style's rate (as bench_teacher's)


def digital_silence(model, corpus, speakers, seed: int, num_samples: int) -> dict:
    """MODEL on SILENCE_S of exact zeros with each of ``speakers``' identities, every frame scored
    against that speaker's rest pose (:func:`dtsdk.eval.silence_scores`)."""
    from dtsdk.corpus.resample import speaker_style
    from dtsdk.corpus.style import rest_pose
    from dtsdk.eval import silence_scores
    from dtsdk.inference import Talker

    talker = Talker(model)
    zeros = np.zeros(int(SILENCE_S * talker.config.sample_rate), np.float32)
    clips = []
    for speaker in speakers:
        style = speaker_style(corpus, speaker)
        run = talker.animate(zeros, sr=talker.config.sample_rate, seed=seed, num_samples=num_samples,
                             identity=speaker)
        weights = (run if num_samples == 1 else run[0]).arkit_weights()
        clips.append((weights, np.ones(len(weights), bool), rest_pose(style), style.blink_rate_per_min))
    out = silence_scores(clips, float(talker.config.fps))
    out["speakers"] = list(speakers)
    return out


def transfer_targets(res: dict) -> list[tuple[str, bool | None, str]]:
    """Issue 9's style-transfer targets as (statement, met or None when it cannot be checked, numbers)."""
    own = res["swapped"]["systems"]["identity"]
    natural = res["natural"]["systems"]["identity"]
    null = res["swapped"]["systems"]["generic"]
    ratio = own["style_error"] / natural["style_error"]
    out = [("identity B closer to B's style than to the voice's (A's) on >= 90% of swapped clips",
            own["style_closer_share"] >= 0.9, f"{own['style_closer_share']:.1%} of {own['num_sequences']} clips"),
           ("identity-B style error at most 1.5x the style error on natural test clips", ratio <= 1.5,
            f"{ratio:.2f}x ({own['style_error']:.4g} vs {natural['style_error']:.4g})")]
    if res.get("generic") is None:
        out.append(("identity B lowers LVE by >= 15% against the generic model", None,
                    "not checked: --generic not given"))
    else:
        gen = res["generic"]["systems"]["generic"]
        cut = 1 - own["lve_max_l2_mm"] / gen["lve_max_l2_mm"]
        out.append(("identity B lowers LVE by >= 15% against the generic model", cut >= 0.15,
                    f"{cut:.1%} ({own['lve_max_l2_mm']:.4g} vs {gen['lve_max_l2_mm']:.4g} mm)"))
    cut_null = 1 - own["lve_max_l2_mm"] / null["lve_max_l2_mm"]
    out.append(("(not a target) identity B against the same model's null identity, LVE reduction", None,
                f"{cut_null:.1%} ({own['lve_max_l2_mm']:.4g} vs {null['lve_max_l2_mm']:.4g} mm)"))
    return out


def silence_targets(scores: dict, where: str) -> list[tuple[str, bool | None, str]]:
    """Issue 9's silence targets on one row of silence scores."""
    jaw, brow = scores["silence_jaw_error"], scores["silence_brow_error"]
    rate, style = scores["silence_blinks_per_min"], scores["silence_style_blinks_per_min"]
    return [(f"{where}: jaw within 0.05 of the rest pose", jaw <= 0.05, f"mean |jawOpen - rest| {jaw:.3f}"),
            (f"{where}: brows within 0.05 of the rest pose", brow <= 0.05, f"mean |browInnerUp - rest| {brow:.3f}"),
            (f"{where}: blinks at the speaker's rate (within {BLINK_TOLERANCE:.0%})",
             abs(rate - style) <= BLINK_TOLERANCE * style, f"{rate:.3g} vs {style:.3g} a minute")]


def _stride(n: int) -> str:
    """'every clip', 'every 2nd clip', 'every 6th clip'."""
    if n == 1:
        return "every clip"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"every {n}{suffix} clip"


def _cell(value, fmt: str = ".4g") -> str:
    return "–" if value is None else format(value, fmt)


def _checks(items) -> str:
    return "\n".join(f"- {text}: {numbers}" if met is None else f"- [{'x' if met else ' '}] {text}: {numbers}"
                     for text, met, numbers in items)


def transfer_table(res: dict) -> str:
    s, natural = res["swapped"]["systems"], res["natural"]["systems"]["identity"]
    gen = res["generic"]["systems"]["generic"] if res.get("generic") else None
    rows = [("model, identity B (the label)", s["identity"]), ("model, auto identity", s["auto"]),
            ("model, null identity", s["generic"]), ("generic model", gen),
            ("corpus resampled in B's style (the floor)", res["floor"]["systems"]["resampled"])]
    lines = ["| system | style error vs B | style error vs A | err(B) < err(A) | x natural | LVE max-L2 (mm) | "
             "LVE reduction vs generic | identity top-1 (vs the voice A) |", "|" + "---|" * 8]
    for label, m in rows:
        if m is None:
            continue
        cut = None if gen is None else 1 - m["lve_max_l2_mm"] / gen["lve_max_l2_mm"]
        lines.append(f"| {label} | {_cell(m['style_error'])} | {_cell(m['style_error_vs_voice'])} | "
                     f"{m['style_closer_share']:.0%} | {_cell(m['style_error'] / natural['style_error'], '.2f')} | "
                     f"{_cell(m['lve_max_l2_mm'])} | {'–' if cut is None else f'{cut:.1%}'} | "
                     f"{_cell(m.get('identity_top1'), '.1%')} |")
    lines.append(f"| model, own identity on natural `test` clips | {_cell(natural['style_error'])} | – | – | 1.00 | "
                 f"{_cell(natural['lve_max_l2_mm'])} | – | – |")
    return "\n".join(lines) + "\n"


def silence_table(res: dict) -> str:
    p = res["pause"]["systems"]["identity"]
    floor, static = (res["pause_floor"]["systems"][k] for k in ("resampled", "static_mean_face"))
    d = res["digital_silence"]
    truth = {"silence_jaw_error": p["silence_gt_jaw_error"], "silence_brow_error": p["silence_gt_brow_error"],
             "silence_blinks_per_min": p["silence_gt_blinks_per_min"], "silence_gt_blinks_per_min": None,
             "silence_style_blinks_per_min": p["silence_style_blinks_per_min"], "silence_s": p["silence_s"]}
    rows = [("model, own identity (`pause_test`)", p), ("corpus ground truth (`pause_test`)", truth),
            ("corpus resampled (`pause_test`, the floor)", floor), ("static mean face (`pause_test`)", static),
            (f"model, own identity ({SILENCE_S:g} s of digital silence, {len(d['speakers'])} speakers)", d)]
    lines = ["| system | jaw: mean abs(jawOpen - rest) | brows: mean abs(browInnerUp - rest) | blinks/min in silence | "
             "GT blinks/min (same frames) | speakers' style rate | silence scored (s) |", "|" + "---|" * 7]
    for label, m in rows:
        lines.append(f"| {label} | {m['silence_jaw_error']:.3f} | {m['silence_brow_error']:.3f} | "
                     f"{m['silence_blinks_per_min']:.3g} | {_cell(m.get('silence_gt_blinks_per_min'), '.3g')} | "
                     f"{_cell(m['silence_style_blinks_per_min'], '.3g')} | {m['silence_s']:.0f} |")
    return "\n".join(lines) + "\n"


def _recipe_name(corpus) -> str:
    from dtsdk.corpus.manifest import read_manifest

    return read_manifest(corpus)["recipe"].get("name", "?")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="checkpoint folder (e.g. dtsdk/models/default)")
    ap.add_argument("--generic", help="a generic model (recipe baseline-generic) for the LVE reduction")
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--every", type=int, default=1, help="every N-th clip of swapped_test and of test")
    ap.add_argument("--pause-every", type=int, default=1, help="every N-th clip of pause_test")
    ap.add_argument("--silence-speakers", type=int, default=8, help="speakers animated on digital silence")
    ap.add_argument("--samples", type=int, default=1, help="samples per clip (sample 0 is scored)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--print-only", action="store_true", help="print the sections; write neither docs nor JSON")
    args = ap.parse_args()
    if args.generic and not Path(args.generic).exists():
        ap.error(f"--generic {args.generic}: no such model folder")
    started, load_at_start, today = time.perf_counter(), os.getloadavg()[0], time.strftime("%Y-%m-%d")
    common = dict(num_samples=args.samples, seed=args.seed)
    res = {"swapped": evaluate_model(args.model, args.corpus, "swapped_test", systems=["identity", "auto", "generic"],
                                     every=args.every, **common)}
    res["swapped"]["corpus_recipe"] = _recipe_name(args.corpus)
    sampling = dict(sampler=res["swapped"]["sampler"], steps=res["swapped"]["steps"])
    res["generic"] = (evaluate_model(args.generic, args.corpus, "swapped_test", systems=["generic"], every=args.every,
                                     **common, **sampling) if args.generic else None)
    res["floor"] = evaluate_model(None, args.corpus, "swapped_test", systems=["resampled"], every=args.every, **common)
    res["natural"] = evaluate_model(args.model, args.corpus, "test", systems=["identity"], every=args.every, **common)
    res["pause"] = evaluate_model(args.model, args.corpus, "pause_test", systems=["identity"], every=args.pause_every,
                                  **common)
    res["pause_floor"] = evaluate_model(None, args.corpus, "pause_test", systems=["resampled", "static_mean_face"],
                                        every=args.pause_every, **common)
    speakers = res["swapped"]["model_identities"]
    step = max(1, len(speakers) // args.silence_speakers)
    res["digital_silence"] = digital_silence(args.model, args.corpus, speakers[::step][:args.silence_speakers],
                                             args.seed, args.samples)
    minutes = (time.perf_counter() - started) / 60
    res.update({"measured": today, "minutes": round(minutes, 2), "args": vars(args)})
    if not args.print_only:
        write_results(RESULTS, res)

    sw, nat, pause = res["swapped"], res["natural"], res["pause"]
    command = "python benchmarks/bench_style_transfer.py " + " ".join(
        [args.model] + ([f"--generic {args.generic}"] if args.generic else []) +
        [f"--every {args.every}", f"--pause-every {args.pause_every}", f"--silence-speakers {args.silence_speakers}"])
    run_line = (f"`{command}` on {machine_line()}; {today}, {minutes:.1f} min for both sections (1-minute load "
                f"average {load_at_start:.1f} on {os.cpu_count()} cores at its start). Corpus `{args.corpus}` "
                f"(synthetic, recipe `{sw['corpus_recipe']}`); {sw['sampler']} with {sw['steps']} steps, "
                f"{args.samples} sample(s) per clip, seed {args.seed}.")
    generic_note = "" if args.generic else " No generic model row: `--generic` not given (none is shipped)."
    transfer = f"""## Style transfer

{run_line}
Raw numbers: `docs/results/bench_style_transfer.json`.

`swapped_test`: the audio of training speaker A articulated in speaker B's style and labelled B
(every training speaker is a voice once and a style once; docs/articulation.md); {_stride(args.every)}:
{sw['num_clips']} clips, {len(sw['speakers'])} style speakers (B), {len(sw['voice_speakers'])} voices (A). The
natural row takes {_stride(args.every)} of `test` ({nat['num_clips']} clips), the same count per speaker, since a style
error computed on fewer frames is larger. Style error (ARKit
weight units, docs/metrics.md) against B's ground truth and against A's own motion of the same audio
(A's natural clip); "err(B) < err(A)" is the share of clips whose own style error is lower against B;
"x natural" divides the style error against B by the model's own-identity style error on natural
clips; LVE against B's ground truth. `auto` matches the identity from the audio, so it finds A's
voice (its top-1 is scored against A) and should follow A's style, not B's.{generic_note}
Reproduce one system: `dtsdk eval {args.model} --corpus {args.corpus} --split swapped_test --every {args.every}`.

{transfer_table(res)}
Targets (issue 9), checked by the script:

{_checks(transfer_targets(res))}
"""
    silence = f"""## Silence

{run_line}
Raw numbers: `docs/results/bench_style_transfer.json`.

`pause_test` (long pauses and silence-only clips, articulated as the speaker's resting face;
{_stride(args.pause_every)}: {pause['num_clips']} clips, {len(pause['speakers'])} speakers), scored on the frames
at least 0.5 s from speech (`dtsdk.corpus.extras.silent_frames`), and {SILENCE_S:g} s of digital silence (exact
zeros) animated with {len(res['digital_silence']['speakers'])} identities, every frame scored. Jaw and
brows: mean absolute distance to the speaker's rest pose (`dtsdk.corpus.style.rest_pose`), ARKit
weight units; blinks: `blink_count` per minute of scored frames, beside the ground truth's on the
same frames and the speakers' style rates (weighted by silent time). Definitions: docs/metrics.md,
"Silence scores". Reproduce: `dtsdk eval {args.model} --corpus {args.corpus} --split pause_test`.

{silence_table(res)}
Targets (issue 9), checked by the script:

{_checks(silence_targets(pause['systems']['identity'], '`pause_test`')
         + silence_targets(res['digital_silence'], 'digital silence'))}
"""
    print(transfer + "\n" + silence)
    if not args.print_only:
        write_section("style_transfer", transfer)
        write_section("silence", silence)
    return 0


if __name__ == "__main__":
    sys.exit(main())
