"""Silence scores: how close a face stays to its speaker's resting pose where nobody speaks.

Where speech stops the corpus's face relaxes to the speaker's rest pose
(:func:`dtsdk.corpus.style.rest_pose`: jaw shut, the resting smile or frown with its asymmetry) while
blinks go on at the style's rate (``docs/articulation.md``, "Silence and long pauses"). A model
that keeps mouthing in silence, or freezes its eyes, fails these scores, which LVE over whole clips
hardly sees. Pure functions on numpy arrays; definitions: ``docs/metrics.md``, "Silence scores".
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from dtsdk.eval.metrics import MetricError, blink_count
from dtsdk.rigs.arkit import ARKIT52

REST_CHANNELS = {"jaw": "jawOpen", "brow": "browInnerUp"}  # score key part -> ARKit channel
REST_TOLERANCE = 0.05  # issue 9's target: within this many weight units of the rest pose


def quiet_runs(quiet) -> list[slice]:
    """The contiguous runs of True in a ``(T,)`` bool mask, as frame slices."""
    q = np.asarray(quiet, dtype=bool).reshape(-1)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], q, [False]]).astype(np.int8)))  # starts, ends
    return [slice(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def silence_scores(clips: Iterable[Sequence], fps: float) -> dict[str, float | int | None]:
    """Silence scores pooled over clips.

    ``clips``: ``(weights (T, 52), quiet (T,) bool, rest (52,))`` or, with the speaker's blink rate,
    ``(weights, quiet, rest, style_blinks_per_min)``; ``quiet`` marks the frames to score (for a
    pause clip :func:`dtsdk.corpus.extras.silent_frames`), ``rest`` the speaker's rest pose.

    Returns ``silence_jaw_error`` and ``silence_brow_error``: the mean over every quiet frame of all
    clips of ``|jawOpen - rest|`` and ``|browInnerUp - rest|`` (ARKit weight units);
    ``silence_blinks_per_min``: blinks (:func:`~dtsdk.eval.metrics.blink_count`, each quiet run
    counted on its own) per minute of quiet frames; ``silence_style_blinks_per_min``: the given
    rates weighted by each clip's quiet time (``None`` when no clip gives one); ``silence_s``:
    seconds of quiet frames; ``num_clips``: clips with at least one quiet frame.
    """
    sums = {key: 0.0 for key in REST_CHANNELS}
    frames, blinks, clips_used, rate_time, rate_frames = 0, 0, 0, 0.0, 0
    for item in clips:
        weights, quiet, rest = item[0], item[1], item[2]
        rate = item[3] if len(item) > 3 else None
        w = np.asarray(weights, dtype=np.float64)
        q = np.asarray(quiet, dtype=bool).reshape(-1)
        r = np.asarray(rest, dtype=np.float64).reshape(-1)
        if w.ndim != 2 or w.shape[1] != len(ARKIT52) or r.shape != (len(ARKIT52),):
            raise MetricError(f"silence_scores: expected weights (T, 52) and rest (52,), got {w.shape} and {r.shape}")
        n = min(len(w), len(q))
        w, q = w[:n], q[:n]
        if not q.any():
            continue
        for key, name in REST_CHANNELS.items():
            c = ARKIT52.index(name)
            sums[key] += float(np.abs(w[q, c] - r[c]).sum())
        blinks += sum(blink_count(w[run]) for run in quiet_runs(q))
        frames += int(q.sum())
        clips_used += 1
        if rate is not None:
            rate_time += float(rate) * int(q.sum())
            rate_frames += int(q.sum())
    if frames == 0:
        raise MetricError("silence_scores: no quiet frames in any clip")
    minutes = frames / fps / 60
    out: dict[str, float | int | None] = {f"silence_{key}_error": sums[key] / frames for key in REST_CHANNELS}
    out.update({"silence_blinks_per_min": blinks / minutes,
                "silence_style_blinks_per_min": rate_time / rate_frames if rate_frames else None,
                "silence_s": frames / fps, "num_clips": clips_used})
    return out


__all__ = ["quiet_runs", "silence_scores", "REST_CHANNELS", "REST_TOLERANCE"]
