"""Per-vertex attributes the mesh formats write beside positions: smooth normals and part colours."""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.base import (PART_BROW, PART_EYE_WHITE, PART_IRIS, PART_LIPS, PART_MOUTH_INTERIOR, PART_SKIN,
                             PART_TEETH)

# Linear RGB 0..1 per Rig.part_ids value; an unknown id is drawn as skin.
PART_RGB = {
    PART_SKIN: (0.80, 0.60, 0.50),
    PART_LIPS: (0.70, 0.35, 0.35),
    PART_EYE_WHITE: (0.92, 0.92, 0.90),
    PART_IRIS: (0.20, 0.28, 0.40),
    PART_BROW: (0.25, 0.18, 0.12),
    PART_MOUTH_INTERIOR: (0.45, 0.15, 0.15),
    PART_TEETH: (0.95, 0.93, 0.85),
}


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit normals ``(V, 3)`` float32 of ``vertices`` ``(V, 3)`` and CCW ``faces`` ``(F, 3)``.

    Vertices that no triangle uses get +Z, because glTF requires every normal to be unit length.
    """
    v = np.asarray(vertices, dtype=np.float64)
    tri = v[faces]  # (F, 3, 3)
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])  # (F, 3), length = 2 x area
    normals = np.zeros_like(v)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    unit = np.where(length > 1e-12, normals / np.maximum(length, 1e-12), [0.0, 0.0, 1.0])
    return unit.astype(np.float32)


def part_colors(part_ids: np.ndarray) -> np.ndarray:
    """``(V,)`` PART_* ids -> ``(V, 3)`` float32 linear RGB."""
    table = np.array([PART_RGB.get(i, PART_RGB[PART_SKIN]) for i in range(256)], dtype=np.float32)
    return table[np.asarray(part_ids, dtype=np.uint8)]
