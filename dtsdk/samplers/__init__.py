"""Diffusion samplers: plain functions over a denoiser, one per file (k-diffusion style).

Contract: ``sample(model, x, schedule, cond, steps=None, callback=None, generator=None) -> x0``,
where ``model(x_t, t, cond) -> x0_hat`` and ``x`` is the starting noise ``(B, T, D)``. ``cond`` is
the model's conditioning, passed to ``model`` untouched; it also carries ``distilled_steps``, the step
counts a distilled student was trained for (empty for other models), which ``distilled`` checks.
"""
from __future__ import annotations


def get_sampler(name: str):
    from dtsdk.plugins import lookup

    return lookup("sampler", name).obj
