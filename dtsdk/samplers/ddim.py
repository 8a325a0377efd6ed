"""DDIM sampling (Song, Meng & Ermon 2021, "Denoising Diffusion Implicit Models", arXiv 2010.02502, eq. 12).

With ``eta = 0`` it is deterministic given the starting noise; ``eta = 1`` matches the DDPM
posterior variance on the chosen sub-sequence of steps.
"""
from __future__ import annotations

import torch

from dtsdk.diffusion.schedule import NoiseSchedule


@torch.no_grad()
def sample_ddim(model, x: torch.Tensor, schedule: NoiseSchedule, cond, steps: int | None = None,
                callback=None, generator: torch.Generator | None = None, eta: float = 0.0) -> torch.Tensor:
    """Run DDIM from noise ``x`` (B, T, D) down to a clean sample (B, T, D).

    ``model(x_t, t, cond) -> x0_hat``; ``callback({"i", "t", "x", "denoised"})`` after each step.
    """
    abar = schedule.alphas_cumprod.to(x.device, torch.float64)
    ts = schedule.timesteps(steps)
    for i, t in enumerate(ts):
        t_batch = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        x0 = model(x, t_batch, cond)  # (B, T, D)
        a_t = abar[t]
        a_prev = abar[ts[i + 1]] if i + 1 < len(ts) else torch.ones((), dtype=torch.float64, device=x.device)
        eps = (x - a_t.sqrt().to(x.dtype) * x0) / (1 - a_t).sqrt().to(x.dtype)
        sigma = eta * ((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev)).clamp(min=0).sqrt()
        direction = (1 - a_prev - sigma**2).clamp(min=0).sqrt()
        x_next = a_prev.sqrt().to(x.dtype) * x0 + direction.to(x.dtype) * eps
        if eta > 0 and i + 1 < len(ts):
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x_next = x_next + sigma.to(x.dtype) * noise
        x = x_next
        if callback is not None:
            callback({"i": i, "t": t, "x": x, "denoised": x0})
    return x
