"""The residual objective (the default model): a mean network regresses the motion, the diffusion
models what is left, ``x0 - mean`` (residual corrective diffusion, Mardani et al. 2023, arXiv 2309.15214).

Speech decides the lips, so the mean carries them in one deterministic pass; blinks, brows and the
rest that speech does not decide are left to the diffusion. The mean network is a denoiser-shaped
transformer run at step 0 on a zero motion input (the regression baseline's architecture, its own
weights). It trains side by side with the diffusion: the diffusion target uses the mean detached,
so neither pulls the other. Samplers see only the residual; ``cond["mean"]`` carries the mean and
it is added back after sampling.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from dtsdk.model.objectives.base import deterministic_pass, recon_and_velocity
from dtsdk.model.objectives.diffusion import DiffusionObjective


class ResidualObjective(DiffusionObjective):
    name = "residual"
    cond_keys = ("mean",)  # and "mean_null" under identity guidance

    @classmethod
    def extra_modules(cls, build_backbone: Callable[[], nn.Module]) -> dict[str, nn.Module]:
        return {"mean_net": build_backbone()}

    def mean(self, cond: dict) -> torch.Tensor:
        """The mean network's motion for cond (audio, identity, mask) -> (B, T, D), normalised space."""
        return deterministic_pass(self.model.mean_net, cond, self.config.motion_dim)

    def training_loss(self, x0: torch.Tensor, cond: dict, generator: torch.Generator | None) -> dict:
        """``recon + w_v velocity`` of the diffusion on ``x0 - mean`` plus ``mean_recon + w_v mean_velocity``."""
        mean = self.mean(cond)  # (B, T, D)
        mean_recon, mean_velocity = recon_and_velocity(mean, x0, cond["mask"])
        parts = self.diffusion_loss(x0 - mean.detach(), cond, generator)
        parts["loss"] = parts["loss"] + mean_recon + self.config.velocity_weight * mean_velocity
        return {**parts, "mean_recon": mean_recon, "mean_velocity": mean_velocity}

    def guided(self, weight: float) -> Callable:
        """Classifier-free identity guidance on whole motions (mean + residual).

        The sampler's state is a residual from the identity's mean, so the null branch sees the same
        noisy motion re-expressed against the null mean, ``x_t + sqrt(abar_t) (mean - mean_null)``.
        With weight 0 this is exactly the generic model's sampling path.
        """
        def denoise(x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
            mean, mean_null = cond["mean"], cond["mean_null"]  # (B, T, D) each
            x_null = x_t + self.model.schedule.abar(t, x_t).sqrt() * (mean - mean_null)  # against the null mean
            r_id, r_null = self.denoise(torch.cat([x_t, x_null]), torch.cat([t, t]), self._with_null(cond)).chunk(2)
            whole_id, whole_null = mean + r_id, mean_null + r_null
            return whole_null + weight * (whole_id - whole_null) - mean  # (B, T, D)
        return denoise

    def generate(self, cond: dict, sampler: Callable | None, steps: int, generator: torch.Generator | None,
                 guidance: float = 1.0, **sampler_kwargs) -> torch.Tensor:
        cond = {**cond, "mean": self.mean(cond)}
        if guidance != 1.0:
            cond["mean_null"] = self.mean({**cond, "identity": self.null_identity(cond["audio"].shape[0])})
        residual = super().generate(cond, sampler, steps, generator, guidance, **sampler_kwargs)  # (B, T, D)
        return cond["mean"] + residual
