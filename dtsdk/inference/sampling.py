"""One window of motion from a DiffusionTalker, with the sampler open to a wrapper.

Talker's windows go through :meth:`DiffusionTalker.sample_normalised` (encoder once, identity, the
objective's ``generate`` through the registered sampler), which returns the motion in the model's
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



def sample_window(model, audio: torch.Tensor, num_frames: int, identity, sampler: str, steps: int,
                  generator: torch.Generator | None, guidance: float = 1.0, wrap: Callable | None = None,
                  **sampler_kwargs) -> torch.Tensor:
    """audio (B, S) at ``config.sample_rate`` -> normalised motion (B, num_frames, D), ``(motion - mean) / std``.

    ``identity``: anything :func:`dtsdk.identities.resolve_identity` takes (Talker passes a ResolvedIdentity).
    ``wrap``: ``sample_fn -> sample_fn``, applied to the registered sampler (to ``None`` for objectives
    that do not sample: the wrapper is then not called).
    """
    x0, _ = model.sample_normalised(audio, num_frames, identity, sampler, steps, generator,
                                    identity_guidance=guidance, wrap=wrap, **sampler_kwargs)
    return x0  # (B, T, D)


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
