"""Framing: a perspective camera that fits a rig's neutral face, views, and head-pose rotation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtsdk.errors import DtsdkError

VIEWS = {"front": (0.0, 6.0), "three_quarter": (32.0, 8.0), "profile": (88.0, 4.0)}  # yaw, elevation (deg)


def rotation_ypr(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``Ry(yaw) @ Rx(pitch) @ Rz(roll)`` (radians), the head-pose convention of :class:`dtsdk.Animation`."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


@dataclass(frozen=True)
class Camera:
    center: np.ndarray  # (3,) mm, the point the camera looks at
    pivot: np.ndarray  # (3,) mm, where head rotations turn (roughly the top of the neck)
    view_rotation: np.ndarray  # (3, 3) world -> camera
    distance_mm: float
    focal_px: float
    size: int

    @classmethod
    def framing(cls, template_mm: np.ndarray, size: int = 512, view: str = "front", fill: float = 0.9,
                landmarks68: np.ndarray | None = None) -> "Camera":
        """Fit the face: the 68-landmark box grown to take in the forehead when the rig has landmarks
        (so a long neck does not shrink the face), else the whole mesh."""
        if view not in VIEWS:
            raise DtsdkError(f"unknown view '{view}'; choose one of {', '.join(VIEWS)}")
        lo, hi = template_mm.min(0), template_mm.max(0)
        if landmarks68 is not None:
            face = template_mm[np.asarray(landmarks68)]
            flo, fhi = face.min(0), face.max(0)
            h, w = fhi[1] - flo[1], fhi[0] - flo[0]
            lo = np.array([flo[0] - 0.15 * w, flo[1] - 0.12 * h, lo[2]])
            hi = np.array([fhi[0] + 0.15 * w, min(hi[1], fhi[1] + 0.6 * h), hi[2]])
        center = (lo + hi) / 2
        extent = float(max(hi[0] - lo[0], hi[1] - lo[1]))
        yaw, elevation = np.radians(VIEWS[view])
        # Looking at the face from yaw/elevation = rotating the head by the opposite angles.
        view_rotation = rotation_ypr(-yaw, elevation, 0.0)
        distance = 4.0 * extent  # a portrait lens: mild perspective
        focal = fill * size * distance / extent
        pivot = np.array([center[0], lo[1] + 0.2 * (hi[1] - lo[1]), center[2] - 0.25 * (hi[2] - lo[2])])
        return cls(center, pivot, view_rotation, distance, focal, size)

    def to_camera_space(self, vertices_mm: np.ndarray, head_pose: np.ndarray | None = None) -> np.ndarray:
        """World (V, 3) -> camera space (V, 3), head pose applied about the neck pivot first."""
        v = vertices_mm
        if head_pose is not None:
            rot = rotation_ypr(*head_pose)
            v = (v - self.pivot) @ rot.T + self.pivot
        return ((v - self.center) @ self.view_rotation.T).astype(np.float32)

    def project(self, cam: np.ndarray) -> np.ndarray:
        """Camera space (V, 3) -> screen (V, 3): pixel x, pixel y (down), depth (larger = nearer)."""
        w = self.distance_mm - cam[:, 2]  # distance from the eye along the view axis
        scale = self.focal_px / np.maximum(w, 1e-3)
        half = self.size / 2
        return np.stack([half + cam[:, 0] * scale, half - cam[:, 1] * scale, cam[:, 2]], axis=1).astype(np.float32)
