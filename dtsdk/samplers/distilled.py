"""Sampling a distilled student (progressive distillation, Salimans & Ho 2022, arXiv 2202.00512).

A student is trained for one step count K on its own time grid (:func:`distilled_timesteps`), so it
runs only with a K it was trained for: the model's ``config.distilled_steps``, which reach this
function as ``cond["distilled_steps"]``. Any other count is refused rather than run off-grid.

Each step is a DDIM update (Song et al. 2021, arXiv 2010.02502, eq. 12) on the student's clean
estimate. ``eta`` adds ancestral noise: 0 is the deterministic map the student was distilled to
match; ``eta`` 1 redraws the noise each step with the DDPM posterior variance, which brings back the
random events (blinks, brow raises) a deterministic few-step map smooths away (measured:
docs/distillation.md).
"""
from __future__ import annotations

import torch

from dtsdk.diffusion.schedule import NoiseSchedule
from dtsdk.errors import DtsdkError


def distilled_timesteps(num_train_steps: int, steps: int) -> list[int]:
    """The student's K evaluation steps, descending: ``round((k + 1) N / K) - 1`` for k = K-1 .. 0.

    Unlike :meth:`NoiseSchedule.timesteps` the grid does not end at step 0: the last step jumps from
    ``N/K - 1`` straight to clean motion, so no evaluation is spent on an almost clean input. The
    grids nest: the 2K grid holds the K grid at every other position (0, 2, 4, ...), which is what each halving
    round of progressive distillation needs (a teacher step pair per student step).
    """
    if steps < 1 or steps > num_train_steps:
        raise DtsdkError(f"a distilled grid needs 1..{num_train_steps} steps, got {steps}")
    return [round((k + 1) * num_train_steps / steps) - 1 for k in range(steps - 1, -1, -1)]


def ddim_update(x: torch.Tensor, x0: torch.Tensor, a_t: torch.Tensor, a_next: torch.Tensor,
                eta: float = 0.0, noise: torch.Tensor | None = None) -> torch.Tensor:
    """One DDIM step from ``x`` (B, T, D) at ``abar = a_t`` to ``a_next`` given the clean estimate ``x0``.

    ``a_next`` = 1 lands on ``x0``. With ``eta > 0``, ``noise`` (B, T, D) is added with the DDIM sigma.
    """
    eps = (x - a_t.sqrt() * x0) / (1 - a_t).sqrt()
    sigma = eta * ((1 - a_next) / (1 - a_t) * (1 - a_t / a_next)).clamp(min=0).sqrt()
    x_next = a_next.sqrt() * x0 + (1 - a_next - sigma**2).clamp(min=0).sqrt() * eps
    if noise is not None and eta > 0:
        x_next = x_next + sigma * noise
    return x_next


@torch.no_grad()
def sample_distilled(model, x: torch.Tensor, schedule: NoiseSchedule, cond, steps: int | None = None,
                     callback=None, generator: torch.Generator | None = None, eta: float = 0.0) -> torch.Tensor:
    """Run a student trained for ``steps`` from noise ``x`` (B, T, D) to a clean sample (B, T, D)."""
    trained = tuple(cond.get("distilled_steps") or ())
    if not trained:
        raise DtsdkError("the 'distilled' sampler runs distilled students only; this model is not one "
                         "(use ddpm or ddim, or a checkpoint from `dtsdk distill`)")
    steps = trained[0] if steps is None else int(steps)
    if steps not in trained:
        raise DtsdkError(f"this student was distilled for {', '.join(map(str, trained))} step(s), not {steps}; "
                         f"pass --steps {trained[0]}")
    abar = schedule.alphas_cumprod.to(x.device)
    ts = distilled_timesteps(schedule.num_steps, steps)
    one = torch.ones((), dtype=abar.dtype, device=x.device)
    for i, t in enumerate(ts):
        x0 = model(x, torch.full((x.shape[0],), t, device=x.device, dtype=torch.long), cond)  # (B, T, D)
        a_t = abar[t].to(x.dtype)
        a_next = (abar[ts[i + 1]] if i + 1 < len(ts) else one).to(x.dtype)
        noise = None
        if eta > 0 and i + 1 < len(ts):
            noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = ddim_update(x, x0, a_t, a_next, eta, noise)
        if callback is not None:
            callback({"i": i, "t": t, "x": x, "denoised": x0})
    return x
