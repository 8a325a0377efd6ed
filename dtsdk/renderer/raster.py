"""A z-buffered triangle rasterizer and vertex normals, JIT-compiled with numba (the ``render`` extra).

Colours are per vertex and interpolated per pixel (Gouraud); see :mod:`dtsdk.renderer._kernels`.
"""
from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def _kernels():
    from dtsdk._optional import require

    require("numba", "render", "Preview rendering")
    from dtsdk.renderer import _kernels

    return _kernels


def rasterize(screen: np.ndarray, colors: np.ndarray, faces: np.ndarray, size: tuple[int, int],
              background: tuple[int, int, int]) -> np.ndarray:
    """Draw triangles over a plain background; returns ``uint8 (H, W, 3)``.

    ``screen`` (V, 3): x and y in pixels (y down, pixel centres at +0.5) and a depth that grows
    toward the viewer. ``colors`` (V, 3) in 0..1. ``faces`` (F, 3) vertex indices. Triangles of
    either winding are drawn: the z-buffer, not back-face culling, decides what is seen, because
    the mouth cavity and eyelids are open surfaces seen from both sides.
    """
    height, width = size
    image = np.empty((height, width, 3), np.uint8)
    image[:] = np.asarray(background, np.uint8)
    depth = np.full((height, width), -np.inf, np.float32)
    _kernels().rasterize_triangles(np.ascontiguousarray(screen, np.float32),
                                   np.ascontiguousarray(colors * 255.0, np.float32),
                                   np.ascontiguousarray(faces, np.int32), image, depth)
    return image


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals ``(V, 3)`` float32 for vertices ``(V, 3)`` and faces ``(F, 3)``."""
    return _kernels().vertex_normals(np.ascontiguousarray(vertices, np.float32), np.ascontiguousarray(faces, np.int32))


def box_downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` pixel blocks (supersampling): ``uint8 (H*f, W*f, 3)`` -> ``(H, W, 3)``."""
    return _kernels().box_downsample(np.ascontiguousarray(image, np.uint8), int(factor))
