"""How far a checkpoint's clean-motion estimate x0_hat is off, step by step of the noise schedule.

    python tools/denoiser_error_by_step.py CHECKPOINT [--corpus data/corpus] [--split test] [--clips 32]

Noises test windows to a range of diffusion steps, asks the denoiser for x0_hat and prints its mean
squared error (normalised motion units) on the mouth channels and on all channels, beside two
references: the rescaled input ``x_t / sqrt(abar_t)`` (what a denoiser that did nothing would score)
and zero (the target's own size). A denoiser worse than its own input at the low steps puts its
error straight into the last sampling steps; this is how the x0- and v-parameterisations were
compared (docs/default-model.md). For the residual objective the target is ``x0 - mean``.
"""
from __future__ import annotations

import argparse
import sys

import torch

from dtsdk.data import TalkingFaceDataset
from dtsdk.model import DiffusionTalker
from dtsdk.rigs.arkit import ARKIT52

MOUTH = ("jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthRollLower", "mouthRollUpper",
         "mouthPressLeft", "mouthPressRight", "mouthStretchLeft", "mouthStretchRight")
STEP_FRACTIONS = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0)


@torch.no_grad()
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--split", default="test")
    ap.add_argument("--clips", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    model = DiffusionTalker.from_pretrained(args.checkpoint).eval()
    if not model.objective.uses_sampler:
        print(f"{args.checkpoint}: a regression model has no noise schedule to probe", file=sys.stderr)
        return 2
    data = TalkingFaceDataset.from_corpus(args.corpus, args.split, window_s=2.0, random_crop=False)
    loader = torch.utils.data.DataLoader(data, batch_size=args.clips, shuffle=True,
                                         generator=torch.Generator().manual_seed(args.seed))
    batch = next(iter(loader))
    mouth = [ARKIT52.index(name) for name in MOUTH]
    generator = torch.Generator().manual_seed(args.seed)

    x0 = (batch["motion"] - model.motion_mean) / model.motion_std  # (B, T, D)
    B, T, _ = x0.shape
    mask = batch["mask"].bool()
    audio = model.encoder(batch["audio"], T)  # (B, T, D_audio)
    identity = model.personalizer.embed(batch["speaker"].long(), B)  # (B, E)
    cond = {"audio": audio, "identity": identity, "mask": mask}
    mean = getattr(model.objective, "mean", None)  # the residual objective diffuses x0 - mean
    target = x0 - mean(cond) if mean is not None else x0
    abar = model.schedule.alphas_cumprod

    def mse(pred, channels=None):
        err = (pred - target) ** 2 if channels is None else (pred - target)[..., channels] ** 2
        return float(err[mask].mean())

    print(f"{args.checkpoint}: objective {model.config.objective}, parameterization "
          f"{model.config.parameterization}; {B} windows of {args.split}")
    print("| step | 1 - abar | x0_hat mouth | input mouth | zero mouth | x0_hat all |")
    print("|---|---|---|---|---|---|")
    for fraction in STEP_FRACTIONS:
        step = round(fraction * (model.schedule.num_steps - 1))
        t = torch.full((B,), step, dtype=torch.long)
        noise = torch.randn(target.shape, generator=generator)
        x_t = model.schedule.q_sample(target, t, noise)
        x0_hat = model.denoise(x_t, t, cond)
        rescaled = x_t / abar[step].sqrt().float()
        print(f"| {step} | {float(1 - abar[step]):.2e} | {mse(x0_hat, mouth):.4f} | {mse(rescaled, mouth):.4g} | "
              f"{mse(torch.zeros_like(target), mouth):.4f} | {mse(x0_hat):.4f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
