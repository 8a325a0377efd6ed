"""``npy``: vertex arrays ``(T, V*3)`` float32, the layout FaceFormer/VOCASET research code loads.

Write: any animation that can be decoded onto a mesh (``rig=`` picks the mesh; default the
animation's own rig, or ``dtface`` for ``arkit52``). Absolute vertex positions, flattened per frame
as ``x0, y0, z0, x1, ...``, in metres by default like VOCASET (``unit="mm"`` keeps dtsdk's unit).

Read: a ``.npy`` carries no fps, rig or unit, so reading needs them spelled out:

- ``rig=<vertex rig>`` (name or Rig): motion = vertices - template, an animation of that rig;
- ``raw=True``: the absolute vertices as ``weights`` (T, V*3) in mm, rig ``"raw-vertices"``,
  no names. Useful for metrics; it cannot be decoded onto a rig.

``fps`` defaults to 30 (VOCASET as FaceFormer uses it), ``unit`` to ``"m"``.
"""
from __future__ import annotations

import os

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, ExportError, FormatError
from dtsdk.io._common import export_error_from, mesh_vertices_mm, unit_scale
from dtsdk.utils.atomic import atomic_path
from dtsdk.io.base import Exporter

RAW_VERTICES_RIG = "raw-vertices"


class NpyExporter(Exporter):
    name = "npy"
    extensions = (".npy",)
    stores_weights = False
    stores_head_pose = stores_meta = stores_rig_name = False  # vertices only
    description = "Vertex array (T, V*3) float32 like FaceFormer/VOCASET; metres by default"

    def write(self, animation: Animation, path: str | os.PathLike, rig=None, unit: str = "m") -> None:
        scale = unit_scale(unit, path)
        if animation.num_frames == 0:
            raise ExportError(f"{os.fspath(path)}: the animation has no frames; nothing to write")
        try:
            vertices_mm, _ = mesh_vertices_mm(animation, rig)  # (T, V, 3)
        except DtsdkError as exc:
            raise export_error_from(exc, path) from exc
        flat = (vertices_mm.reshape(len(vertices_mm), -1) * scale).astype(np.float32)  # (T, V*3)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, flat, allow_pickle=False)

    def read(self, path: str | os.PathLike, rig=None, raw: bool = False, fps: float = 30.0,
             unit: str = "m") -> Animation:
        from dtsdk.rigs import get_rig

        where = os.fspath(path)
        if rig is None and not raw:
            raise FormatError(f"{where}: a .npy vertex array has no rig; pass rig=<vertex rig> "
                              f"(motion relative to its template) or raw=True (absolute vertices)")
        try:
            data = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as exc:
            raise FormatError(f"{where}: not a readable .npy array ({exc})") from exc
        if not isinstance(data, np.ndarray) or data.ndim not in (2, 3) or data.shape[-1] % 3:
            raise FormatError(f"{where}: expected vertices (T, V*3) or (T, V, 3), "
                              f"got shape {getattr(data, 'shape', '?')}")
        if not np.issubdtype(data.dtype, np.floating):
            raise FormatError(f"{where}: expected float vertices, got dtype {data.dtype}")
        try:
            mm = data.reshape(len(data), -1).astype(np.float32) / unit_scale(unit, path)  # (T, V*3)
        except ExportError as exc:
            raise FormatError(str(exc)) from None
        meta = {"source": where, "unit": unit}
        try:
            if raw:
                return Animation(mm, (), fps, RAW_VERTICES_RIG, meta=meta)
            target = get_rig(rig)
            if target.kind != "vertex":
                raise FormatError(f"{where}: rig '{target.name}' is a {target.kind} rig; .npy vertices read back "
                                  f"only onto a vertex rig (or pass raw=True)")
            if mm.shape[1] != target.motion_dim:
                raise FormatError(f"{where}: {mm.shape[1] // 3} vertices per frame, but rig '{target.name}' "
                                  f"has {target.num_vertices}")
            motion = mm - target.template_mm.reshape(1, -1)  # (T, V*3) offsets in mm
            return Animation(motion, (), fps, target.name, meta=meta)
        except FormatError:
            raise
        except DtsdkError as exc:
            raise FormatError(f"{where}: {exc}") from exc


NPY = NpyExporter()
