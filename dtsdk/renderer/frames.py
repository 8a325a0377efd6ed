"""Vertices -> shaded RGB frames."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from dtsdk.errors import DtsdkError
from dtsdk.renderer.camera import Camera
from dtsdk.renderer.raster import box_downsample, rasterize, vertex_normals
from dtsdk.renderer.shading import albedo, shade, soften_part_borders
from dtsdk.rigs import DEFAULT_MESH_RIG, Rig, get_rig

BACKGROUND = (237, 237, 240)  # RGB 0..255, a plain light grey that every part reads against


def render_frames(vertices_mm: np.ndarray, rig: "str | Rig" = DEFAULT_MESH_RIG, size: int = 512, view: str = "front",
                  head_pose: np.ndarray | None = None, supersample: int = 1) -> Iterator[np.ndarray]:
    """Yield one ``uint8 (size, size, 3)`` RGB image per frame of ``vertices_mm`` (T, V, 3) on ``rig``.

    The camera is fixed for the whole clip, framed on the rig's neutral face (``view``: ``front``,
    ``three_quarter`` or ``profile``). ``head_pose`` (T, 3) yaw/pitch/roll in radians turns the head
    about the neck. ``supersample=2`` renders at twice the size and averages 2x2 blocks
    (antialiasing, about 3-4x slower).
    """
    rig = get_rig(rig)
    if not rig.has_mesh:
        raise DtsdkError(f"rig '{rig.name}' has no mesh to render; use a mesh rig such as 'dtface'")
    vertices_mm = np.asarray(vertices_mm, np.float32)
    if vertices_mm.ndim != 3 or vertices_mm.shape[1:] != (rig.num_vertices, 3):
        raise DtsdkError(f"expected vertices (T, {rig.num_vertices}, 3) for rig '{rig.name}', got {vertices_mm.shape}")
    if head_pose is not None and np.shape(head_pose) != (len(vertices_mm), 3):
        raise DtsdkError(f"head_pose must be ({len(vertices_mm)}, 3) yaw/pitch/roll, got {np.shape(head_pose)}")
    if not 16 <= size <= 4096:
        raise DtsdkError(f"size must be between 16 and 4096 pixels, got {size}")
    ss = max(1, int(supersample))
    full = size * ss
    camera = Camera.framing(rig.template_mm, full, view, landmarks68=rig.landmarks68)
    base = albedo(rig.part_ids, rig.num_vertices)  # (V, 3) 0..1
    base = soften_part_borders(base, rig.faces, rig.part_ids, keep=0.6)
    for t, verts in enumerate(vertices_mm):
        cam = camera.to_camera_space(verts, None if head_pose is None else head_pose[t])  # (V, 3)
        colors = shade(cam, vertex_normals(cam, rig.faces), base)  # (V, 3) 0..1
        image = rasterize(camera.project(cam), colors, rig.faces, (full, full), BACKGROUND)  # (full, full, 3)
        yield image if ss == 1 else box_downsample(image, ss)  # (size, size, 3)

