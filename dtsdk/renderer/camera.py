"""Framing: a perspective camera that fits a rig's neutral face, the named views, and head pose."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtsdk.errors import DtsdkError

VIEWS = {"front": (0.0, 6.0), "three_quarter": (32.0, 8.0), "profile": (88.0, 4.0)}  # yaw, elevation (degrees)
LENS_DISTANCE = 4.0  # camera distance in face sizes: a portrait lens, mild perspective


def rotation_ypr(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """``Ry(yaw) @ Rx(pitch) @ Rz(roll)`` (radians), the head-pose convention of :class:`dtsdk.Animation`."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    return ry @ rx @ rz


def face_box(template_mm: np.ndarray, landmarks68: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The (lo, hi) corners in mm of what to frame: in x and y the landmarks' box grown upward by a
    forehead and a little on every side, inside the mesh's box; the whole mesh without landmarks."""
    lo, hi = template_mm.min(0), template_mm.max(0)
    if landmarks68 is None:
        return lo, hi
    points = template_mm[np.asarray(landmarks68)]  # (68, 3)
    face_lo, face_hi = points.min(0), points.max(0)
    height = face_hi[1] - face_lo[1]  # brows to chin
    margin = 0.1 * height
    face_lo = face_lo - margin
    face_hi = face_hi + margin + np.array([0.0, 0.75 * height, 0.0])  # the forehead has no landmarks
    face_lo[2], face_hi[2] = lo[2], hi[2]  # all the depth: a turned view shows the back of the head too
    return np.maximum(face_lo, lo), np.minimum(face_hi, hi)


@dataclass(frozen=True)
class Camera:
    center: np.ndarray  # (3,) mm, the point the camera looks at
    pivot: np.ndarray  # (3,) mm, where head rotations turn (roughly the top of the neck)
    view_rotation: np.ndarray  # (3, 3) world -> camera
    distance_mm: float  # from the eye to ``center`` along the view axis
    focal_px: float
    principal_px: tuple[float, float]  # image x, y where the view axis lands (shifted to centre the face)

    @classmethod
    def framing(cls, template_mm: np.ndarray, size: int = 512, view: str = "front", fill: float = 0.9,
                landmarks68: np.ndarray | None = None) -> "Camera":
        """A camera that fits the face of ``template_mm`` (V, 3) into ``fill`` of a ``size`` square.

        With iBUG-68 ``landmarks68`` (vertex indices) the face (chin to forehead) is framed rather
        than the whole mesh, so a head on a long neck still fills the picture. The fit is done on
        the projected vertices of that region, so turned views are centred too.
        """
        if view not in VIEWS:
            raise DtsdkError(f"unknown view '{view}'; choose one of {', '.join(VIEWS)}")
        lo, hi = face_box(template_mm, landmarks68)
        center = (lo + hi) / 2
        inside = np.all((template_mm >= lo) & (template_mm <= hi), axis=1)
        region = template_mm[inside] if inside.any() else template_mm  # (N, 3)
        yaw, elevation = np.radians(VIEWS[view])
        # Looking at the face from yaw/elevation = rotating the head by the opposite angles.
        view_rotation = rotation_ypr(-yaw, elevation, 0.0)
        extent = float(max(hi[0] - lo[0], hi[1] - lo[1]))
        distance = LENS_DISTANCE * extent
        cam = (region - center) @ view_rotation.T  # (N, 3)
        u = cam[:, :2] / (distance - cam[:, 2:3])  # (N, 2) image plane at focal length 1
        u_lo, u_hi = u.min(0), u.max(0)
        focal = fill * size / float(max(u_hi - u_lo))
        mid = (u_lo + u_hi) / 2
        principal = (size / 2 - focal * mid[0], size / 2 + focal * mid[1])  # y flips: image rows go down
        full_lo, full_hi = template_mm.min(0), template_mm.max(0)
        pivot = np.array([center[0], lo[1], full_lo[2] + 0.4 * (full_hi[2] - full_lo[2])])
        return cls(center, pivot, view_rotation, distance, focal, principal)

    def to_camera_space(self, vertices_mm: np.ndarray, head_pose: np.ndarray | None = None) -> np.ndarray:
        """World (V, 3) -> camera space (V, 3), +Z toward the viewer; head pose turns about the neck first."""
        v = vertices_mm
        if head_pose is not None:
            rot = rotation_ypr(*head_pose)
            v = (v - self.pivot) @ rot.T + self.pivot
        return ((v - self.center) @ self.view_rotation.T).astype(np.float32)

    def project(self, cam: np.ndarray) -> np.ndarray:
        """Camera space (V, 3) -> screen (V, 3): pixel x, pixel y (down), depth (larger = nearer)."""
        scale = self.focal_px / np.maximum(self.distance_mm - cam[:, 2], 1e-3)  # (V,)
        px, py = self.principal_px
        return np.stack([px + cam[:, 0] * scale, py - cam[:, 1] * scale, cam[:, 2]], axis=1).astype(np.float32)
