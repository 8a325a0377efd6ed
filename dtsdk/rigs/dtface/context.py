"""What every morph builder needs to know about the neutral mesh, computed once."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtsdk.rigs.dtface.mesh import DtfaceMesh


@dataclass
class MorphContext:
    mesh: DtfaceMesh
    rest: np.ndarray  # (V, 3) neutral positions, mm
    x: np.ndarray  # (V,) design x: skin before lips and lids were parted; parts as built
    y: np.ndarray  # (V,) design y
    skin: np.ndarray  # (V,) bool
    face: np.ndarray  # (V,) bool, skin on the front of the head (z > 20 mm)
    lip_side: np.ndarray  # (V,) +1 above the mouth slit, -1 below, 0 off the skin
    lid_side: np.ndarray  # (V,) +1 above the eye slits, -1 below, 0 off the skin
    grid_col: np.ndarray  # (V,) skin grid column, -1 off the grid
    normals: np.ndarray  # (V, 3) unit outward normals

    @classmethod
    def from_mesh(cls, mesh: DtfaceMesh) -> "MorphContext":
        v = mesh.vertices
        n = len(v)
        skin_ids = mesh.parts["skin"]
        head = mesh.head
        x, y = v[:, 0].copy(), v[:, 1].copy()
        x[skin_ids], y[skin_ids] = head.design_xy[:, 0], head.design_xy[:, 1]
        skin = np.zeros(n, bool)
        skin[skin_ids] = True
        lip_side, lid_side = np.zeros(n, np.int8), np.zeros(n, np.int8)
        lip_side[skin_ids], lid_side[skin_ids] = head.lip_side, head.lid_side
        grid_col = np.full(n, -1, np.int64)
        grid_col[skin_ids] = head.grid_col
        return cls(mesh, v, x, y, skin, skin & (v[:, 2] > 20.0), lip_side, lid_side, grid_col,
                   vertex_normals(v, mesh.faces))

    def zeros(self) -> np.ndarray:
        return np.zeros_like(self.rest)

    def ids(self, part: str) -> np.ndarray:
        return self.mesh.parts[part]

    def per_column(self, columns: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Spread per-slit-column values ``(n, ...)`` to every skin vertex of those columns; 0 elsewhere."""
        values = np.asarray(values, dtype=np.float64)
        table = np.zeros((self.grid_col.max() + 2,) + values.shape[1:])
        table[columns] = values
        return table[np.where(self.grid_col >= 0, self.grid_col, -1)]  # index -1: the zero row


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) area-weighted unit normals; faces are counter-clockwise from outside, so normals point out."""
    tri = vertices[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_n)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
