"""``obj-seq``: one Wavefront OBJ per frame in a folder (format-only; pick it with ``format="obj-seq"``).

A folder has no extension of its own, so this format claims none. The folder ``path`` is written
atomically (a failed export leaves neither it nor a temporary folder) and replaced if it exists.
It holds ``frame_00001.obj``, ``frame_00002.obj``, ... (1-based, zero-padded to at least 5 digits
so they sort), each with the same vertex order and the rig's triangles as 1-based ``f`` lines: the
layout Blender's Stop-motion-OBJ add-on and mesh-sequence tools load.

Any animation that decodes onto a mesh can be written: blendshape animations are decoded onto their
rig (``rig=`` picks another mesh rig; ``arkit52`` goes on ``dtface``), vertex rigs directly.
Vertices are in metres by default, the unit Blender assumes for OBJ (``unit="mm"`` keeps dtsdk's),
with 6 decimals. There is no reader: an OBJ sequence carries neither fps nor shape weights.
"""
from __future__ import annotations

import os

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, ExportError
from dtsdk.io._common import export_error_from, mesh_vertices_mm, unit_scale
from dtsdk.utils.atomic import atomic_dir
from dtsdk.io.base import Exporter


def frame_file_name(index: int, num_frames: int) -> str:
    """``frame_00001.obj`` for ``index`` 0; wider numbers when there are more than 99999 frames."""
    return f"frame_{index + 1:0{max(5, len(str(num_frames)))}d}.obj"


class ObjSequence(Exporter):
    name = "obj-seq"
    extensions = ()
    description = "Folder of per-frame OBJ meshes (frame_00001.obj, ...), fixed vertex order; metres"
    writes_directory = True
    stores_weights = stores_head_pose = stores_meta = stores_rig_name = False  # meshes only, never read back

    def write(self, animation: Animation, path: str | os.PathLike, rig=None, unit: str = "m") -> None:
        scale = unit_scale(unit, path)
        if animation.num_frames == 0:
            raise ExportError(f"{os.fspath(path)}: the animation has no frames; nothing to write")
        if os.path.isfile(path):
            raise ExportError(f"{os.fspath(path)}: is a file; obj-seq writes a folder of OBJ files")
        try:
            vertices_mm, mesh_rig = mesh_vertices_mm(animation, rig)  # (T, V, 3)
        except DtsdkError as exc:
            raise export_error_from(exc, path) from exc
        vertices = vertices_mm.astype(np.float64) * scale
        # Faces are the same in every frame: format them once.
        faces_text = "".join("f %d %d %d\n" % tuple(f) for f in (mesh_rig.faces + 1).tolist())
        vertex_format = "v %.6f %.6f %.6f\n" * mesh_rig.num_vertices
        num_frames = len(vertices)
        with atomic_dir(path) as folder:
            for t, frame in enumerate(vertices):
                header = (f"# dtsdk obj-seq: rig {mesh_rig.name}, frame {t + 1}/{num_frames}, "
                          f"{animation.fps:g} fps, unit {unit}\no {mesh_rig.name}\n")
                with open(folder / frame_file_name(t, num_frames), "w", encoding="utf-8") as f:
                    f.write(header)
                    f.write(vertex_format % tuple(frame.reshape(-1).tolist()))
                    f.write(faces_text)


OBJ_SEQ = ObjSequence()
