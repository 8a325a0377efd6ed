"""The regression baseline on the SAME backbone: the denoiser at step 0 on an all-zero motion input
regresses the motion directly (like FaceFormer, but not autoregressive).

Deterministic: it has no sampler, and steps, seeds and identity guidance do not apply. Its loss is
the masked MSE of the motion and of its velocity, the diffusion objectives' loss without noise.
"""
from __future__ import annotations

from typing import Callable

import torch

from dtsdk.errors import DtsdkError
from dtsdk.model.objectives.base import Objective, deterministic_pass, recon_and_velocity


class RegressionObjective(Objective):
    name = "regression"
    uses_sampler = False

    def predict(self, cond: dict) -> torch.Tensor:
        return deterministic_pass(self.model.denoiser, cond, self.config.motion_dim)  # (B, T, D)

    def training_loss(self, x0: torch.Tensor, cond: dict, generator: torch.Generator | None) -> dict:
        recon, velocity = recon_and_velocity(self.predict(cond), x0, cond["mask"])
        return {"loss": recon + self.config.velocity_weight * velocity, "recon": recon, "velocity": velocity}

    def generate(self, cond: dict, sampler: Callable | None, steps: int, generator: torch.Generator | None,
                 guidance: float = 1.0, **sampler_kwargs) -> torch.Tensor:
        if guidance != 1.0:
            raise DtsdkError("identity guidance needs a diffusion model; this one is a regression baseline")
        return self.predict(cond)
