"""The objective contract: what a DiffusionTalker is trained to do, and how its motion is drawn.

One objective per file, as diffusers keeps one scheduler per file; the config's ``objective``
names one of :data:`dtsdk.model.objectives.OBJECTIVES`, and ``tests/test_objectives.py`` runs the
same contract on every one. An objective is a strategy over the model's modules, not a module:
the encoder, personalizer and denoiser belong to the model, and anything more an objective needs
(the residual objective's mean network) it asks for in :meth:`Objective.extra_modules`, so the
model registers it under that name and checkpoint keys do not depend on the objective's code.

Everything here works in the model's normalised motion space, ``(motion - mean) / std``.
``cond`` always holds ``audio`` (B, T, D_audio), ``identity`` (B, E) and ``mask`` (B, T) bool or
None; an objective adds its own keys (listed in ``cond_keys``) before its samplers run.
"""
from __future__ import annotations

from typing import Callable, ClassVar

import torch
from torch import nn


def masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of values (B, T, D) over the frames where mask (B, T) is True."""
    weights = mask[..., None].to(values.dtype)  # (B, T, 1)
    return (values * weights).sum() / (weights.sum() * values.shape[-1]).clamp(min=1)


def recon_and_velocity(pred: torch.Tensor, target: torch.Tensor,
                       mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked MSE of pred vs target (B, T, D), and of their frame-to-frame velocities."""
    recon = masked_mean((pred - target) ** 2, mask)
    both_valid = mask[:, 1:] & mask[:, :-1]  # a velocity needs two real frames
    velocity = masked_mean(((pred[:, 1:] - pred[:, :-1]) - (target[:, 1:] - target[:, :-1])) ** 2, both_valid)
    return recon, velocity


def deterministic_pass(net: nn.Module, cond: dict, motion_dim: int) -> torch.Tensor:
    """A denoiser-shaped network used as a regressor: step 0, an all-zero motion input.

    cond: audio (B, T, D_audio), identity (B, E), mask -> motion (B, T, D) in the normalised space.
    """
    audio = cond["audio"]
    B, T, _ = audio.shape
    zeros = audio.new_zeros(B, T, motion_dim)  # (B, T, D)
    step0 = torch.zeros(B, dtype=torch.long, device=audio.device)
    return net(zeros, step0, audio, cond["identity"], cond.get("mask"))


class Objective:
    """The interface every objective implements. ``model`` is the DiffusionTalker it serves."""

    name: ClassVar[str] = ""
    # False: one deterministic pass; samplers, steps and seeds do not apply.
    uses_sampler: ClassVar[bool] = True
    # What ``denoise``'s cond must hold beyond the shared audio / identity / mask.
    cond_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self, model: nn.Module):
        self.model = model

    @classmethod
    def extra_modules(cls, build_backbone: Callable[[], nn.Module]) -> dict[str, nn.Module]:
        """Modules to register on the model by name; ``build_backbone()`` makes a fresh denoiser-shaped net."""
        return {}

    def training_loss(self, x0: torch.Tensor, cond: dict, generator: torch.Generator | None) -> dict:
        """Clean motion x0 (B, T, D) and the shared cond -> dict of scalars with the total in ``"loss"``."""
        raise NotImplementedError

    def generate(self, cond: dict, sampler: Callable | None, steps: int, generator: torch.Generator | None,
                 guidance: float = 1.0, **sampler_kwargs) -> torch.Tensor:
        """The shared cond -> motion x0 (B, T, D). ``sampler`` is a registered sampler function (None when
        ``uses_sampler`` is False); ``guidance`` is the identity guidance weight (1 = plain conditioning)."""
        raise NotImplementedError

    def denoise(self, x_t: torch.Tensor, t: torch.Tensor, cond: dict) -> torch.Tensor:
        """The sampler contract ``(x_t (B, T, D), t (B,), cond) -> x0_hat (B, T, D)``, for objectives that sample."""
        raise NotImplementedError(f"the '{self.name}' objective does not sample")

    # ---- shared by the objectives ---------------------------------------------------------------
    @property
    def config(self):
        return self.model.config

    def null_identity(self, batch_size: int) -> torch.Tensor:
        """The trained null identity for every row -> (B, E)."""
        return self.model.personalizer.embed(None, batch_size)
