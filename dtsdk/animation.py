"""The :class:`Animation`: motion channels over time in one rig's space.

``weights`` is ``(T, D)`` float32: blendshape weights (0..1, names in ``names``) for blendshape and
motion rigs, or per-vertex offsets in mm (``D = 3V``, ``names`` empty) for vertex rigs.
``head_pose`` is an optional ``(T, 3)`` array of yaw, pitch, roll in radians, applied as
``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` in the rig frame (+Y up, face toward +Z): positive yaw turns
the face toward the subject's left (+X), positive pitch looks down, positive roll tilts the top of
the head toward the subject's right.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dtsdk.errors import DtsdkError, RigError
from dtsdk.exporters import load_animation, save_animation
from dtsdk.rigs.arkit import ARKIT52, match_names


@dataclass(eq=False)
class Animation:
    weights: np.ndarray  # (T, D) float32
    names: tuple[str, ...]
    fps: float
    rig: str = "arkit52"
    head_pose: np.ndarray | None = None  # (T, 3) yaw, pitch, roll in radians
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = np.ascontiguousarray(self.weights, dtype=np.float32)
        self.names = tuple(self.names)
        self.fps = float(self.fps)
        if self.weights.ndim != 2:
            raise DtsdkError(f"Animation weights must be (frames, channels), got shape {self.weights.shape}")
        if self.names and len(self.names) != self.weights.shape[1]:
            raise DtsdkError(f"Animation has {self.weights.shape[1]} channels but {len(self.names)} names")
        if not np.isfinite(self.fps) or self.fps <= 0:
            raise DtsdkError(f"Animation fps must be a positive number, got {self.fps}")
        if not np.isfinite(self.weights).all():
            raise DtsdkError("Animation weights contain NaN or Inf")
        if self.head_pose is not None:
            self.head_pose = np.ascontiguousarray(self.head_pose, dtype=np.float32)
            if self.head_pose.shape != (self.num_frames, 3):
                raise DtsdkError(f"head_pose must be ({self.num_frames}, 3) yaw/pitch/roll, got {self.head_pose.shape}")

    @property
    def num_frames(self) -> int:
        return int(self.weights.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    @property
    def times_s(self) -> np.ndarray:
        """Frame times in seconds, ``(T,)``."""
        return np.arange(self.num_frames, dtype=np.float64) / self.fps

    def __repr__(self) -> str:
        return (f"Animation(frames={self.num_frames}, channels={self.weights.shape[1]}, fps={self.fps:g}, "
                f"rig={self.rig!r}, head_pose={self.head_pose is not None})")

    # ---- time ----------------------------------------------------------------------------------
    def resample(self, fps: float) -> "Animation":
        """Linear resampling to ``fps``; the duration is kept (frame count rounds to the new rate)."""
        fps = float(fps)
        if fps <= 0:
            raise DtsdkError(f"fps must be positive, got {fps}")
        if abs(fps - self.fps) < 1e-9 or self.num_frames == 0:
            return Animation(self.weights.copy(), self.names, fps, self.rig,
                             None if self.head_pose is None else self.head_pose.copy(), dict(self.meta))
        n_out = max(1, int(round(self.duration_s * fps)))
        t_out = np.arange(n_out) / fps
        src = self.times_s

        def interp(a: np.ndarray) -> np.ndarray:
            if len(a) == 1:
                return np.repeat(a, n_out, axis=0)
            return np.stack([np.interp(t_out, src, a[:, j]) for j in range(a.shape[1])], axis=1).astype(np.float32)

        pose = None if self.head_pose is None else interp(self.head_pose)
        return Animation(interp(self.weights), self.names, fps, self.rig, pose, dict(self.meta))

    # ---- spaces --------------------------------------------------------------------------------
    def arkit_weights(self) -> np.ndarray:
        """``(T, 52)`` in Apple's order, matched by name (any case); missing shapes are 0."""
        if not self.names:
            raise RigError(f"a vertex-space animation (rig '{self.rig}') has no ARKit weights")
        out = np.zeros((self.num_frames, 52), dtype=np.float32)
        for j, idx in enumerate(match_names(self.names)):
            if idx is not None:
                out[:, idx] = self.weights[:, j]
        return out

    def to_rig(self, rig) -> "Animation":
        """The same motion in another rig's space (through ARKit-52 unless the rigs are the same)."""
        from dtsdk.rigs import get_rig

        target = get_rig(rig)
        if target.name.lower() == self.rig.lower():
            return self
        if target.kind == "vertex":
            raise RigError(f"cannot retarget an animation of rig '{self.rig}' onto vertex rig '{target.name}'")
        weights = target.from_arkit(self.arkit_weights())
        return Animation(weights, target.shape_names, self.fps, target.name, self.head_pose, dict(self.meta))

    def to_vertices(self, rig=None) -> np.ndarray:
        """Vertices ``(T, V, 3)`` in mm on ``rig`` (default: this animation's rig, or ``dtface`` for a
        motion space without a mesh)."""
        from dtsdk.rigs import DEFAULT_MESH_RIG, get_rig

        target = get_rig(rig if rig is not None else self.rig)
        if rig is None and not target.has_mesh:
            target = get_rig(DEFAULT_MESH_RIG)
        if target.name.lower() == self.rig.lower():
            return target.decode(self.weights)
        return target.decode(self.to_rig(target).weights)

    # ---- files ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike, format: str | None = None, **options) -> str:
        """Write with the exporter chosen by ``format`` or the file extension; returns the path."""
        return save_animation(self, path, format=format, **options)

    @classmethod
    def load(cls, path: str | os.PathLike, format: str | None = None, **options) -> "Animation":
        """Read with the exporter chosen by ``format`` or the file extension."""
        return load_animation(path, format=format, **options)

    @classmethod
    def zeros(cls, num_frames: int, fps: float = 30.0, names=ARKIT52, rig: str = "arkit52") -> "Animation":
        return cls(np.zeros((num_frames, len(names)), np.float32), names, fps, rig)
