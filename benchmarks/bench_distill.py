"""Progressive distillation, round by round: each student's quality against its teacher (issue 10).

    python benchmarks/bench_distill.py [--run runs/distill] [--corpus data/corpus] [--every 3]
        [--swapped-every 6] [--etas 0,1] [--eta-steps 8] [--reuse-teacher] [--print-only]

For the teacher (the packaged default at its own sampler, DDPM-100), every `student-<K>` and the
`compact-<K>` of the distillation run: on `test` (every `--every`-th clip, own identity, 2 samples)
LVE, FDD, diversity, blinks and style error; on `swapped_test` (every `--swapped-every`-th clip: the
voice of A, B's style, identity B) the style error and the share of clips closer to B; and `auto`'s
top-1 retrieval of the speaker on the test clips (the identity head alone, no sampling). The
students run at their config's sampler options; `--etas` also scores the `--eta-steps` student at
each ancestral-noise setting (the sweep the default eta is chosen from). The resampled corpus is the
floor row. `--reuse-teacher` takes the teacher's rows from docs/results/bench_teacher.json and
bench_style_transfer.json (same corpus, strides and seed) instead of scoring them again.
Writes docs/results/bench_distill.json and the "Distillation" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_results, write_section  # noqa: E402

from dtsdk.eval.harness import evaluate_model  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "results" / "bench_distill.json"
METRICS = ("lve_max_l2_mm", "fdd_abs_mm2", "diversity_mm", "blinks_per_min", "gt_blinks_per_min", "style_error")


def retrieval_top1(model, corpus: Path, every: int) -> float:
    """Share of test clips whose speaker `auto` (the audio-to-identity head) picks, as Talker does it."""
    import torch

    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.inference import Talker

    talker = Talker(model, match_enrolled=False)
    clips = [c for c in read_manifest(corpus)["clips"] if c["split"] == "test"][::every]
    hits = 0
    for clip in clips:
        wave = torch.from_numpy(talker.load(str(corpus / clip["wav"])))[None]
        frames = max(1, round(wave.shape[1] / talker.config.sample_rate * talker.config.fps))
        hits += talker.resolve_identity("auto", wave, frames).name == clip["speaker"]
    return hits / len(clips)


def score(model, args) -> dict:
    """One system's row: test (identity) and swapped_test (identity B) scores, and auto's retrieval."""
    started = time.perf_counter()
    test = evaluate_model(model, args.corpus, every=args.every, systems=("identity",), num_samples=2)
    swapped = evaluate_model(model, args.corpus, split="swapped_test", every=args.swapped_every,
                             systems=("identity",), num_samples=1)
    row = {k: test["systems"]["identity"].get(k) for k in METRICS}
    s = swapped["systems"]["identity"]
    row.update(swapped_style_error=s["style_error"], swapped_closer_share=s["style_closer_share"],
               identity_top1=retrieval_top1(model, Path(args.corpus), args.every),
               sampler=test["sampler"], steps=test["steps"], num_clips=test["num_clips"],
               num_swapped_clips=swapped["num_clips"], seconds=round(time.perf_counter() - started, 1))
    return row


def reused_teacher() -> dict:
    teacher = json.loads((REPO / "docs" / "results" / "bench_teacher.json").read_text())
    transfer = json.loads((REPO / "docs" / "results" / "bench_style_transfer.json").read_text())
    t, s = teacher["teacher"]["systems"], transfer["swapped"]["systems"]["identity"]
    row = {k: t["identity"].get(k) for k in METRICS}
    row.update(swapped_style_error=s["style_error"], swapped_closer_share=s["style_closer_share"],
               identity_top1=t["auto"]["identity_top1"], sampler=teacher["teacher"]["sampler"],
               steps=teacher["teacher"]["steps"], num_clips=teacher["teacher"]["num_clips"],
               num_swapped_clips=transfer["swapped"]["num_clips"],
               reused=f"docs/results/bench_teacher.json (measured {teacher['measured']['teacher']}) and "
                      f"bench_style_transfer.json (measured {transfer['measured']})")
    floor = {k: teacher["resampled"]["systems"]["resampled"].get(k) for k in METRICS}
    return {"teacher": row, "floor": floor}


def with_eta(checkpoint: Path, eta: float):
    from dtsdk.model import DiffusionTalker

    model = DiffusionTalker.from_pretrained(checkpoint)
    model.config = dataclasses.replace(model.config, sampler_options={**model.config.sampler_options, "eta": eta})
    return model


def checkpoints(run: Path) -> list[tuple[str, Path]]:
    students = sorted(run.glob("student-*"), key=lambda p: -int(p.name.split("-")[1]))
    compact = sorted(run.glob("compact-*"))
    return [(p.name, p) for p in students + compact if (p / "config.json").is_file()]


def size_mb(folder: Path) -> float:
    return (folder / "model.safetensors").stat().st_size / 1e6


def targets(res: dict, steps: int) -> list[tuple[str, bool | None, str]]:
    """Issue 10's quality targets for the ``steps``-step student against the teacher."""
    t, s = res["rows"]["teacher"], res["rows"].get(f"student-{steps}")
    if s is None:
        return [(f"the {steps}-step student", None, "not trained in this run")]

    def within(key, share):
        return s[key] <= (1 + share) * t[key], f"{s[key]:.4g} vs {t[key]:.4g} ({s[key] / t[key] - 1:+.1%})"

    out = [(f"{steps}-step student LVE within 5% of the teacher's", *within("lve_max_l2_mm", 0.05)),
           (f"{steps}-step student FDD within 5% of the teacher's", *within("fdd_abs_mm2", 0.05)),
           ("style error (natural clips) within 10%", *within("style_error", 0.10)),
           ("style error (swapped clips) within 10%", *within("swapped_style_error", 0.10)),
           ("auto retrieval within 10%", s["identity_top1"] >= 0.9 * t["identity_top1"],
            f"{s['identity_top1']:.1%} vs {t['identity_top1']:.1%}"),
           ("diversity at least half the teacher's", s["diversity_mm"] >= 0.5 * t["diversity_mm"],
            f"{s['diversity_mm']:.4g} vs {t['diversity_mm']:.4g} mm"),
           ("blinks within 30% of the ground truth", abs(s["blinks_per_min"] - s["gt_blinks_per_min"])
            <= 0.3 * s["gt_blinks_per_min"], f"{s['blinks_per_min']:.3g} vs {s['gt_blinks_per_min']:.3g} a minute "
            f"(teacher {t['blinks_per_min']:.3g})")]
    compact = res["rows"].get(f"compact-{steps}")
    if compact is not None:
        smaller = 1 - res["parameters"][f"compact-{steps}"] / res["parameters"]["teacher"]  # at equal precision
        worst = max(compact[k] / s[k] - 1 for k in ("lve_max_l2_mm", "fdd_abs_mm2", "style_error"))
        out += [("compact student at least 80% smaller than the teacher", smaller >= 0.8,
                 f"{smaller:.1%} fewer parameters ({res['parameters'][f'compact-{steps}']:,} vs "
                 f"{res['parameters']['teacher']:,}; {res['sizes_mb'][f'compact-{steps}']:.2f} MB in float32 against "
                 f"the teacher's {res['sizes_mb']['teacher']:.2f} MB in float16)"),
                ("compact student quality within 10% of the full student (LVE, FDD, style)", worst <= 0.10,
                 f"worst {worst:+.1%}")]
    return out


