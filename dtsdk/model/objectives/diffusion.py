"""The plain DiffusionTalker objective: the denoiser diffuses the whole motion.

Training: draw t uniformly over the schedule's steps and noise the clean motion to x_t; the denoiser's
output becomes x0_hat through the config's parameterisation (:mod:`dtsdk.diffusion.parameterization`),
and the loss is the masked MSE of x0_hat and of its frame-to-frame velocity (DiffusionTalker,
arXiv 2311.16565, with FaceDiffuser's velocity term). Sampling: any registered sampler over
:meth:`DiffusionObjective.denoise`; identity guidance is classifier-free guidance (Ho & Salimans 2022,
arXiv 2207.12598) with the null identity that identity dropout trains.
"""
from __future__ import annotations

from typing import Callable

import torch

from dtsdk.diffusion.parameterization import clean_estimate
from dtsdk.model.objectives.base import Objective, recon_and_velocity


class DiffusionObjective(Objective):
    name = "diffusion"

    def denoise(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """``(x_t (B, T, D), t (B,), cond) -> x0_hat (B, T, D)`` through the config's parameterisation."""
        output = self.model.denoiser(x_t, t, cond["audio"], cond["identity"], cond.get("mask"))  # (B, T, D)
        return clean_estimate(output, x_t, t, self.model.schedule, self.config.parameterization)

    def diffusion_loss(self, target: torch.Tensor, cond: dict, generator: torch.Generator | None) -> dict:
        """Noise ``target`` (B, T, D) to a random step, denoise it -> ``loss``, ``recon``, ``velocity``."""
        B = target.shape[0]
        schedule = self.model.schedule
        t = torch.randint(0, schedule.num_steps, (B,), generator=generator, device=target.device)
        noise = torch.randn(target.shape, generator=generator, device=target.device, dtype=target.dtype)
        x_t = schedule.q_sample(target, t, noise)  # (B, T, D)
        x0_hat = self.denoise(x_t, t, cond)  # (B, T, D)
        recon, velocity = recon_and_velocity(x0_hat, target, cond["mask"])
        return {"loss": recon + self.config.velocity_weight * velocity, "recon": recon, "velocity": velocity}

    def training_loss(self, x0: torch.Tensor, cond: dict, generator: torch.Generator | None) -> dict:
        return self.diffusion_loss(x0, cond, generator)

    def guided(self, weight: float) -> Callable:
        """The sampler contract with classifier-free identity guidance, ``x0_null + w (x0_id - x0_null)``;
        both identities run in one batch."""
        def denoise(x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
            x0_id, x0_null = self.denoise(torch.cat([x_t, x_t]), torch.cat([t, t]), self._with_null(cond)).chunk(2)
            return x0_null + weight * (x0_id - x0_null)  # (B, T, D)
        return denoise

    def generate(self, cond: dict, sampler: Callable | None, steps: int, generator: torch.Generator | None,
                 guidance: float = 1.0, **sampler_kwargs) -> torch.Tensor:
        audio = cond["audio"]
        x = torch.randn(*audio.shape[:2], self.config.motion_dim, generator=generator, device=audio.device)  # (B, T, D)
        denoise = self.denoise if guidance == 1.0 else self.guided(guidance)
        return sampler(denoise, x, self.model.schedule, cond, steps=steps, generator=generator, **sampler_kwargs)

    def _with_null(self, cond: dict) -> dict:
        """cond for a doubled batch: rows 0..B-1 with their identity, rows B..2B-1 with the null identity."""
        B = cond["audio"].shape[0]
        mask = cond.get("mask")
        return {"audio": torch.cat([cond["audio"], cond["audio"]]),
                "identity": torch.cat([cond["identity"], self.null_identity(B)]),
                "mask": None if mask is None else torch.cat([mask, mask])}
