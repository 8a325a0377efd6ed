"""What a denoising network's output means, and how it becomes the clean estimate samplers use.

The one place the parameterisation is decided. Samplers see ``x0_hat`` whatever the network outputs.

- ``"x0"``: the output is the clean motion itself (FaceDiffuser, the DiffusionTalker pipeline figure).
- ``"v"``: the output is the velocity of Salimans & Ho 2022 (arXiv 2202.00512),
  ``v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0``, so ``x0_hat = sqrt(abar_t) x_t - sqrt(1 - abar_t) v_hat``.
  A near-clean input passes through (the skip of Karras et al. 2022, arXiv 2206.00364): the
  network's own error is damped by ``sqrt(1 - abar_t)`` at the last sampling steps instead of
  landing in the output as it does with ``"x0"`` (measured: docs/default-model.md).
"""
from __future__ import annotations

import torch

from dtsdk.diffusion.schedule import NoiseSchedule

PARAMETERIZATIONS = ("x0", "v")


def clean_estimate(output: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor, schedule: NoiseSchedule,
                   parameterization: str) -> torch.Tensor:
    """The network's output (B, T, D) at noisy ``x_t`` (B, T, D) and steps ``t`` (B,) -> x0_hat (B, T, D)."""
    if parameterization == "x0":
        return output
    if parameterization == "v":
        abar = schedule.abar(t, output)  # (B, 1, 1)
        return abar.sqrt() * x_t - (1 - abar).sqrt() * output
    raise ValueError(f"unknown parameterization '{parameterization}'; choose {' or '.join(PARAMETERIZATIONS)}")
