"""Package a trained run as the default model that ``Talker()`` loads: ``dtsdk/models/default/``.

    python tools/package_default_model.py runs/teacher [-o dtsdk/models/default]

Stores the run's final weights in float16 (half the bytes; they load back as float32) and writes a
model card from what the run recorded (recipe, steps, time, losses) and the corpus manifest. The
card states that the training corpus is synthetic. Metrics come from benchmarks/bench_teacher.py,
which scores this packaged folder, not the float32 run.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch

from dtsdk.corpus.manifest import read_manifest
from dtsdk.model import DiffusionTalker

REPO = Path(__file__).resolve().parent.parent

CARD = """---
library_name: dtsdk
tags: [speech-driven-3d-facial-animation, diffusion, dtsdk, synthetic-data]
---
# dtsdk default model: DiffusionTalker teacher

Speech (16 kHz) in, ARKit-52 blendshape motion ({fps:g} fps) out. {params:,} parameters, stored in
float16 ({size_mb:.1f} MB). {identities} talking identities ({names}), a learned null identity
for generic motion, and `identity="auto"` matching.

**Trained on synthetic data only.** The corpus is dtsdk's own: real TTS voices (espeak-ng, flite)
with face motion from a documented articulation model and per-speaker talking styles
(`docs/articulation.md`). The identities are synthetic speakers, not people. Expect the motion
style of that model, not of captured human faces; fine-tune on capture data for production.

| | |
|---|---|
| recipe | `{recipe_path}` (objective {objective}, {parameterization}-parameterised denoiser, {diffusion_steps}-step {schedule} schedule) |
| training | {steps} steps, batch {batch_size}, {window_s:g} s windows, lr {lr:g}, seed {seed} |
| time | {minutes:.1f} min on {device} ({world_size} process(es)) |
| final training loss | {final_loss:.4f} |
| test-split loss | {test_loss} |
| corpus | `{corpus_recipe}` (seed {corpus_seed}): {train_speakers} training speakers, {train_clips} clips, {train_minutes:.1f} min of training speech |
| sampling default | {sampler}, {default_steps} steps |

Metrics against the baselines: `docs/benchmarks.md` (written by `benchmarks/bench_teacher.py`).
"""  # noqa: E501 (a markdown table row is one line)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", help="a `dtsdk train` output folder (holds final/, summary.json, recipe.json)")
    ap.add_argument("-o", "--output", default=str(REPO / "dtsdk" / "models" / "default"))
    ap.add_argument("--recipe-path", default="dtsdk/recipes/train/teacher.yaml",
                    help="the recipe file named in the card")
    ap.add_argument("--sampler", help="set the packaged model's default sampler (inference only)")
    ap.add_argument("--steps", type=int, help="set the packaged model's default sampling steps (inference only)")
    args = ap.parse_args()
    run = Path(args.run)
    summary = json.loads((run / "summary.json").read_text())
    recipe = json.loads((run / "recipe.json").read_text())
    model = DiffusionTalker.from_pretrained(run / "final")
    if args.sampler:
        model.config.default_sampler = args.sampler
    if args.steps:
        model.config.default_steps = args.steps
    manifest = read_manifest(recipe["corpus"])
    c = model.config
    train = manifest["splits"]["train"]
    facts = dict(
        fps=c.fps, params=sum(p.numel() for p in model.parameters()), identities=c.num_identities,
        names=", ".join(c.identities), recipe_path=args.recipe_path, objective=c.objective,
        parameterization=c.parameterization,
        diffusion_steps=c.diffusion_steps, schedule=c.schedule, steps=summary["steps"],
        batch_size=recipe["batch_size"], window_s=recipe["window_s"], lr=recipe["lr"], seed=recipe["seed"],
        minutes=summary["seconds"] / 60, device=summary["device"], world_size=summary["world_size"],
        final_loss=summary["final_loss"], test_loss=(f"{summary['test_loss']:.4f}" if summary.get("test_loss")
                                                     is not None else "n/a"),
        corpus_recipe=manifest["recipe"]["name"], corpus_seed=manifest["recipe"]["seed"],
        train_speakers=train["speakers"], train_clips=train["clips"], train_minutes=train["minutes"],
        sampler=c.default_sampler, default_steps=c.default_steps)

    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".default-", dir=out.parent))
    try:  # write beside the target, then swap: never a half-written default model
        staging.chmod(0o755)  # mkdtemp makes it private; an installed package must be readable
        model.save_pretrained(staging, dtype=torch.float16)
        for item in staging.iterdir():
            item.chmod(0o644)
        size_mb = (staging / "model.safetensors").stat().st_size / 1e6
        (staging / "README.md").write_text(CARD.format(size_mb=size_mb, **facts))
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"packaged {run / 'final'} -> {out} ({size_mb:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
