"""Vertices -> shaded RGB frames."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from dtsdk.errors import DtsdkError
from dtsdk.renderer.camera import Camera
from dtsdk.renderer.raster import rasterize
from dtsdk.renderer.shading import albedo, shade, vertex_normals
from dtsdk.rigs import Rig, get_rig

BACKGROUND = (0.93, 0.93, 0.94)


def render_frames(vertices_mm: np.ndarray, rig: "str | Rig" = "dtface", size: int = 512, view: str = "front",
                  head_pose: np.ndarray | None = None, supersample: int = 1) -> Iterator[np.ndarray]:
    """Yield one ``uint8 (size, size, 3)`` image per frame of ``vertices_mm`` (T, V, 3).

    ``head_pose`` (T, 3) yaw/pitch/roll radians turns the head about the neck. ``supersample=2``
    renders at twice the size and averages 2x2 blocks (antialiasing, about 3x slower).
    """
    rig = get_rig(rig)
    if not rig.has_mesh:
        raise DtsdkError(f"rig '{rig.name}' has no mesh to render; use a mesh rig such as 'dtface'")
    vertices_mm = np.asarray(vertices_mm, np.float32)
    if vertices_mm.ndim != 3 or vertices_mm.shape[1:] != (rig.num_vertices, 3):
        raise DtsdkError(f"expected vertices (T, {rig.num_vertices}, 3) for rig '{rig.name}', got {vertices_mm.shape}")
    if size < 16 or size > 4096:
        raise DtsdkError(f"size must be between 16 and 4096 pixels, got {size}")
    ss = max(1, int(supersample))
    camera = Camera.framing(rig.template_mm, size * ss, view, landmarks68=rig.landmarks68)
    base = albedo(rig.part_ids, rig.num_vertices)
    for t, verts in enumerate(vertices_mm):
        cam = camera.to_camera_space(verts, None if head_pose is None else head_pose[t])
        colors = shade(cam, vertex_normals(cam, rig.faces), base)
        image = rasterize(camera.project(cam), colors, rig.faces, (size * ss, size * ss), BACKGROUND)
        if ss > 1:
            image = image.reshape(size, ss, size, ss, 3).mean(axis=(1, 3))
        yield (image * 255 + 0.5).astype(np.uint8)
