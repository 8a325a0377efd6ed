"""Enrollment: a folder of a user's recordings (optionally with captures) -> a new talking identity in
the identity store, for a model that stays frozen. ``dtsdk enroll DIR --name NAME`` calls :func:`enroll`.

    import dtsdk
    dtsdk.enroll("my_recordings/", name="me")
    dtsdk.Talker(identity="me").animate("hello.wav")

The scan is :mod:`dtsdk.enrollment.scan`, the fit :mod:`dtsdk.enrollment.fit`, the store
:mod:`dtsdk.identities.store`; docs/enrollment.md says what audio alone can and cannot learn.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from dtsdk.enrollment.fit import EnrollSettings, cut_windows, fit_identity
from dtsdk.enrollment.scan import scan_recordings
from dtsdk.errors import DtsdkError

log = logging.getLogger("dtsdk.enroll")
MIN_SECONDS = 10.0  # less audio than this is refused: too little to say anything about a voice
MAX_VOICE_KEYS = 512  # 34 min of 4 s windows; each key is one (E,) row, so even the cap is small on disk


@dataclass
class Enrollment:
    """What :func:`enroll` wrote: the identity's ``name``, its store ``path``, ``embedding`` (E,),
    ``source`` (files, seconds, mode, skips) and ``metrics`` (losses before/after, timings)."""

    name: str
    path: Path
    embedding: torch.Tensor
    source: dict
    metrics: dict
    skipped: list

    def to_dict(self) -> dict:
        return {"name": self.name, "path": str(self.path), "source": self.source, "metrics": self.metrics,
                "skipped": [{"file": str(p), "why": why} for p, why in self.skipped]}


def enroll(folder, name: str, model=None, *, force: bool = False, steps: int | None = None, seed: int = 0,
           min_seconds: float = MIN_SECONDS, window_s: float | None = None,
           learning_rate: float | None = None) -> Enrollment:
    """Enroll the recordings under ``folder`` as the identity ``name`` of ``model`` (a DiffusionTalker,
    a checkpoint folder, a Hub repo id, or None for the packaged default); nothing is written on failure.
    ``steps``, ``window_s`` and ``learning_rate`` default to :class:`EnrollSettings`' (100, 4 s, 0.05)."""
    from dtsdk.identities.store import check_name, identity_path, model_fingerprint, write_identity
    from dtsdk.inference.talker import load_model

    started = time.perf_counter()
    check_name(name)
    if identity_path(name).exists() and not force:  # checked again, under the lock, when writing
        raise DtsdkError(f"{identity_path(name)}: identity '{name}' exists already; pass --force (force=True) "
                         "to replace it")
    model, label = load_model(model)
    if model.is_generic:
        raise DtsdkError(f"{label}: this model was trained without identities; it cannot take an enrolled one")
    if name in model.config.identities:
        raise DtsdkError(f"identity name '{name}' is a library identity of this model; choose another name")
    settings = EnrollSettings(seed=seed, **({"steps": int(steps)} if steps is not None else {}),
                              **({"window_s": float(window_s)} if window_s is not None else {}),
                              **({"learning_rate": float(learning_rate)} if learning_rate is not None else {}))
    if settings.steps < 1:
        raise DtsdkError(f"steps must be at least 1, got {settings.steps}")
    if not settings.learning_rate > 0:
        raise DtsdkError(f"learning_rate must be positive, got {settings.learning_rate}")
    fingerprint = model_fingerprint(model)
    scan = scan_recordings(folder, model.config, min_seconds)
    with frozen(model):
        encode_started = time.perf_counter()
        windows = cut_windows(model, scan.used, settings.window_s)
        encode_s = time.perf_counter() - encode_started
        result = fit_identity(model, windows, settings)
        voice_keys = voice_keys_for(model, windows)
    if model_fingerprint(model) != fingerprint:  # cannot happen with frozen(); a guard worth its 20 ms
        raise DtsdkError(f"{label}: the model changed during enrollment; nothing was written")
    source = scan.summary(model.config.sample_rate)
    metrics = {**result.metrics, "voice_keys": len(voice_keys), "encode_seconds": round(encode_s, 3),
               "total_seconds": round(time.perf_counter() - started, 3)}
    path = write_identity(name, result.embedding, fingerprint, model_label=str(label), source=source,
                          metrics=metrics, force=force, voice_keys=voice_keys)
    log.info("enrolled '%s' (%s, %.1f s of audio) in %.1f s -> %s", name, source["mode"], source["seconds"],
             metrics["total_seconds"], path)
    return Enrollment(name, path, result.embedding, source, metrics, scan.skipped)


def voice_keys_for(model, windows) -> torch.Tensor:
    """What ``auto`` matches a voice against (K, E): the audio-to-identity queries of the enrolled windows,
    at most MAX_VOICE_KEYS of them, evenly spread in time. One key per window, not one for the identity:
    a voice's clips scatter around its mean query, and fitting the motion moves the embedding away from
    where the voice points (docs/enrollment.md, benchmarks/bench_voice_keys.py)."""
    with torch.no_grad():
        queries = F.normalize(model.personalizer.query(windows.features, windows.mask), dim=-1)  # (N, E)
    if len(queries) > MAX_VOICE_KEYS:
        queries = queries[torch.linspace(0, len(queries) - 1, MAX_VOICE_KEYS).round().long()]
    return queries


@contextlib.contextmanager
def frozen(model):
    """No parameter takes a gradient and dropout is off; the model's own flags come back afterwards."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    was_training = model.training
    model.eval()
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)
        model.train(was_training)


__all__ = ["MIN_SECONDS", "EnrollSettings", "Enrollment", "enroll", "voice_keys_for"]
