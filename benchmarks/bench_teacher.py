"""The diffusion teacher against its baselines on the default corpus (issue 4's targets).

    python benchmarks/bench_teacher.py [--corpus data/corpus] [--teacher dtsdk/models/default]
        [--teacher-run runs/teacher/final] [--regression runs/regression/final]
        [--generic runs/generic/final] [--limit N] [--every N] [--reuse regression,generic]

Scores, on the test split (training speakers, unseen sentences) with `dtsdk.eval.evaluate_model`:
the teacher with each clip's own identity, with `auto` identity, with the null identity; the
generic model (trained with no identity at all); the deterministic regression model on the same
backbone; the static mean face; and the corpus resampled (the `resampled` system, no model: the
floor every score is judged against, docs/metrics.md). The teacher and the floor are also scored
on the held-out speakers. Writes docs/results/bench_teacher.json and the "Teacher and baselines"
section of docs/benchmarks.md, targets included, checked against the numbers rather than by hand.

``--reuse`` takes the named results (keys of the JSON: teacher, regression, generic,
teacher_heldout, teacher_sampler_sweep, resampled, resampled_heldout) from the JSON of an earlier
run instead of scoring them again (for instance when the baselines' training runs are not on this
machine); the section says which rows were rerun and which were reused, with their dates.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_results, write_section  # noqa: E402

from dtsdk.eval.harness import comparison_table, evaluate_model  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
# Teacher samplers compared on a subset.
SWEEP = (("ddim", 1), ("ddim", 10), ("ddim", 50), ("ddpm", 25), ("ddpm", 100), ("ddpm", 250))
SWEEP_EVERY = 9  # every 9th test clip: 32 clips, every speaker
RESULTS = REPO / "docs" / "results" / "bench_teacher.json"


def _training(run_dir: Path) -> str:
    """'N steps, M min' from the summary.json that `dtsdk train` wrote next to final/."""
    summary = run_dir.parent / "summary.json"
    if not summary.is_file():
        return "–"
    s = json.loads(summary.read_text())
    return f"{s['steps']} steps, {s['seconds'] / 60:.1f} min"


def targets(res: dict) -> list[tuple[str, bool, str]]:
    """Issue 4's targets as (statement, met, the numbers behind it)."""
    own = res["teacher"]["systems"]["identity"]
    reg = res["regression"]["systems"]["identity"]
    gen = res["generic"]["systems"]["generic"]
    auto = res["teacher"]["systems"]["auto"]
    return [
        ("teacher beats the regression baseline on FDD (lower |FDD|)", own["fdd_abs_mm2"] < reg["fdd_abs_mm2"],
         f"{own['fdd_abs_mm2']:.4g} vs {reg['fdd_abs_mm2']:.4g} mm²"),
        ("teacher beats the regression baseline on diversity", own["diversity_mm"] > reg["diversity_mm"],
         f"{own['diversity_mm']:.4g} vs {reg['diversity_mm']:.4g} mm"),
        ("... at equal or better LVE (max-L2)", own["lve_max_l2_mm"] <= reg["lve_max_l2_mm"],
         f"{own['lve_max_l2_mm']:.4g} vs {reg['lve_max_l2_mm']:.4g} mm"),
        ("identity retrieval top-1 >= 95% on training speakers", auto["identity_top1"] >= 0.95,
         f"{auto['identity_top1']:.1%} of {auto['num_retrieval_queries']} test clips"),
        ("identity conditioning lowers LVE against the generic model", own["lve_max_l2_mm"] < gen["lve_max_l2_mm"],
         f"{own['lve_max_l2_mm']:.4g} vs {gen['lve_max_l2_mm']:.4g} mm"),
    ]


def floor_targets(res: dict) -> list[tuple[str, bool, str]]:
    """Issue 9's targets on natural test clips that the `resampled` floor defines, as in :func:`targets`."""
    own = res["teacher"]["systems"]["identity"]
    floor = res["resampled"]["systems"]["resampled"]
    lve, style = own["lve_max_l2_mm"] / floor["lve_max_l2_mm"], own["style_error"] / floor["style_error"]
    blinks, gt_blinks = own["blinks_per_min"], own["gt_blinks_per_min"]
    return [
        ("teacher LVE at most 2x the resampled floor", lve <= 2.0,
         f"{lve:.2f}x ({own['lve_max_l2_mm']:.4g} vs {floor['lve_max_l2_mm']:.4g} mm)"),
        ("teacher style error at most 3x the floor", style <= 3.0,
         f"{style:.2f}x ({own['style_error']:.4g} vs {floor['style_error']:.4g})"),
        ("teacher FDD abs no worse than 0.335 mm² (issue 9's 'today')", float(f"{own['fdd_abs_mm2']:.3g}") <= 0.335,
         f"{own['fdd_abs_mm2']:.4g} mm² (floor {floor['fdd_abs_mm2']:.4g})"),
        ("teacher blinks per minute within 30% of the ground truth", abs(blinks - gt_blinks) <= 0.3 * gt_blinks,
         f"{blinks:.3g} vs {gt_blinks:.3g} (floor {floor['blinks_per_min']:.3g})"),
    ]


