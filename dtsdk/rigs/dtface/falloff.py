"""Smooth weights and rotations shared by the mesh and the morph targets.

Every morph is ``weight field * motion``; the weight fields here are C1-smooth so the surface
never cracks or creases where a field fades out.
"""
from __future__ import annotations

import numpy as np


def smoothstep(edge0, edge1, x):
    """0 below ``edge0``, 1 above ``edge1``, a cubic ramp between (edges may be reversed)."""
    t = np.clip((np.asarray(x, dtype=np.float64) - edge0) / (edge1 - edge0), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def fade(distance, radius):
    """1 at distance 0, smoothly 0 at ``radius`` and beyond."""
    return 1.0 - smoothstep(0.0, radius, np.abs(distance))


def ellipse_fade(dx, dy, rx, ry, core=0.0):
    """1 inside the ellipse scaled by ``core``, fading to 0 on the ellipse (rx, ry)."""
    e = np.sqrt((np.asarray(dx) / rx) ** 2 + (np.asarray(dy) / ry) ** 2)
    return 1.0 - smoothstep(core, 1.0, e)


def bump(u, v=0.0):
    """(1 - u^2 - v^2)^2 inside the unit disc, 0 outside: a round, C1 bump of height 1."""
    r2 = np.asarray(u) ** 2 + np.asarray(v) ** 2
    return np.clip(1.0 - r2, 0.0, None) ** 2


def rotate_x(points, center_yz, angle):
    """Rotate ``points`` (N, 3) about the x-parallel axis through ``center_yz`` (y, z).

    ``angle`` is a scalar or (N,) in radians; positive turns +Z toward -Y (a jaw opening, a lid closing).
    """
    p = np.asarray(points, dtype=np.float64)
    a = np.broadcast_to(np.asarray(angle, dtype=np.float64), p.shape[:1])
    y, z = p[:, 1] - center_yz[0], p[:, 2] - center_yz[1]
    c, s = np.cos(a), np.sin(a)
    out = p.copy()
    out[:, 1] = center_yz[0] + c * y - s * z
    out[:, 2] = center_yz[1] + s * y + c * z
    return out


def rotate_y(points, center_xz, angle):
    """Rotate ``points`` (N, 3) about the y-parallel axis through ``center_xz``; positive turns +Z toward +X."""
    p = np.asarray(points, dtype=np.float64)
    a = np.broadcast_to(np.asarray(angle, dtype=np.float64), p.shape[:1])
    x, z = p[:, 0] - center_xz[0], p[:, 2] - center_xz[1]
    c, s = np.cos(a), np.sin(a)
    out = p.copy()
    out[:, 0] = center_xz[0] + c * x + s * z
    out[:, 2] = center_xz[1] - s * x + c * z
    return out
