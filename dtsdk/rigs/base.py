"""The :class:`Rig`: a topology that motion can be decoded onto.

Three kinds:
- ``motion``: a named motion space with no mesh of its own (``arkit52``, the canonical space).
- ``blendshape``: a template mesh plus one delta per named shape (``dtface``, any ARKit glTF avatar).
- ``vertex``: a template mesh whose motion channels are per-vertex offsets (VOCASET/BIWI style);
  the motion dimension is ``3 * V``.

All lengths are millimetres. ``arkit_map`` (K, 52) lets any ARKit-space animation drive a
blendshape rig without retraining: ``rig_weights = arkit_weights @ arkit_map.T``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from dtsdk.errors import RigError
from dtsdk.rigs.arkit import match_names
from dtsdk.rigs.gltf import read_gltf_blendshapes

RigKind = Literal["motion", "blendshape", "vertex"]

# Material ids for preview shading (``Rig.part_ids``).
PART_SKIN, PART_LIPS, PART_EYE_WHITE, PART_IRIS, PART_BROW, PART_MOUTH_INTERIOR, PART_TEETH = range(7)


@dataclass(eq=False)
class Rig:
    name: str
    kind: RigKind
    shape_names: tuple[str, ...] = ()
    template_mm: np.ndarray | None = None  # (V, 3) float32, neutral face
    faces: np.ndarray | None = None  # (F, 3) int32, counter-clockwise seen from outside
    deltas_mm: np.ndarray | None = None  # (K, V, 3) float32, blendshape rigs only
    regions: dict[str, np.ndarray] = field(default_factory=dict)  # name -> vertex indices ("lips", "upper_face", ...)
    landmarks68: np.ndarray | None = None  # (68,) vertex indices in the iBUG-68 order, where the rig has a face
    arkit_map: np.ndarray | None = None  # (K, 52); None: built by matching shape names to ARKit names
    part_ids: np.ndarray | None = None  # (V,) uint8 PART_* ids, used by the preview renderer for colours
    description: str = ""

    def __post_init__(self) -> None:
        self.shape_names = tuple(self.shape_names)
        if self.template_mm is not None:
            self.template_mm = np.ascontiguousarray(self.template_mm, dtype=np.float32)
        if self.faces is not None:
            self.faces = np.ascontiguousarray(self.faces, dtype=np.int32)
        if self.deltas_mm is not None:
            self.deltas_mm = np.ascontiguousarray(self.deltas_mm, dtype=np.float32)
        for region, idx in self.regions.items():
            if np.asarray(idx).dtype == bool:  # int64 of a mask is 0s and 1s: the wrong vertices, silently
                raise RigError(f"rig '{self.name}': region '{region}' is a boolean mask; pass its vertex indices, "
                               "np.flatnonzero(mask)")
        self.regions = {k: np.asarray(v, dtype=np.int64) for k, v in self.regions.items()}
        if self.arkit_map is None and self.kind != "vertex" and self.shape_names:
            self.arkit_map = _arkit_map_by_name(self.shape_names)
        self.validate()

    # ---- shape facts -------------------------------------------------------------------------
    @property
    def has_mesh(self) -> bool:
        return self.template_mm is not None

    @property
    def num_vertices(self) -> int:
        return 0 if self.template_mm is None else int(self.template_mm.shape[0])

    @property
    def motion_dim(self) -> int:
        """Number of motion channels per frame: K shapes, or 3V for vertex rigs."""
        return 3 * self.num_vertices if self.kind == "vertex" else len(self.shape_names)

    def validate(self) -> None:
        """Raise :class:`RigError` if the arrays disagree with each other."""
        where = f"rig '{self.name}'"
        if self.kind not in ("motion", "blendshape", "vertex"):
            raise RigError(f"{where}: unknown kind '{self.kind}'")
        if self.kind != "motion":
            if self.template_mm is None or self.faces is None:
                raise RigError(f"{where}: a {self.kind} rig needs template_mm and faces")
            if self.template_mm.ndim != 2 or self.template_mm.shape[1] != 3:
                raise RigError(f"{where}: template_mm must be (V, 3), got {self.template_mm.shape}")
            if self.faces.ndim != 2 or self.faces.shape[1] != 3:
                raise RigError(f"{where}: faces must be (F, 3), got {self.faces.shape}")
            if self.faces.size and (self.faces.min() < 0 or self.faces.max() >= self.num_vertices):
                raise RigError(f"{where}: faces index vertices outside 0..{self.num_vertices - 1}")
        if self.kind == "blendshape":
            k = len(self.shape_names)
            if self.deltas_mm is None or self.deltas_mm.shape != (k, self.num_vertices, 3):
                got = None if self.deltas_mm is None else self.deltas_mm.shape
                raise RigError(f"{where}: deltas_mm must be ({k}, {self.num_vertices}, 3), got {got}")
        if self.kind == "motion" and not self.shape_names:
            raise RigError(f"{where}: a motion rig needs shape names")
        if len({n.lower() for n in self.shape_names}) != len(self.shape_names):
            raise RigError(f"{where}: shape names repeat (names are case-insensitive)")
        if self.arkit_map is not None and self.arkit_map.shape != (len(self.shape_names), 52):
            raise RigError(f"{where}: arkit_map must be ({len(self.shape_names)}, 52), got {self.arkit_map.shape}")
        for region, idx in self.regions.items():
            if idx.size and (idx.min() < 0 or idx.max() >= self.num_vertices):
                raise RigError(f"{where}: region '{region}' indexes vertices outside the mesh")
        if self.landmarks68 is not None:
            lm = np.asarray(self.landmarks68)
            if lm.shape != (68,) or lm.min() < 0 or lm.max() >= self.num_vertices:
                raise RigError(f"{where}: landmarks68 must be 68 vertex indices inside the mesh")
        if self.part_ids is not None and np.asarray(self.part_ids).shape != (self.num_vertices,):
            raise RigError(f"{where}: part_ids must have one entry per vertex")

    # ---- motion -> geometry -------------------------------------------------------------------
    def decode(self, motion: np.ndarray) -> np.ndarray:
        """Motion in this rig's space ``(T, motion_dim)`` -> vertices ``(T, V, 3)`` in mm."""
        if not self.has_mesh:
            raise RigError(f"rig '{self.name}' is a motion space without a mesh; "
                           "decode onto a mesh rig such as 'dtface'")
        motion = np.asarray(motion, dtype=np.float32)
        if motion.ndim != 2 or motion.shape[1] != self.motion_dim:
            raise RigError(f"rig '{self.name}': expected motion (T, {self.motion_dim}), got {motion.shape}")
        if self.kind == "vertex":
            return self.template_mm[None] + motion.reshape(len(motion), -1, 3)  # (T, V, 3)
        k, v = self.deltas_mm.shape[:2]
        offsets = motion @ self.deltas_mm.reshape(k, v * 3)  # (T, V*3)
        return self.template_mm[None] + offsets.reshape(len(motion), v, 3)  # (T, V, 3)

    def from_arkit(self, arkit_weights: np.ndarray) -> np.ndarray:
        """ARKit-52 weights ``(T, 52)`` (Apple's order) -> this rig's weights ``(T, K)``."""
        if self.arkit_map is None:
            raise RigError(f"rig '{self.name}' has no mapping from ARKit-52 (a {self.kind} rig); "
                           "it needs its own model")
        w = np.asarray(arkit_weights, dtype=np.float32)
        if w.ndim != 2 or w.shape[1] != 52:
            raise RigError(f"rig '{self.name}': expected ARKit weights (T, 52), got {w.shape}")
        return w @ self.arkit_map.T  # (T, K)

    def __repr__(self) -> str:
        return (f"Rig(name={self.name!r}, kind={self.kind!r}, shapes={len(self.shape_names)}, "
                f"vertices={self.num_vertices}, faces={0 if self.faces is None else len(self.faces)})")

    @classmethod
    def from_gltf(cls, path, name: str | None = None) -> "Rig":
        """A blendshape rig named ``name`` (default: the file stem) from a glTF/GLB whose morph targets
        carry ARKit names (see :mod:`dtsdk.rigs.gltf`)."""
        shapes = read_gltf_blendshapes(path)
        try:
            return cls(name=name or Path(path).stem, kind="blendshape", shape_names=shapes.shape_names,
                       template_mm=shapes.template_mm, faces=shapes.faces, deltas_mm=shapes.deltas_mm,
                       description=shapes.description)
        except RigError as exc:
            raise RigError(f"{shapes.path}: {exc}") from exc


def _arkit_map_by_name(shape_names) -> np.ndarray:
    m = np.zeros((len(shape_names), 52), dtype=np.float32)
    for k, idx in enumerate(match_names(shape_names)):
        if idx is not None:
            m[k, idx] = 1.0
    return m
