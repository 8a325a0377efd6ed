"""A blendshape :class:`Rig` from any glTF/GLB avatar whose morph targets carry ARKit names.

Target names come from ``mesh.extras.targetNames`` (or the first primitive's ``extras``). They match
ARKit names case-insensitively, also behind a dotted prefix (``blendShape1.jawOpen``, as Maya and
some exporters write them) or in underscore form with a numbered prefix (``A25_Jaw_Open``).
The mesh with the most ARKit-named targets is used; all its triangle primitives are merged into one
vertex list (primitives sharing a POSITION accessor share their vertices). Positions and deltas go
from metres to mm; node transforms are not applied (the mesh's own frame is kept). Targets without
an ARKit name stay in the rig under their own name with no ARKit mapping. ``regions`` are empty.

This module reads the geometry; :meth:`dtsdk.rigs.Rig.from_gltf` builds the rig from it (so the
reader needs no :class:`Rig`, and the two modules do not import each other).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from dtsdk.errors import FormatError, RigError
from dtsdk.rigs.arkit import ARKIT52, canonical_name
from dtsdk.utils.gltf_container import GltfDocument, load_gltf, read_accessor

M_TO_MM = 1000.0
TRIANGLES = 4
_NUMBERED_PREFIX = re.compile(r"^[A-Za-z]{0,2}\d+_")  # "A25_" in "A25_Jaw_Open"
_ARKIT_BY_SQUASHED = {n.lower(): n for n in ARKIT52}


def arkit_name_for_target(name: str) -> str | None:
    """Apple's spelling of the ARKit shape a morph-target name stands for, or ``None``."""
    candidates = [name, name.rsplit(".", 1)[-1]]
    candidates.append(_NUMBERED_PREFIX.sub("", candidates[-1]))
    for candidate in candidates:
        exact = canonical_name(candidate)
        if exact:
            return exact
        squashed = candidate.replace("_", "").replace(" ", "").lower()
        if squashed in _ARKIT_BY_SQUASHED:
            return _ARKIT_BY_SQUASHED[squashed]
    return None


@dataclass
class GltfBlendshapes:
    """The blendshape geometry of a glTF avatar's best mesh, in mm: what a blendshape rig is made of."""

    path: str  # the file, for error messages
    shape_names: tuple[str, ...]  # (K,) ARKit targets under Apple's spelling, others under their own name
    template_mm: np.ndarray  # (V, 3) float32
    faces: np.ndarray  # (F, 3) int32
    deltas_mm: np.ndarray  # (K, V, 3) float32
    description: str


def read_gltf_blendshapes(path: str | os.PathLike) -> GltfBlendshapes:
    """The morph-target geometry of ``path`` (.glb or .gltf); RigError when no mesh has ARKit names."""
    doc = load_gltf(path)
    mesh_index, names = _best_mesh(doc)
    mesh = doc.json["meshes"][mesh_index]
    template, faces, deltas = _merged_geometry(doc, mesh, len(names), mesh_index)
    return GltfBlendshapes(path=doc.path, shape_names=_rig_shape_names(names), template_mm=template, faces=faces,
                           deltas_mm=deltas,
                           description=f"from {os.fspath(path)} (mesh {mesh.get('name', mesh_index)!r})")


def _target_names(mesh: dict) -> list[str] | None:
    names = (mesh.get("extras") or {}).get("targetNames")
    if names is None:
        names = ((mesh.get("primitives") or [{}])[0].get("extras") or {}).get("targetNames")
    return [str(n) for n in names] if isinstance(names, list) else None