def _previous_results() -> dict:
    return json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}


RESULT_KEYS = ("teacher", "regression", "generic", "teacher_heldout", "teacher_sampler_sweep", "resampled",
               "resampled_heldout")
MODEL_SYSTEMS = ("identity", "auto", "generic", "static_mean_face")  # the floor is scored once, on its own


def _sweep(args) -> list[dict]:
    sweep = []
    for sampler, steps in SWEEP:
        run = evaluate_model(args.teacher, args.corpus, "test", systems=["identity"], sampler=sampler, steps=steps,
                             every=SWEEP_EVERY, num_samples=args.samples, seed=args.seed)
        sweep.append({"sampler": sampler, "steps": steps, "num_clips": run["num_clips"],
                      "seconds_per_clip": run["seconds"] / run["num_clips"], **run["systems"]["identity"]})
    return sweep


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--teacher", default="dtsdk/models/default")
    ap.add_argument("--teacher-run", default="runs/teacher/final", help="the training run packaged as --teacher")
    ap.add_argument("--regression", default="runs/regression/final")
    ap.add_argument("--generic", default="runs/generic/final")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--limit", type=int, help="only the first N clips of each split (quick look)")
    ap.add_argument("--every", type=int, default=1, help="every N-th clip of each split (a subset with every speaker)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--reuse", default="", help="comma-separated results to take from the earlier run's JSON "
                                                f"instead of scoring them again ({', '.join(RESULT_KEYS)})")
    args = ap.parse_args()
    reuse = [k for k in args.reuse.split(",") if k]
    unknown = [k for k in reuse if k not in RESULT_KEYS]
    previous = _previous_results()  # for --reuse, and the training lines of run folders not on this machine
    missing = [k for k in reuse if k not in previous]
    if unknown or missing:
        ap.error(f"--reuse: {', '.join(unknown)} unknown" if unknown else
                 f"--reuse: {', '.join(missing)} not in {RESULTS.relative_to(REPO)}")
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    today = time.strftime("%Y-%m-%d")
    common = dict(num_samples=args.samples, limit=args.limit, seed=args.seed, every=args.every)

    def run(key, compute):
        return previous[key] if key in reuse else compute()

    res = {"teacher": run("teacher", lambda: evaluate_model(args.teacher, args.corpus, "test", systems=MODEL_SYSTEMS,
                                                            **common))}
    same_sampling = dict(sampler=res["teacher"]["sampler"], steps=res["teacher"]["steps"])  # the generic model alike
    res["regression"] = run("regression", lambda: evaluate_model(args.regression, args.corpus, "test",
                                                                 systems=["identity", "auto"], **common))
    res["generic"] = run("generic", lambda: evaluate_model(args.generic, args.corpus, "test", systems=["generic"],
                                                           **common, **same_sampling))
    res["teacher_heldout"] = run("teacher_heldout", lambda: evaluate_model(
        args.teacher, args.corpus, "heldout_test", systems=["auto", "generic"], **common))
    res["teacher_sampler_sweep"] = run("teacher_sampler_sweep", lambda: _sweep(args))
    res["resampled"] = run("resampled", lambda: evaluate_model(None, args.corpus, "test", systems=["resampled"],
                                                               **common))
    res["resampled_heldout"] = run("resampled_heldout", lambda: evaluate_model(
        None, args.corpus, "heldout_test", systems=["resampled"], **common))
    # When each result was measured, and how each model was trained (kept when the run folder is gone).
    res["measured"] = {k: previous.get("measured", {}).get(k, "an earlier run") if k in reuse else today
                       for k in RESULT_KEYS}
    res["training"] = {name: _training(Path(folder)) for name, folder in
                       (("teacher", args.teacher_run), ("regression", args.regression), ("generic", args.generic))}
    for name, line in res["training"].items():
        if line == "–":
            res["training"][name] = previous.get("training", {}).get(name, "–")
    minutes = (time.perf_counter() - started) / 60
    write_results(RESULTS, res)

    teacher, sweep = res["teacher"], res["teacher_sampler_sweep"]
    t, r, g, h = (res[k]["systems"] for k in ("teacher", "regression", "generic", "teacher_heldout"))
    floor, floor_heldout = res["resampled"]["systems"]["resampled"], res["resampled_heldout"]["systems"]["resampled"]
    test_table = comparison_table([
        ("teacher, own identity", t["identity"]), ("teacher, auto identity", t["auto"]),
        ("teacher, null identity", t["generic"]), ("generic model", g["generic"]),
        ("regression baseline, own identity", r["identity"]), ("regression baseline, auto identity", r["auto"]),
        ("static mean face", t["static_mean_face"]), ("corpus resampled (the floor)", floor)], floor=floor)
    heldout_table = comparison_table([("teacher, auto identity", h["auto"]), ("teacher, null identity", h["generic"]),
                                      ("corpus resampled (the floor)", floor_heldout)], floor=floor_heldout)
    sweep_rows = "\n".join(f"| {r['sampler']} | {r['steps']} | {r['lve_max_l2_mm']:.4g} | {r['fdd_abs_mm2']:.4g} | "
                           f"{r['diversity_mm']:.4g} | {r['blinks_per_min']:.3g} | {r['gt_blinks_per_min']:.3g} | "
                           f"{r['seconds_per_clip']:.2f} |" for r in sweep)
    checks = "\n".join(f"- [{'x' if met else ' '}] {text}: {numbers}" for text, met, numbers in targets(res))
    floor_checks = "\n".join(f"- [{'x' if met else ' '}] {text}: {numbers}" for text, met, numbers in
                             floor_targets(res))
    rerun = [k for k in RESULT_KEYS if k not in reuse]
    provenance = f"Scored in this run ({today}, {minutes:.1f} min; 1-minute load average {load_at_start:.1f} " \
                 f"on {os.cpu_count()} cores at its start): {', '.join(f'`{k}`' for k in rerun)}."
    if reuse:
        provenance += " Reused from an earlier run of this script (`--reuse`; measured " + ", ".join(
            f"`{k}` {res['measured'][k]}" for k in reuse) + ")."
    sweep_timing = f"seconds per clip for a batch of {args.samples} samples, " + (
        f"measured {res['measured']['teacher_sampler_sweep']}" if "teacher_sampler_sweep" in reuse else
        f"at a 1-minute load average of {load_at_start:.1f} on {os.cpu_count()} cores when the run began")
    flags = (f" --every {args.every}" if args.every > 1 else "") + (f" --reuse {','.join(reuse)}" if reuse else "")
    body = f"""## Teacher and baselines

`python benchmarks/bench_teacher.py{flags}` on {machine_line()}.
{provenance}
Corpus `{args.corpus}` (synthetic, corpus recipe `default`). Vertex metrics on `dtface` in mm
(definitions: `docs/metrics.md`); {teacher['sampler']} with {teacher['steps']} steps; {args.samples} samples per clip
(one batch per clip, seed {args.seed}): sample 0 is scored, all give the diversity.
Reproduce one row: `dtsdk eval {args.teacher} --corpus {args.corpus} --split test`; the floor:
`dtsdk eval --corpus {args.corpus} --systems resampled`.

| model | folder | training |
|---|---|---|
| teacher (the default model, float16) | `{args.teacher}` | {res['training']['teacher']} (recipe `teacher`) |
| regression baseline | `{args.regression}` | {res['training']['regression']} (recipe `baseline-regression`) |
| generic model | `{args.generic}` | {res['training']['generic']} (recipe `baseline-generic`) |

Test split: {teacher['num_clips']} clips of {len(teacher['speakers'])} training speakers, sentences never trained on.
The floor is the corpus generator itself, run again on each clip's phones, audio and speaker style
with another seed: a perfect generative model scores it. The "x floor" columns divide a score by
the floor's; the deterministic regression can go below 1 on LVE, since it predicts the mean
(`docs/metrics.md`).

{test_table}
Held-out speakers (never trained on; `auto` picks the nearest training identity):
{res['teacher_heldout']['num_clips']} clips of {len(res['teacher_heldout']['speakers'])} speakers.

{heldout_table}
Targets (issue 4), checked by the script:

{checks}

Targets (issue 9) on natural test clips, against the floor, checked by the script:

{floor_checks}

Teacher samplers (own identity; every {SWEEP_EVERY}th test clip, {sweep[0]['num_clips']} clips; {sweep_timing}):

| sampler | steps | LVE max-L2 (mm) | FDD abs (mm²) | diversity (mm) | blinks/min | GT blinks/min | s per clip |
|---|---|---|---|---|---|---|---|
{sweep_rows}

Raw numbers: `docs/results/bench_teacher.json`.
"""
    print(body)
    write_section("teacher", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