def table(res: dict) -> str:
    floor = res["floor"]
    lines = ["| system | sampler | LVE (mm) | FDD abs | diversity (mm) | blinks/min (GT) | style error | "
             "swapped style error | closer to B | auto top-1 | size (MB) |", "|" + "---|" * 11]
    for label, r in res["rows"].items():
        lines.append(f"| {label} | {r['sampler']}-{r['steps']}{_eta(r)} | {r['lve_max_l2_mm']:.3f} | "
                     f"{r['fdd_abs_mm2']:.3f} | {r['diversity_mm']:.3f} | {r['blinks_per_min']:.1f} "
                     f"({r['gt_blinks_per_min']:.1f}) | {r['style_error']:.4f} | {r['swapped_style_error']:.4f} | "
                     f"{r['swapped_closer_share']:.0%} | {r['identity_top1']:.0%} | "
                     f"{res['sizes_mb'].get(label.split(' ')[0], float('nan')):.2f} |")
    lines.append(f"| corpus resampled (the floor) | – | {floor['lve_max_l2_mm']:.3f} | {floor['fdd_abs_mm2']:.3f} | "
                 f"{floor['diversity_mm']:.3f} | {floor['blinks_per_min']:.1f} | {floor['style_error']:.4f} | – | – | "
                 "– | – |")
    return "\n".join(lines) + "\n"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _eta(row: dict) -> str:
    return f" eta {row['eta']:g}" if row.get("eta") is not None else ""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", default="runs/distill")
    p.add_argument("--corpus", default="data/corpus")
    p.add_argument("--teacher", default=str(REPO / "dtsdk" / "models" / "default"))
    p.add_argument("--every", type=int, default=3)
    p.add_argument("--swapped-every", type=int, default=6)
    p.add_argument("--etas", default="0,1", help="ancestral-noise settings for the --eta-steps student")
    p.add_argument("--eta-steps", type=int, default=8)
    p.add_argument("--reuse-teacher", action="store_true")
    p.add_argument("--print-only", action="store_true", help="rewrite the section from the JSON")
    p.add_argument("--add", action="store_true", help="keep the JSON's rows; score only checkpoints it lacks")
    args = p.parse_args(argv)
    if args.print_only:
        res = json.loads(RESULTS.read_text())
    else:
        res = measure(args)
        write_results(RESULTS, res)
    write_section("distill", section(res))
    print(table(res))