def _best_mesh(doc: GltfDocument) -> tuple[int, list[str]]:
    """The mesh with the most ARKit-named morph targets, and its target names."""
    best, seen_targets = None, False
    for index, mesh in enumerate(doc.json.get("meshes", [])):
        primitives = mesh.get("primitives") or []
        num_targets = len(primitives[0].get("targets", [])) if primitives else 0
        if not num_targets:
            continue
        seen_targets = True
        names = _target_names(mesh)
        if names is None or len(names) != num_targets:
            continue
        matched = sum(arkit_name_for_target(n) is not None for n in names)
        if matched and (best is None or matched > best[0]):
            best = (matched, index, names)
    if best is None:
        problem = ("its morph targets have no ARKit names (expected names such as jawOpen in mesh.extras.targetNames)"
                   if seen_targets else "it has no mesh with morph targets")
        raise RigError(f"{doc.path}: cannot make an ARKit blendshape rig: {problem}")
    return best[1], best[2]


def _merged_geometry(doc: GltfDocument, mesh: dict, num_targets: int, mesh_index: int):
    """All triangle primitives of ``mesh`` -> template (V, 3) mm, faces (F, 3), deltas (K, V, 3) mm."""
    where = f"{doc.path}: meshes[{mesh_index}]"
    positions, deltas, faces = [], [], []
    offsets: dict[int, int] = {}  # POSITION accessor -> first merged vertex, so shared vertices stay shared
    counts: dict[int, int] = {}  # POSITION accessor -> its vertex count
    num_vertices = 0
    for p, primitive in enumerate(mesh.get("primitives", [])):
        if primitive.get("mode", TRIANGLES) != TRIANGLES:
            continue  # points and lines carry no surface
        position_accessor = primitive.get("attributes", {}).get("POSITION")
        if position_accessor is None:
            raise FormatError(f"{where}.primitives[{p}] has no POSITION attribute")
        targets = primitive.get("targets", [])
        if len(targets) != num_targets:
            raise FormatError(f"{where}.primitives[{p}] has {len(targets)} morph targets, the mesh has {num_targets}")
        if position_accessor not in offsets:
            vertices = read_accessor(doc, position_accessor).astype(np.float32)  # (Vp, 3) metres
            if vertices.ndim != 2 or vertices.shape[1] != 3:
                raise FormatError(f"{where}.primitives[{p}] POSITION is not VEC3")
            offsets[position_accessor], counts[position_accessor] = num_vertices, len(vertices)
            positions.append(vertices)
            deltas.append(np.stack([_target_positions(doc, t, len(vertices), where) for t in targets]))
            num_vertices += len(vertices)
        first, count = offsets[position_accessor], counts[position_accessor]
        if "indices" in primitive:
            indices = read_accessor(doc, primitive["indices"]).astype(np.int64)
        else:
            indices = np.arange(count)
        if len(indices) % 3 or (len(indices) and (indices.min() < 0 or indices.max() >= count)):
            raise FormatError(f"{where}.primitives[{p}] indices are not triangles over its {count} vertices")
        faces.append(indices.reshape(-1, 3) + first)
    if not positions:
        raise FormatError(f"{where} has no triangle primitives")
    template = np.concatenate(positions) * M_TO_MM  # (V, 3)
    all_deltas = np.concatenate(deltas, axis=1) * M_TO_MM  # (K, V, 3)
    return template, np.concatenate(faces).astype(np.int32), all_deltas


def _target_positions(doc: GltfDocument, target: dict, num_vertices: int, where: str) -> np.ndarray:
    if "POSITION" not in target:
        return np.zeros((num_vertices, 3), np.float32)  # a normals-only target moves nothing
    delta = read_accessor(doc, target["POSITION"]).astype(np.float32)
    if delta.shape != (num_vertices, 3):
        raise FormatError(f"{where}: a morph target has {len(delta)} POSITION deltas for {num_vertices} vertices")
    return delta


def _rig_shape_names(names: list[str]) -> tuple[str, ...]:
    """ARKit targets under Apple's spelling; others keep their name. Repeats get a ``_2`` suffix."""
    out, used = [], set()
    for name in names:
        candidate = arkit_name_for_target(name)
        if candidate is None or candidate.lower() in used:
            candidate = name
        base, n = candidate, 2
        while candidate.lower() in used:
            candidate, n = f"{base}_{n}", n + 1
        used.add(candidate.lower())
        out.append(candidate)
    return tuple(out)
