"""One window of motion from a DiffusionTalker, with the sampler open to a wrapper.

:func:`sample_window` does what :meth:`DiffusionTalker.sample` does (encoder once, identity, the
objective's ``generate`` through the registered sampler) and returns the motion in the model's
normalised space, so that streaming can hold emitted frames fixed (:mod:`dtsdk.inference.streaming`)
and batches can share denoiser passes (:mod:`dtsdk.inference.batching`). Both work by wrapping the
sampler *function* (``wrap(sample_fn) -> sample_fn``): the wrapper sees the sampler contract,
``sample(denoise, x, schedule, cond, steps=..., generator=..., **options)``, so it works with every
registered sampler and every objective, guidance included, without a special case for any of them.
Without ``wrap`` the result is exactly ``DiffusionTalker.sample``'s.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from dtsdk.identities import identity_embeddings, resolve_identity
from dtsdk.samplers import get_sampler


def sample_window(model, audio: torch.Tensor, num_frames: int, identity, sampler: str, steps: int,
                  generator: torch.Generator | None, guidance: float = 1.0, wrap: Callable | None = None,
                  **sampler_kwargs) -> torch.Tensor:
    """audio (B, S) at ``config.sample_rate`` -> normalised motion (B, num_frames, D), ``(motion - mean) / std``.

    ``identity``: anything :func:`dtsdk.identities.resolve_identity` takes (Talker passes a ResolvedIdentity).
    ``wrap``: ``sample_fn -> sample_fn``, applied to the registered sampler (to ``None`` for objectives
    that do not sample: the wrapper is then not called).
    """
    config = model.config
    device = model.motion_mean.device
    features = model.encoder(audio.to(device), num_frames)  # (B, T, D_audio), once per window
    resolved = resolve_identity(model, identity, audio.shape[0], features)
    cond = {"audio": features, "identity": identity_embeddings(model, resolved, device), "mask": None,
            "distilled_steps": tuple(config.distilled_steps)}
    if all(r.is_generic for r in resolved):
        guidance = 1.0  # nothing to guide toward: the generic path as it is
    if sampler == config.default_sampler:  # the checkpoint's options for its own sampler, under the caller's
        sampler_kwargs = {**config.sampler_options, **sampler_kwargs}
    sample_fn = get_sampler(sampler) if model.objective.uses_sampler else None
    if wrap is not None and sample_fn is not None:
        sample_fn = wrap(sample_fn)
    return model.objective.generate(cond, sample_fn, steps, generator, guidance, **sampler_kwargs)  # (B, T, D)


def to_rig_units(model, normalised: torch.Tensor) -> torch.Tensor:
    """Normalised motion (..., D) -> rig units, as ``DiffusionTalker.sample`` returns them."""
    return normalised * model.motion_std + model.motion_mean


SEED_STREAMS = {"window": 0, "stream-noise": 1, "stream-run": 2}


def derived_seed(seed: int, stream: str, index: int) -> int:
    """A seed for item ``index`` of one of the ``SEED_STREAMS`` of a call's ``seed``: reproducible, independent.

    Offline windows keep the sequence they always had (``[seed, index]``), so outputs recorded before stay.
    """
    key = [seed % 2**63, index] if stream == "window" else [seed % 2**63, SEED_STREAMS[stream], index]
    return int(np.random.SeedSequence(key).generate_state(1, np.uint64)[0] % 2**63)