def measure(args) -> dict:
    from dtsdk.model import DiffusionTalker

    run = Path(args.run)
    res = {"measured": time.strftime("%Y-%m-%d"), "machine": machine_line(), "args": vars(args), "rows": {},
           "sizes_mb": {"teacher": size_mb(Path(args.teacher))}, "parameters": {}}
    count = lambda folder: sum(p.numel() for p in DiffusionTalker.from_pretrained(folder).parameters())  # noqa: E731
    res["parameters"]["teacher"] = count(args.teacher)
    if args.add and RESULTS.is_file():
        old = json.loads(RESULTS.read_text())
        res.update(rows=old["rows"], floor=old["floor"], sizes_mb={**old["sizes_mb"], **res["sizes_mb"]},
                   parameters={**old["parameters"], **res["parameters"]})
    elif args.reuse_teacher:
        reused = reused_teacher()
        res["rows"]["teacher"], res["floor"] = reused["teacher"], reused["floor"]
    else:
        res["rows"]["teacher"] = score(args.teacher, args)
        floor = evaluate_model(None, args.corpus, every=args.every, systems=("resampled",), num_samples=2)
        res["floor"] = {k: floor["systems"]["resampled"].get(k) for k in METRICS}
    for label, folder in checkpoints(run):
        if label in res["rows"]:
            continue
        res["sizes_mb"][label], res["parameters"][label] = size_mb(folder), count(folder)
        model = DiffusionTalker.from_pretrained(folder)
        res["rows"][label] = {**score(model, args), "eta": model.config.sampler_options.get("eta", 0.0)}
        print(label, res["rows"][label], flush=True)
    sweep_ckpt = run / f"student-{args.eta_steps}"
    default_eta = res["rows"].get(f"student-{args.eta_steps}", {}).get("eta")
    for eta in (float(x) for x in args.etas.split(",") if x):
        if sweep_ckpt.is_dir() and eta != default_eta and f"student-{args.eta_steps} (eta {eta:g})" not in res["rows"]:
            res["rows"][f"student-{args.eta_steps} (eta {eta:g})"] = {**score(with_eta(sweep_ckpt, eta), args),
                                                                     "eta": eta}
    return res


def section(res: dict) -> str:
    a = res["args"]
    checks = "\n".join(f"- {text}: {numbers}" if met is None else f"- [{'x' if met else ' '}] {text}: {numbers}"
                       for text, met, numbers in targets(res, a["eta_steps"]))
    reused = res["rows"]["teacher"].get("reused")
    return (f"## Distillation\n\n`python benchmarks/bench_distill.py` (measured {res['measured']}; {res['machine']}). "
            f"Progressive distillation rounds of `{a['run']}` (recipe `distill default`) against the teacher. "
            f"`test`: every {_ordinal(a['every'])} clip, own identity, 2 samples; `swapped_test`: every "
            f"{_ordinal(a['swapped_every'])} clip, identity B; auto top-1 over the same test clips. "
            + (f"The teacher's row is reused from {reused}. " if reused else "")
            + "Size: the checkpoint's weights file as `dtsdk distill` writes it (float32; the packaged teacher is "
              "stored in float16, which halves a file).\n\n"
            + table(res) + "\nIssue 10's quality targets (the 8-step student at its default sampler options):\n\n"
            + checks + "\n")


if __name__ == "__main__":
    main()
