"""The :class:`CaptureReader` contract: a motion-capture dataset layout dtsdk can train on."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np

from dtsdk.animation import Animation


@dataclass(eq=False)
class CaptureClip:
    """One aligned take: speech and the face motion recorded with it."""

    name: str
    speaker: str
    audio: np.ndarray  # (S,) float32 mono at sample_rate
    sample_rate: int
    animation: Animation
    meta: dict[str, Any] = field(default_factory=dict)


class CaptureReader:
    """Subclass, set ``name``, implement ``can_read`` and ``read``.

    ``read`` yields clips whose audio and motion cover the same time span (within one motion
    frame); a pair that cannot be aligned is an error naming the file, or a documented skip with a
    warning, never a silent truncation.
    """

    name: str = ""
    description: str = ""

    def can_read(self, path: str | os.PathLike) -> bool:
        raise NotImplementedError

    def read(self, path: str | os.PathLike) -> Iterator[CaptureClip]:
        raise NotImplementedError
