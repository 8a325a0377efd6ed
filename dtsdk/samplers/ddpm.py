"""Ancestral DDPM sampling (Ho, Jain & Abbeel 2020, arXiv 2006.11239, Algorithm 2), x0-parameterised.

Fewer steps than the schedule's are taken by respacing (Nichol & Dhariwal 2021, arXiv 2102.09672,
sec. 4): the betas of the chosen sub-sequence are recomputed from its cumulative alphas.
"""
from __future__ import annotations

import torch

from dtsdk.diffusion.schedule import NoiseSchedule


@torch.no_grad()
def sample_ddpm(model, x: torch.Tensor, schedule: NoiseSchedule, cond, steps: int | None = None,
                callback=None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Ancestral sampling from noise ``x`` (B, T, D) with the posterior q(x_{t-1} | x_t, x0_hat)."""
    abar = schedule.alphas_cumprod.to(x.device, torch.float64)
    ts = schedule.timesteps(steps)
    for i, t in enumerate(ts):
        t_batch = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        x0 = model(x, t_batch, cond)  # (B, T, D)
        a_t = abar[t]
        a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), dtype=torch.float64, device=x.device)
        beta = 1 - a_t / a_prev  # the respaced beta of this step
        # Posterior mean (DDPM eq. 7) and the "fixed small" variance.
        coef_x0 = a_prev.sqrt() * beta / (1 - a_t)
        coef_xt = (1 - beta).sqrt() * (1 - a_prev) / (1 - a_t)
        mean = coef_x0.to(x.dtype) * x0 + coef_xt.to(x.dtype) * x
        if i + 1 < len(ts):
            var = beta * (1 - a_prev) / (1 - a_t)
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = mean + var.sqrt().to(x.dtype) * noise
        else:
            x = mean
        if callback is not None:
            callback({"i": i, "t": t, "x": x, "denoised": x0})
    return x
