"""The diffusion teacher against its baselines on the default corpus (issue 4's targets).

    python benchmarks/bench_teacher.py [--corpus data/corpus] [--teacher dtsdk/models/default]
        [--teacher-run runs/teacher/final] [--regression runs/regression/final]
        [--generic runs/generic/final] [--limit N]

Scores, on the test split (training speakers, unseen sentences) with `dtsdk.eval.evaluate_model`:
the teacher with each clip's own identity, with `auto` identity, with the null identity; the
generic model (trained with no identity at all); the deterministic regression model on the same
backbone; the static mean face. The teacher is also scored on the held-out speakers (`auto`,
generic). Writes docs/results/bench_teacher.json and the "Teacher and baselines" section of
docs/benchmarks.md, targets included, checked against the numbers rather than by hand.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_section  # noqa: E402

from dtsdk.eval.harness import comparison_table, evaluate_model  # noqa: E402
from dtsdk.utils.atomic import atomic_open  # noqa: E402

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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--teacher", default="dtsdk/models/default")
    ap.add_argument("--teacher-run", default="runs/teacher/final", help="the training run packaged as --teacher")
    ap.add_argument("--regression", default="runs/regression/final")
    ap.add_argument("--generic", default="runs/generic/final")
    ap.add_argument("--samples", type=int, default=2)
    ap.add_argument("--limit", type=int, help="only the first N clips of each split (quick look)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    started = time.perf_counter()
    common = dict(num_samples=args.samples, limit=args.limit, seed=args.seed)

    teacher = evaluate_model(args.teacher, args.corpus, "test", **common)
    same_sampling = dict(sampler=teacher["sampler"], steps=teacher["steps"])  # the generic model samples alike
    res = {
        "teacher": teacher,
        "regression": evaluate_model(args.regression, args.corpus, "test", systems=["identity", "auto"], **common),
        "generic": evaluate_model(args.generic, args.corpus, "test", systems=["generic"], **common, **same_sampling),
        "teacher_heldout": evaluate_model(args.teacher, args.corpus, "heldout_test", systems=["auto", "generic"],
                                          **common),
    }
    sweep = []
    for sampler, steps in SWEEP:
        run = evaluate_model(args.teacher, args.corpus, "test", systems=["identity"], sampler=sampler, steps=steps,
                             every=SWEEP_EVERY, num_samples=args.samples, seed=args.seed)
        sweep.append({"sampler": sampler, "steps": steps, "num_clips": run["num_clips"],
                      "seconds_per_clip": run["seconds"] / run["num_clips"], **run["systems"]["identity"]})
    res["teacher_sampler_sweep"] = sweep
    minutes = (time.perf_counter() - started) / 60
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(RESULTS, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=2)

    t, r, g, h = (res[k]["systems"] for k in ("teacher", "regression", "generic", "teacher_heldout"))
    test_table = comparison_table([
        ("teacher, own identity", t["identity"]), ("teacher, auto identity", t["auto"]),
        ("teacher, null identity", t["generic"]), ("generic model", g["generic"]),
        ("regression baseline, own identity", r["identity"]), ("regression baseline, auto identity", r["auto"]),
        ("static mean face", t["static_mean_face"])])
    heldout_table = comparison_table([("teacher, auto identity", h["auto"]), ("teacher, null identity", h["generic"])])
    sweep_rows = "\n".join(f"| {r['sampler']} | {r['steps']} | {r['lve_max_l2_mm']:.4g} | {r['fdd_abs_mm2']:.4g} | "
                           f"{r['diversity_mm']:.4g} | {r['blinks_per_min']:.3g} | {r['gt_blinks_per_min']:.3g} | "
                           f"{r['seconds_per_clip']:.2f} |" for r in sweep)
    checks = "\n".join(f"- [{'x' if met else ' '}] {text}: {numbers}" for text, met, numbers in targets(res))
    body = f"""## Teacher and baselines

`python benchmarks/bench_teacher.py` on {machine_line()}, {time.strftime('%Y-%m-%d')}; {minutes:.1f} min.
Corpus `{args.corpus}` (synthetic, corpus recipe `default`). Vertex metrics on `dtface` in mm
(definitions: `docs/metrics.md`); {teacher['sampler']} with {teacher['steps']} steps; {args.samples} samples per clip
(one batch per clip, seed {args.seed}): sample 0 is scored, all give the diversity.
Reproduce one row: `dtsdk eval {args.teacher} --corpus {args.corpus} --split test`.

| model | folder | training |
|---|---|---|
| teacher (the default model, float16) | `{args.teacher}` | {_training(Path(args.teacher_run))} (recipe `teacher`) |
| regression baseline | `{args.regression}` | {_training(Path(args.regression))} (recipe `baseline-regression`) |
| generic model | `{args.generic}` | {_training(Path(args.generic))} (recipe `baseline-generic`) |

Test split: {teacher['num_clips']} clips of {len(teacher['speakers'])} training speakers, sentences never trained on.

{test_table}
Held-out speakers (never trained on; `auto` picks the nearest training identity):
{res['teacher_heldout']['num_clips']} clips of {len(res['teacher_heldout']['speakers'])} speakers.

{heldout_table}
Targets (issue 4), checked by the script:

{checks}

Teacher samplers (own identity; every {SWEEP_EVERY}th test clip, {sweep[0]['num_clips']} clips; seconds per clip for a
batch of {args.samples} samples, while nothing else ran):

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
