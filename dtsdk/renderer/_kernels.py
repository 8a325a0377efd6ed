"""The numba-compiled inner loops of the rasterizer. Import through :mod:`dtsdk.renderer.raster`,
which checks that numba (the ``render`` extra) is installed first.

Why numba: a per-triangle scan loop is the simplest correct rasterizer, and compiled it draws the
15k-triangle ``dtface`` at 512x512 in a few milliseconds on one core, with no GL context to go
wrong on a headless, GPU-less machine.
"""
from __future__ import annotations

import numba
import numpy as np


def _jit(fn):
    """``njit`` with an on-disk cache (so only the first render of a machine pays the ~1 s compile).

    numba refuses ``cache=True`` at decoration time when neither the package folder nor the user
    cache (``NUMBA_CACHE_DIR``, ``~/.cache/numba``) is writable, e.g. a read-only install in a
    container; then compile in memory each process instead of failing.
    """
    try:
        return numba.njit(cache=True, nogil=True, fastmath=True)(fn)
    except RuntimeError:
        return numba.njit(cache=False, nogil=True, fastmath=True)(fn)


EPS = 1e-7  # barycentric slack: a pixel centre exactly on a shared edge is drawn, never dropped


@_jit
def _clip_span(w, dw, k_lo, k_hi):  # pragma: no cover - compiled
    """Narrow [k_lo, k_hi] to the offsets k where ``w + dw * k >= -EPS``."""
    if dw > 0.0:
        k_lo = max(k_lo, (-EPS - w) / dw)
    elif dw < 0.0:
        k_hi = min(k_hi, (-EPS - w) / dw)
    elif w < -EPS:
        k_hi = -1.0
    return k_lo, k_hi


@_jit
def rasterize_triangles(screen, colors, faces, image, depth):  # pragma: no cover - compiled
    """Z-buffered, Gouraud-interpolated triangles, drawn in place.

    screen (V, 3) float32: pixel x, pixel y (down), depth (larger = nearer the viewer).
    colors (V, 3) float32 in 0..255. faces (F, 3) int32. image (H, W, 3) uint8 and depth (H, W)
    float32 are read and written. A pixel is covered when its centre is inside or on an edge.
    """
    height, width = depth.shape
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        x0, y0, z0 = screen[a, 0], screen[a, 1], screen[a, 2]
        x1, y1, z1 = screen[b, 0], screen[b, 1], screen[b, 2]
        x2, y2, z2 = screen[c, 0], screen[c, 1], screen[c, 2]
        area = (x1 - x0) * (y2 - y0) - (x2 - x0) * (y1 - y0)  # signed, twice the pixel area
        if abs(area) < 1e-9:
            continue
        xmin = max(int(np.floor(min(x0, x1, x2))), 0)
        xmax = min(int(np.ceil(max(x0, x1, x2))), width - 1)
        ymin = max(int(np.floor(min(y0, y1, y2))), 0)
        ymax = min(int(np.ceil(max(y0, y1, y2))), height - 1)
        if xmin > xmax or ymin > ymax:
            continue
        inv_area = 1.0 / area
        # Barycentric weights are linear in x and y: step them instead of recomputing per pixel.
        dw0_dx, dw0_dy = (y1 - y2) * inv_area, (x2 - x1) * inv_area
        dw1_dx, dw1_dy = (y2 - y0) * inv_area, (x0 - x2) * inv_area
        sx, sy = xmin + 0.5, ymin + 0.5
        row_w0 = ((x1 - sx) * (y2 - sy) - (x2 - sx) * (y1 - sy)) * inv_area
        row_w1 = ((x2 - sx) * (y0 - sy) - (x0 - sx) * (y2 - sy)) * inv_area
        for py in range(ymin, ymax + 1):
            # Each weight is linear along the row, so the covered pixels are one span: solve
            # w(k) = row_w + dw_dx * k >= 0 for the pixel offset k instead of testing the
            # whole bounding box (thin triangles cover a quarter of theirs).
            k_lo, k_hi = 0.0, float(xmax - xmin)
            k_lo, k_hi = _clip_span(row_w0, dw0_dx, k_lo, k_hi)
            k_lo, k_hi = _clip_span(row_w1, dw1_dx, k_lo, k_hi)
            k_lo, k_hi = _clip_span(1.0 - row_w0 - row_w1, -dw0_dx - dw1_dx, k_lo, k_hi)
            if k_lo > k_hi:  # the row misses the triangle (checked before int(): k may be huge)
                row_w0 += dw0_dy
                row_w1 += dw1_dy
                continue
            for k in range(int(np.ceil(k_lo)), int(np.floor(k_hi)) + 1):
                w0 = row_w0 + dw0_dx * k
                w1 = row_w1 + dw1_dx * k
                w2 = 1.0 - w0 - w1
                if w0 < -EPS or w1 < -EPS or w2 < -EPS:
                    continue  # rounding at a span end
                px = xmin + k
                z = w0 * z0 + w1 * z1 + w2 * z2
                if z > depth[py, px]:
                    depth[py, px] = z
                    for ch in range(3):
                        v = w0 * colors[a, ch] + w1 * colors[b, ch] + w2 * colors[c, ch]
                        image[py, px, ch] = np.uint8(min(max(v + 0.5, 0.0), 255.0))
            row_w0 += dw0_dy
            row_w1 += dw1_dy


@_jit
def vertex_normals(vertices, faces):  # pragma: no cover - compiled
    """Area-weighted unit vertex normals (V, 3) float32 from vertices (V, 3) and faces (F, 3).

    Summing unnormalised face cross products weights each face by its area, so slivers along
    the lip line do not tilt the normals of their neighbours.
    """
    normals = np.zeros(vertices.shape, np.float32)
    for f in range(faces.shape[0]):
        a, b, c = faces[f, 0], faces[f, 1], faces[f, 2]
        ax, ay, az = vertices[a, 0], vertices[a, 1], vertices[a, 2]
        e1x, e1y, e1z = vertices[b, 0] - ax, vertices[b, 1] - ay, vertices[b, 2] - az  # edge a->b
        e2x, e2y, e2z = vertices[c, 0] - ax, vertices[c, 1] - ay, vertices[c, 2] - az  # edge a->c
        nx, ny, nz = e1y * e2z - e1z * e2y, e1z * e2x - e1x * e2z, e1x * e2y - e1y * e2x
        for v in (a, b, c):
            normals[v, 0] += nx
            normals[v, 1] += ny
            normals[v, 2] += nz
    for v in range(normals.shape[0]):
        length = np.sqrt(normals[v, 0] ** 2 + normals[v, 1] ** 2 + normals[v, 2] ** 2)
        if length > 1e-12:
            normals[v, 0] /= length
            normals[v, 1] /= length
            normals[v, 2] /= length
    return normals


@_jit
def box_downsample(image, factor):  # pragma: no cover - compiled
    """Average ``factor x factor`` pixel blocks: uint8 (H*f, W*f, 3) -> uint8 (H, W, 3), rounded."""
    height, width = image.shape[0] // factor, image.shape[1] // factor
    out = np.empty((height, width, 3), np.uint8)
    count = factor * factor
    for y in range(height):
        for x in range(width):
            for ch in range(3):
                total = 0
                for dy in range(factor):
                    for dx in range(factor):
                        total += image[y * factor + dy, x * factor + dx, ch]
                out[y, x, ch] = (total + count // 2) // count
    return out
