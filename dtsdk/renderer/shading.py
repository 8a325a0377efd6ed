"""Per-part colours and a fixed key/fill/ambient lighting rig for previews (per-vertex, Gouraud)."""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.base import (PART_BROW, PART_EYE_WHITE, PART_IRIS, PART_LIPS, PART_MOUTH_INTERIOR, PART_SKIN,
                             PART_TEETH)

# Linear-ish RGB albedo per part id.
PART_COLORS = np.zeros((7, 3), np.float32)  # (parts, RGB) 0..1, indexed by PART_* id
PART_COLORS[PART_SKIN] = (0.86, 0.66, 0.55)
PART_COLORS[PART_LIPS] = (0.74, 0.36, 0.36)
PART_COLORS[PART_EYE_WHITE] = (0.93, 0.92, 0.88)
PART_COLORS[PART_IRIS] = (0.22, 0.38, 0.58)
PART_COLORS[PART_BROW] = (0.32, 0.22, 0.16)
PART_COLORS[PART_MOUTH_INTERIOR] = (0.22, 0.07, 0.08)
PART_COLORS[PART_TEETH] = (0.94, 0.92, 0.84)
NEUTRAL_GREY = np.array((0.72, 0.72, 0.74), np.float32)

# Directions toward the lights, in camera space (+Z toward the viewer), and their strengths.
KEY = np.array((0.45, 0.55, 0.70), np.float32)
FILL = np.array((-0.60, 0.10, 0.55), np.float32)
KEY, FILL = KEY / np.linalg.norm(KEY), FILL / np.linalg.norm(FILL)
AMBIENT, KEY_STRENGTH, FILL_STRENGTH, SPECULAR, SHININESS = 0.28, 0.72, 0.25, 0.12, 24.0


def albedo(part_ids: np.ndarray | None, num_vertices: int) -> np.ndarray:
    """Per-vertex base colour ``(V, 3)``: part colours, or neutral grey without parts (or for unknown ids)."""
    if part_ids is None:
        return np.tile(NEUTRAL_GREY, (num_vertices, 1))
    ids = np.asarray(part_ids, np.int64)  # (V,)
    known = (ids >= 0) & (ids < len(PART_COLORS))
    return np.where(known[:, None], PART_COLORS[np.where(known, ids, 0)], NEUTRAL_GREY).astype(np.float32)


def shade(vertices_cam: np.ndarray, normals_cam: np.ndarray, base: np.ndarray) -> np.ndarray:
    """Lit vertex colours ``(V, 3)`` in 0..1 (camera space, viewer along +Z).

    Normals facing away are flipped first, so the inside of the mouth or a lid seen from behind is
    lit like a surface rather than drawn black.
    """
    n = np.where(normals_cam[:, 2:3] < 0, -normals_cam, normals_cam)
    diffuse = AMBIENT + KEY_STRENGTH * np.clip(n @ KEY, 0, None) + FILL_STRENGTH * np.clip(n @ FILL, 0, None)
    half = KEY + np.array((0, 0, 1), np.float32)
    half /= np.linalg.norm(half)
    spec = SPECULAR * np.clip(n @ half, 0, None) ** SHININESS
    return np.clip(base * diffuse[:, None] + spec[:, None], 0, 1).astype(np.float32)


# Parts whose borders are painted on one continuous surface (lip line, brows on the skin): their
# colours are blended across the border. Eyes, teeth and the mouth interior are separate meshes and
# keep hard edges.
_SOFT_BORDER_PARTS = (PART_SKIN, PART_LIPS, PART_BROW)


def soften_part_borders(base: np.ndarray, faces: np.ndarray, part_ids: np.ndarray | None,
                        keep: float = 0.6) -> np.ndarray:
    """Blend each skin/lip/brow vertex colour ``(V, 3)`` with the mean of its mesh neighbours.

    Part ids are per vertex, so on a coarse grid a lip or brow border follows mesh edges and shows
    as a staircase; one blending step softens it like a real lip line. ``keep`` is the weight of
    the vertex's own colour (1: no blending); a brow two vertices wide keeps its colour at 0.6.
    """
    if part_ids is None or keep >= 1.0:
        return base
    soft = np.isin(np.asarray(part_ids), _SOFT_BORDER_PARTS)  # (V,)
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])  # (3F, 2)
    edges = edges[soft[edges[:, 0]] & soft[edges[:, 1]]]
    edges = np.unique(np.concatenate([edges, edges[:, ::-1]]), axis=0)  # each neighbour once, both directions
    sums = np.zeros_like(base, dtype=np.float32)
    np.add.at(sums, edges[:, 0], base[edges[:, 1]])
    counts = np.bincount(edges[:, 0], minlength=len(base))[:, None]  # (V, 1)
    neighbours = np.where(counts > 0, sums / np.maximum(counts, 1), base)
    return np.where(soft[:, None], keep * base + (1 - keep) * neighbours, base).astype(np.float32)
