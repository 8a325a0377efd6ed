"""Noise schedules, kept apart from the samplers so either can be swapped.

Convention (DDPM, Ho et al. 2020): ``x_t = sqrt(abar_t) * x0 + sqrt(1 - abar_t) * eps`` with
``t = 0 .. N-1`` and ``abar`` decreasing. Samplers call ``model(x_t, t, cond) -> x0_hat`` with
``t`` a ``(B,)`` long tensor of *training* step indices: whatever a network outputs, it reaches the
samplers as a clean-motion estimate (:mod:`dtsdk.diffusion.parameterization` converts it).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class NoiseSchedule:
    alphas_cumprod: torch.Tensor  # (N,) float64, strictly decreasing in (0, 1)
    name: str = "custom"

    @property
    def num_steps(self) -> int:
        return int(self.alphas_cumprod.shape[0])

    @classmethod
    def cosine(cls, num_steps: int = 500, s: float = 0.008, max_beta: float = 0.999) -> "NoiseSchedule":
        """Nichol & Dhariwal 2021 (arXiv 2102.09672, eq. 17), betas clipped at ``max_beta``."""
        t = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
        f = torch.cos((t + s) / (1 + s) * math.pi / 2) ** 2
        betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
        return cls(torch.cumprod(1 - betas, 0), name="cosine")

    @classmethod
    def linear(cls, num_steps: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02) -> "NoiseSchedule":
        """Ho et al. 2020 (arXiv 2006.11239), betas linear in t (scaled to ``num_steps``)."""
        scale = 1000 / num_steps
        betas = torch.linspace(beta_start * scale, beta_end * scale, num_steps, dtype=torch.float64)
        return cls(torch.cumprod(1 - betas, 0), name="linear")

    def abar(self, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``abar_t`` at steps ``t`` (B,), shaped to broadcast over ``like`` (B, ...) and in its dtype/device."""
        return self.alphas_cumprod.to(like.device)[t].to(like.dtype).view(-1, *([1] * (like.dim() - 1)))

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Forward process: noise clean ``x0`` (B, T, D) to training steps ``t`` (B,)."""
        abar = self.abar(t, x0)  # (B, 1, 1)
        return abar.sqrt() * x0 + (1 - abar).sqrt() * noise

    def timesteps(self, steps: int | None = None) -> list[int]:
        """``steps`` training-step indices, evenly spaced, descending, always ending at 0.

        ``None`` or ``steps >= N`` gives every step (N-1 .. 0).
        """
        n = self.num_steps
        if steps is None or steps >= n:
            return list(range(n - 1, -1, -1))
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        # "trailing" spacing (Lin et al. 2023, arXiv 2305.08891): the first step is the last training
        # step, so a few-step sampler starts from (nearly) pure noise as it was trained to.
        ts = [int(round(n - 1 - i * (n - 1) / max(steps - 1, 1))) for i in range(steps)] if steps > 1 else [n - 1]
        return ts

    def to_dict(self) -> dict:
        return {"name": self.name, "num_steps": self.num_steps}


SCHEDULES = {"cosine": NoiseSchedule.cosine, "linear": NoiseSchedule.linear}


def build_schedule(name: str, num_steps: int) -> NoiseSchedule:
    """A schedule by its config name (``SCHEDULES``) with ``num_steps`` training steps."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown noise schedule '{name}'; choose {' or '.join(SCHEDULES)}")
    return SCHEDULES[name](num_steps)
