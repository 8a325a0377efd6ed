"""The loose parts inside the head: eyeballs, teeth, tongue and the dark mouth cavity.

Each part is a small surface of revolution or a curved slab with its own vertices; none is
stitched to the skin. Every builder returns ``(vertices (n, 3) mm, faces (m, 3), mirror (n,))``
where ``mirror`` maps each vertex to its image under x -> -x within the same part.
"""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.dtface import proportions as P

IRIS_HALF_ANGLE_RAD = 0.5  # iris radius about 6 mm on a 12.5 mm eyeball
_EYE_LATITUDES = np.concatenate([[0.17, 0.34, IRIS_HALF_ANGLE_RAD - 0.02, IRIS_HALF_ANGLE_RAD + 0.06],
                                 np.linspace(0.8, np.pi - 0.25, 9)])


def lathe(ring_radius, ring_z, n_around: int, front_pole_z=None, back_pole_z=None, inward=False):
    """Surface of revolution about the z axis, rings ordered from +z (front) to -z (back).

    ring_radius, ring_z: (R,) profile. Poles close the ends when given. Returns (vertices, faces, mirror);
    faces wind counter-clockwise seen from outside, or from inside when ``inward``.
    """
    ring_radius, ring_z = np.asarray(ring_radius, float), np.asarray(ring_z, float)
    n_rings = len(ring_radius)
    b = 2.0 * np.pi * np.arange(n_around) / n_around
    ring_x = ring_radius[:, None] * np.cos(b)[None, :]
    ring_y = ring_radius[:, None] * np.sin(b)[None, :]
    verts = [np.stack([ring_x, ring_y, np.repeat(ring_z[:, None], n_around, 1)], -1).reshape(-1, 3)]
    ids = np.arange(n_rings * n_around).reshape(n_rings, n_around)
    nxt = np.roll(np.arange(n_around), -1)
    # Looking at the front (+z) with angle b counter-clockwise, rings run outward-and-back.
    a, bb, c, d = ids[:-1], ids[:-1][:, nxt], ids[1:], ids[1:][:, nxt]
    faces = [np.stack([a, c, d], -1).reshape(-1, 3), np.stack([a, d, bb], -1).reshape(-1, 3)]
    next_id = n_rings * n_around
    mirror_ring = (n_around // 2 - np.arange(n_around)) % n_around
    mirror = [ids[:, mirror_ring].ravel()]
    if front_pole_z is not None:
        verts.append([[0.0, 0.0, front_pole_z]])
        faces.append(np.stack([np.full(n_around, next_id), ids[0], ids[0][nxt]], -1))
        mirror.append([next_id])
        next_id += 1
    if back_pole_z is not None:
        verts.append([[0.0, 0.0, back_pole_z]])
        faces.append(np.stack([np.full(n_around, next_id), ids[-1][nxt], ids[-1]], -1))
        mirror.append([next_id])
        next_id += 1
    faces = np.concatenate(faces)
    if inward:
        faces = faces[:, ::-1]
    return np.concatenate(verts), faces.astype(np.int64), np.concatenate(mirror).astype(np.int64)


def eyeball(center) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A sphere looking down +z with an iris cap. Returns vertices, faces, mirror, is_iris (n,) bool."""
    r = P.EYEBALL_RADIUS
    verts, faces, mirror = lathe(r * np.sin(_EYE_LATITUDES), r * np.cos(_EYE_LATITUDES), 16,
                                 front_pole_z=r, back_pole_z=-r)
    # The cornea bulges a little in front of the iris.
    front = verts[:, 2] > r * np.cos(IRIS_HALF_ANGLE_RAD)
    verts[front, 2] += 0.4
    is_iris = verts[:, 2] > r * np.cos(IRIS_HALF_ANGLE_RAD + 0.03)
    return verts + np.asarray(center), faces, mirror, is_iris


def mouth_cavity(center, radii=(30.0, 13.0, 24.0), rim_bend_per_mm2=0.016):
    """The back half of an ellipsoid, open toward the lips, seen from inside: the dark behind the lips.

    Wider than the mouth so the corners never show the inside of the skull; bent back toward its
    sides and top and bottom (z -= bend * (x^2 + 1.5 y^2)) to follow the curve of the face without
    poking through the cheeks or the chin.
    """
    phi = np.linspace(np.pi / 2, np.pi - 0.3, 8)
    verts, faces, mirror = lathe(np.sin(phi), np.cos(phi), 20, back_pole_z=-1.0, inward=True)
    verts = verts * np.asarray(radii) + np.asarray(center)
    verts[:, 2] -= rim_bend_per_mm2 * ((verts[:, 0] - center[0]) ** 2 + 1.5 * (verts[:, 1] - center[1]) ** 2)
    return verts, faces, mirror


def tongue(center, radii=(16.0, 4.5, 22.0)):
    """A flattened ellipsoid lying on the floor of the mouth, tip toward +z."""
    phi = np.linspace(0.25, np.pi - 0.25, 8)
    verts, faces, mirror = lathe(np.sin(phi), np.cos(phi), 16, front_pole_z=1.0, back_pole_z=-1.0)
    return verts * np.asarray(radii) + np.asarray(center), faces, mirror


def dental_arch(front_z: float, top_y: float, bottom_y: float, half_width=19.0, depth=17.0, thickness=3.0):
    """A row of teeth as one curved slab following the dental arch (a half ellipse opening toward -z)."""
    n = 17
    beta = np.linspace(-1.35, 1.35, n)  # arch angle; 0 at the front
    front_x, front_zz = half_width * np.sin(beta), front_z + depth * (np.cos(beta) - 1.0)
    normal = np.stack([np.sin(beta) / half_width, (np.cos(beta)) / depth], -1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)  # (n, 2) outward in the xz plane
    # Cross-section ring: front-top, front-bottom, back-bottom, back-top (counter-clockwise seen from +x side).
    offsets = [(0.0, top_y), (0.0, bottom_y), (-thickness, bottom_y + 0.5), (-thickness, top_y)]
    rings = []
    for inset, y in offsets:
        rings.append(np.stack([front_x + inset * normal[:, 0], np.full(n, y), front_zz + inset * normal[:, 1]], -1))
    verts = np.concatenate(rings)  # (4n, 3): ring k, arch position j -> k*n + j
    ids = np.arange(4 * n).reshape(4, n)
    faces = []
    for k in range(4):
        a, b = ids[k], ids[(k + 1) % 4]
        faces.append(np.stack([a[:-1], b[:-1], b[1:]], -1))
        faces.append(np.stack([a[:-1], b[1:], a[1:]], -1))
    mirror = ids[:, ::-1].ravel()
    return verts, np.concatenate(faces).astype(np.int64), mirror
