"""Long audio: split a clip into overlapping frame windows and crossfade the sampled windows together.

The model is trained on short clips and attention cost grows with the square of the length, so a
long file is sampled window by window. Each window's motion overlaps the previous one by
``overlap`` frames; a raised-cosine crossfade over that overlap hides the seam (two independent
samples differ slightly, and a hard cut would show that difference as a one-frame jump).
:class:`Stitcher` writes into one preallocated ``(T, D)`` array, so only one window's motion is
alive at a time and memory stays bounded by the output size, however long the file.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dtsdk.errors import DtsdkError


@dataclass(frozen=True)
class Window:
    index: int
    start: int  # first frame (inclusive)
    end: int  # last frame (exclusive)

    @property
    def num_frames(self) -> int:
        return self.end - self.start


def plan_windows(num_frames: int, window_frames: int, overlap_frames: int) -> list[Window]:
    """Windows of ``window_frames`` covering ``[0, num_frames)``, each overlapping the previous by
    ``overlap_frames``; the last one is cut at the end. One window when the clip fits in one."""
    if window_frames < 1 or not 0 <= overlap_frames < window_frames:
        raise DtsdkError(f"window of {window_frames} frames with {overlap_frames} frames overlap: "
                         "the overlap must be at least 0 and shorter than the window")
    if num_frames <= window_frames:
        return [Window(0, 0, max(num_frames, 0))]
    hop = window_frames - overlap_frames
    count = 1 + math.ceil((num_frames - window_frames) / hop)
    return [Window(i, i * hop, min(i * hop + window_frames, num_frames)) for i in range(count)]


def crossfade_ramp(length: int) -> np.ndarray:
    """Raised-cosine weights ``(length,)`` rising from near 0 to near 1 (the new window's share).

    Sampled at frame centres, so neither end is exactly 0 or 1 and each frame of the overlap mixes both.
    """
    t = (np.arange(length, dtype=np.float64) + 0.5) / max(length, 1)
    return (0.5 - 0.5 * np.cos(np.pi * t)).astype(np.float32)


class Stitcher:
    """Accumulates windows (added in order) into one ``(num_frames, dim)`` float32 array."""

    def __init__(self, num_frames: int, dim: int):
        self.motion = np.zeros((num_frames, dim), np.float32)
        self._filled = 0  # frames [0, _filled) hold stitched motion

    def add(self, start: int, window: np.ndarray) -> None:
        """Place ``window`` (W, D) at frame ``start``, crossfading the frames it shares with earlier windows."""
        end = start + len(window)
        if start > self._filled or end > len(self.motion):
            raise DtsdkError(f"window [{start}, {end}) leaves a gap or runs past {len(self.motion)} frames")
        overlap = min(self._filled, end) - start
        if overlap > 0:
            ramp = crossfade_ramp(overlap)[:, None]  # (O, 1)
            old = self.motion[start:start + overlap]
            self.motion[start:start + overlap] = (1.0 - ramp) * old + ramp * window[:overlap]
        self.motion[start + max(overlap, 0):end] = window[max(overlap, 0):]
        self._filled = max(self._filled, end)

    def result(self) -> np.ndarray:
        if self._filled != len(self.motion):
            raise DtsdkError(f"only {self._filled} of {len(self.motion)} frames were stitched")
        return self.motion
