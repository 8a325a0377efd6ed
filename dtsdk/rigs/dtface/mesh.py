"""Assemble the neutral dtface mesh: skin, eyeballs, teeth, tongue and mouth cavity, with part ids."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dtsdk.rigs.base import (PART_BROW, PART_EYE_WHITE, PART_IRIS, PART_LIPS, PART_MOUTH_INTERIOR, PART_SKIN,
                             PART_TEETH)
from dtsdk.rigs.dtface import parts
from dtsdk.rigs.dtface import proportions as P
from dtsdk.rigs.dtface.head import HeadSurface, build_head

MIRROR_X = np.array([-1.0, 1.0, 1.0])


@dataclass
class DtfaceMesh:
    head: HeadSurface
    vertices: np.ndarray  # (V, 3) mm
    faces: np.ndarray  # (F, 3)
    part_ids: np.ndarray  # (V,) uint8 PART_* ids
    mirror: np.ndarray  # (V,) index of each vertex's mirror image in x
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # "skin", "eyeball_left", "teeth_upper", ... -> ids
    eyeball_centers: dict[str, np.ndarray] = field(default_factory=dict)  # "left"/"right" -> (3,) mm
    inner_lip_z: float = 0.0

    @property
    def num_vertices(self) -> int:
        return len(self.vertices)


def upper_lip_height_mm(x):
    """Height of the upper-lip red above the slit (mm), with a Cupid's bow."""
    ax = np.abs(x)
    base = 8.0 * np.sqrt(np.clip(1.0 - (ax / 26.0) ** 2, 0.0, None))
    return base - 1.5 * np.exp(-((ax / 3.5) ** 2)) + 1.0 * np.exp(-(((ax - 6.0) / 4.0) ** 2))


def lower_lip_height_mm(x):
    return 9.5 * np.clip(1.0 - (np.abs(x) / 27.0) ** 2, 0.0, None) ** 0.6


def brow_centerline_y(x):
    """Height of the middle of each eyebrow (mm): an arch peaking two thirds of the way out."""
    t = np.clip((np.abs(x) - 14.0) / 40.0, 0.0, 1.0)
    return P.BROW_Y + 4.0 * np.sin(np.pi * t ** 0.8)


def _skin_part_ids(head: HeadSurface) -> np.ndarray:
    x, y = head.design_xy[:, 0], head.design_xy[:, 1]
    front = head.vertices[:, 2] > 30.0
    ids = np.full(len(x), PART_SKIN, dtype=np.uint8)
    dy = y - P.MOUTH_Y
    upper_red = (head.lip_side > 0) & (dy >= 0) & (dy <= upper_lip_height_mm(x)) & (np.abs(x) < 26.0)
    lower_red = (head.lip_side < 0) & (dy <= 0) & (-dy <= lower_lip_height_mm(x)) & (np.abs(x) < 27.0)
    ids[front & (upper_red | lower_red)] = PART_LIPS
    ax = np.abs(x)
    thickness = np.interp(ax, [14.0, 30.0, 54.0], [4.0, 3.5, 1.8])
    brow = (ax > 14.0) & (ax < 54.0) & (np.abs(y - brow_centerline_y(x)) < thickness)
    ids[front & brow] = PART_BROW
    return ids


def build_mesh() -> DtfaceMesh:
    head = build_head()
    pieces = [("skin", head.vertices, head.faces, head.mirror, _skin_part_ids(head))]
    center_l = head.eyeball_center_left
    center_r = center_l * MIRROR_X
    eye_l = parts.eyeball(center_l)
    eye_r = parts.eyeball(center_r)
    for name, (v, f, m, iris) in (("eyeball_left", eye_l), ("eyeball_right", eye_r)):
        pieces.append((name, v, f, m, np.where(iris, PART_IRIS, PART_EYE_WHITE).astype(np.uint8)))

    # The inner lip line sets how deep the mouth parts sit.
    mid = head.mouth.upper_rim[len(head.mouth.upper_rim) // 2]
    inner_lip_z = float(head.vertices[mid, 2])
    m = P.MOUTH_Y
    cavity = parts.mouth_cavity((0.0, m - 1.0, inner_lip_z - 9.0))
    teeth_upper = parts.dental_arch(inner_lip_z - 5.0, m + 8.0, m + 0.6)
    teeth_lower = parts.dental_arch(inner_lip_z - 7.5, m - 1.5, m - 8.5, half_width=17.5, depth=16.0)
    tongue = parts.tongue((0.0, m - 6.0, inner_lip_z - 27.0))
    for name, (v, f, mi), part in (("mouth_cavity", cavity, PART_MOUTH_INTERIOR),
                                   ("teeth_upper", teeth_upper, PART_TEETH),
                                   ("teeth_lower", teeth_lower, PART_TEETH), ("tongue", tongue, PART_LIPS)):
        pieces.append((name, v, f, mi, np.full(len(v), part, dtype=np.uint8)))

    vertices, faces, mirror, part_ids, ranges = [], [], [], [], {}
    offset = 0
    for name, v, f, mi, pid in pieces:
        ranges[name] = np.arange(offset, offset + len(v))
        vertices.append(v)
        faces.append(f + offset)
        mirror.append(mi + offset)
        part_ids.append(pid)
        offset += len(v)
    mirror = np.concatenate(mirror)
    # The two eyeballs are each other's mirror images.
    left, right = ranges["eyeball_left"], ranges["eyeball_right"]
    mirror[left], mirror[right] = mirror[right], mirror[left]
    return DtfaceMesh(head=head, vertices=np.concatenate(vertices), faces=np.concatenate(faces),
                      part_ids=np.concatenate(part_ids), mirror=mirror, parts=ranges,
                      eyeball_centers={"left": center_l, "right": center_r}, inner_lip_z=inner_lip_z)
