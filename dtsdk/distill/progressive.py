"""Progressive distillation (Salimans & Ho 2022, "Progressive Distillation for Fast Sampling of
Diffusion Models", arXiv 2202.00512, Algorithm 2): a student learns to take in ONE deterministic
(DDIM) step what its teacher takes in TWO; each round halves the step count.

Everything here is in the sampler's space: for the residual objective that is the residual from the
mean network's motion, normalised. Grids come from
:func:`dtsdk.samplers.distilled.distilled_timesteps`: the student's step k starts at the teacher's
step 2k, the teacher's step 2k+1 is the midpoint, and both land on the student's step k+1 (or on
clean motion after the last step).
"""
from __future__ import annotations

import torch

from dtsdk.model.objectives.base import masked_mean
from dtsdk.samplers.distilled import ddim_update, distilled_timesteps


def student_step_pairs(num_train_steps: int, student_steps: int) -> torch.Tensor:
    """(K, 3) long: for each student step its start, the teacher's midpoint and its end (-1 = clean)."""
    teacher = distilled_timesteps(num_train_steps, 2 * student_steps)
    rows = [(teacher[2 * k], teacher[2 * k + 1], teacher[2 * k + 2] if 2 * k + 2 < len(teacher) else -1)
            for k in range(student_steps)]
    return torch.tensor(rows, dtype=torch.long)


def _abar(alphas_cumprod: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """abar at steps t (B,) with -1 meaning clean (abar 1), shaped (B, 1, 1) like ``like``."""
    padded = torch.cat([alphas_cumprod, alphas_cumprod.new_ones(1)]).to(like.device, like.dtype)
    return padded[t].view(-1, *([1] * (like.dim() - 1)))  # index -1 is the appended 1


@torch.no_grad()
def two_step_target(teacher_denoise, x_t: torch.Tensor, t: torch.Tensor, t_mid: torch.Tensor, t_next: torch.Tensor,
                    cond: dict, alphas_cumprod: torch.Tensor) -> torch.Tensor:
    """The clean estimate (B, T, D) whose one DDIM step from ``x_t`` at ``t`` lands where the teacher's two
    steps (``t -> t_mid -> t_next``, all (B,)) land (Salimans & Ho, Algorithm 2)."""
    a_t, a_mid, a_next = (_abar(alphas_cumprod, s, x_t) for s in (t, t_mid, t_next))
    x_mid = ddim_update(x_t, teacher_denoise(x_t, t, cond), a_t, a_mid)  # (B, T, D)
    x_next = ddim_update(x_mid, teacher_denoise(x_mid, t_mid, cond), a_mid, a_next)  # (B, T, D)
    ratio = ((1 - a_next) / (1 - a_t)).sqrt()  # how much of x_t a DDIM step keeps
    return (x_next - ratio * x_t) / (a_next.sqrt() - ratio * a_t.sqrt())


def distillation_loss(student_denoise, teacher_denoise, x0: torch.Tensor, cond: dict, alphas_cumprod: torch.Tensor,
                      student_steps: int, generator: torch.Generator | None = None) -> dict:
    """One batch of a round: clean ``x0`` (B, T, D) noised to a random student step, the student's clean
    estimate against the teacher's two-step target.

    The MSE is weighted by the truncated SNR, ``max(abar / (1 - abar), 1)`` (the paper's choice: at
    high noise an x-space error barely matters to the next step, so it is not weighted toward 0).
    """
    B = x0.shape[0]
    pairs = student_step_pairs(alphas_cumprod.shape[0], student_steps).to(x0.device)  # (K, 3)
    k = torch.randint(0, student_steps, (B,), generator=generator, device=x0.device)
    t, t_mid, t_next = pairs[k].unbind(-1)  # each (B,)
    noise = torch.randn(x0.shape, generator=generator, device=x0.device, dtype=x0.dtype)
    a_t = _abar(alphas_cumprod, t, x0)  # (B, 1, 1)
    x_t = a_t.sqrt() * x0 + (1 - a_t).sqrt() * noise  # (B, T, D)
    target = two_step_target(teacher_denoise, x_t, t, t_mid, t_next, cond, alphas_cumprod)
    estimate = student_denoise(x_t, t, cond)  # (B, T, D)
    weight = (a_t / (1 - a_t)).clamp(min=1.0)  # (B, 1, 1)
    loss = masked_mean(weight * (estimate - target) ** 2, cond["mask"])
    with torch.no_grad():
        plain = masked_mean((estimate - target) ** 2, cond["mask"])
    return {"loss": loss, "mse": plain}
