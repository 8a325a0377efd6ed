"""Blinks per minute of a checkpoint's samples under sampler variants, against the corpus's own rate.

    python tools/blinks_by_sampler.py [CHECKPOINT] --corpus data/corpus --every 6 --clips 48

Variants: DDPM at the model's steps with the posterior ("fixed small") variance, with beta ("fixed
large", Ho et al. 2020 sec. 3.2) and halfway, plus DDPM over every training step. It answers
whether missing random events (blinks) come from the sampler or from the trained denoiser
(docs/default-model.md). Own identity, seed 0; LVE and FDD abs are printed beside the rate.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import dtsdk
from dtsdk.animation import Animation
from dtsdk.corpus.manifest import read_manifest
from dtsdk.eval import blink_count
from dtsdk.eval.testset import evaluate_sequences
from dtsdk.plugins import hookimpl
from dtsdk.testing import temporary_plugin


def ddpm_with_variance(share_of_beta: float):
    """Ancestral DDPM whose step variance is ``small + share_of_beta * (beta - small)``."""
    @torch.no_grad()
    def sample(model, x, schedule, cond, steps=None, callback=None, generator=None):
        abar = schedule.alphas_cumprod.to(x.device, torch.float64)
        ts = schedule.timesteps(steps)
        for i, t in enumerate(ts):
            x0 = model(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.long), cond)  # (B, T, D)
            a_t = abar[t]
            a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), dtype=torch.float64, device=x.device)
            beta = 1 - a_t / a_prev
            mean = ((a_prev.sqrt() * beta / (1 - a_t)).to(x.dtype) * x0
                    + ((1 - beta).sqrt() * (1 - a_prev) / (1 - a_t)).to(x.dtype) * x)
            if i + 1 == len(ts):
                return mean
            small = beta * (1 - a_prev) / (1 - a_t)
            var = small + share_of_beta * (beta - small)
            x = mean + var.sqrt().to(x.dtype) * torch.randn(x.shape, generator=generator, device=x.device,
                                                             dtype=x.dtype)
        return x
    return sample


class VarianceSamplers:
    @hookimpl
    def register_samplers(self, register):
        register("ddpm-fixed-large", ddpm_with_variance(1.0))
        register("ddpm-half-large", ddpm_with_variance(0.5))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", nargs="?", help="default: the packaged model")
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--every", type=int, default=6)
    ap.add_argument("--clips", type=int, default=48)
    args = ap.parse_args()
    torch.set_num_threads(1)
    root = Path(args.corpus)
    manifest = read_manifest(root)
    clips = sorted((c for c in manifest["clips"] if c["split"] == "test"), key=lambda c: c["clip"])
    clips = clips[::args.every][:args.clips]
    gt = [Animation.load(root / c["motion"]).arkit_weights() for c in clips]
    minutes = sum(len(g) for g in gt) / float(manifest["fps"]) / 60
    print(f"corpus: {sum(blink_count(g) for g in gt) / minutes:.1f} blinks/min over {minutes * 60:.0f} s, "
          f"{len(clips)} clips")
    with temporary_plugin(VarianceSamplers(), "blink-variance-samplers"):
        steps = dtsdk.Talker(args.checkpoint, device="cpu").steps
        for sampler, n in (("ddpm", steps), ("ddpm-fixed-large", steps), ("ddpm-half-large", steps),
                           ("ddpm", 10**6)):
            talker = dtsdk.Talker(args.checkpoint, device="cpu", sampler=sampler, steps=n)
            started = time.perf_counter()
            pairs = [(talker.animate(str(root / c["wav"]), seed=0, identity=c["speaker"]).arkit_weights(), g,
                      c["speaker"]) for c, g in zip(clips, gt)]
            rate = sum(blink_count(p[:len(g)]) for p, g, _ in pairs) / minutes
            scores = evaluate_sequences(pairs)
            print(f"{sampler:17s} {min(n, talker.model.schedule.num_steps):4d} steps: {rate:5.1f} blinks/min, "
                  f"LVE {scores['lve_max_l2_mm']:.3f} mm, FDD abs {scores['fdd_abs_mm2']:.3f} mm2 "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
