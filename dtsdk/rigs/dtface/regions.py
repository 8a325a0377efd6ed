"""Named vertex sets and the 68 iBUG landmarks of dtface.

iBUG-68 is defined as seen in the image, so point 0 is on the subject's RIGHT (-X) and the
indices run toward the subject's left (+X): jaw 0-16, brows 17-26, nose 27-35, eyes 36-47,
outer lips 48-59, inner lips 60-67.
"""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.base import PART_BROW, PART_LIPS
from dtsdk.rigs.dtface import proportions as P
from dtsdk.rigs.dtface.mesh import DtfaceMesh, brow_centerline_y, lower_lip_height_mm, upper_lip_height_mm


def build_regions(mesh: DtfaceMesh) -> dict[str, np.ndarray]:
    head, v = mesh.head, mesh.vertices
    skin = mesh.parts["skin"]
    x, y = head.design_xy[:, 0], head.design_xy[:, 1]
    front = v[skin, 2] > 20.0
    mouth, eyes = head.mouth, (head.eye_left, head.eye_right)
    slit_rims = np.concatenate([mouth.upper_rim, mouth.lower_rim])
    lid_rims = np.concatenate([np.concatenate([e.upper_rim, e.lower_rim]) for e in eyes])
    skin_lips = skin[(mesh.part_ids[skin] == PART_LIPS) & front]
    eyeballs = np.concatenate([mesh.parts["eyeball_left"], mesh.parts["eyeball_right"]])
    upper_face = skin[front & (y > P.EYE_Y - 12.0) & (y < 80.0) & (np.abs(x) < 65.0)]
    jaw_skin = skin[front & (head.lip_side < 0) & (y > -112.0) & (np.abs(x) < 60.0)]
    interior = np.concatenate([mesh.parts[k] for k in ("mouth_cavity", "teeth_upper", "teeth_lower", "tongue")])
    return {
        "lips": np.unique(np.concatenate([skin_lips, slit_rims])),
        "upper_face": np.unique(np.concatenate([upper_face, eyeballs])),
        "eyes": np.unique(np.concatenate([eyeballs, lid_rims])),
        "eyelids": np.unique(lid_rims),
        "brows": skin[(mesh.part_ids[skin] == PART_BROW)],
        "jaw": np.unique(np.concatenate([jaw_skin, mesh.parts["teeth_lower"]])),
        "mouth_interior": interior,
        "skin": skin,
    }


def _nearest_skin(mesh: DtfaceMesh, targets_xy, candidates: np.ndarray) -> np.ndarray:
    """For each target (x, y), the candidate vertex closest in the front view."""
    xy = mesh.vertices[candidates, :2]
    d = np.linalg.norm(xy[None, :, :] - np.asarray(targets_xy, float)[:, None, :], axis=2)
    return candidates[np.argmin(d, axis=1)]


def _along(rim: np.ndarray, fractions) -> list[int]:
    return [int(rim[int(round(f * (len(rim) - 1)))]) for f in fractions]


def build_landmarks68(mesh: DtfaceMesh) -> np.ndarray:
    head, v = mesh.head, mesh.vertices
    skin = mesh.parts["skin"]
    front = skin[v[skin, 2] > 25.0]
    above_mouth = front[head.lip_side[front] > 0]
    below_mouth = front[head.lip_side[front] < 0]

    t = np.linspace(0.0, np.pi, 17)
    jaw_xy = np.stack([-64.0 * np.cos(t) * (1.0 - 0.25 * np.sin(t)), 4.0 - 102.0 * np.sin(t)], -1)
    brow_x = np.array([-50.0, -42.0, -33.0, -24.0, -16.0])
    brow_x = np.concatenate([brow_x, -brow_x[::-1]])
    brow_xy = np.stack([brow_x, brow_centerline_y(brow_x)], -1)
    nose_xy = [(0.0, 22.0), (0.0, 8.0), (0.0, -6.0), (0.0, -20.0),
               (-12.0, -29.0), (-6.0, -32.0), (0.0, -33.0), (6.0, -32.0), (12.0, -29.0)]

    right, left = head.eye_right, head.eye_left  # rims run -X to +X
    eyes = ([right.upper_rim[0]] + _along(right.upper_rim, [1 / 3, 2 / 3]) + [right.upper_rim[-1]]
            + _along(right.lower_rim, [2 / 3, 1 / 3])
            + [left.upper_rim[0]] + _along(left.upper_rim, [1 / 3, 2 / 3]) + [left.upper_rim[-1]]
            + _along(left.lower_rim, [2 / 3, 1 / 3]))

    mouth = head.mouth
    corner_x = mouth.x_mm[-1] + 2.0
    upper_x = np.array([-15.0, -6.0, 0.0, 6.0, 15.0])
    outer_upper = _nearest_skin(mesh, np.stack([upper_x, P.MOUTH_Y + upper_lip_height_mm(upper_x)], -1), above_mouth)
    lower_x = np.array([15.0, 6.0, 0.0, -6.0, -15.0])
    outer_lower = _nearest_skin(mesh, np.stack([lower_x, P.MOUTH_Y - lower_lip_height_mm(lower_x)], -1), below_mouth)
    corners = _nearest_skin(mesh, [(-corner_x, P.MOUTH_Y), (corner_x, P.MOUTH_Y)], front)
    outer = [corners[0], *outer_upper, corners[1], *outer_lower]
    inner_fr = [0.3, 0.5, 0.7]
    inner = ([mouth.upper_rim[0]] + _along(mouth.upper_rim, inner_fr) + [mouth.upper_rim[-1]]
             + _along(mouth.lower_rim, inner_fr[::-1]))

    landmarks = np.concatenate([
        _nearest_skin(mesh, jaw_xy, front), _nearest_skin(mesh, brow_xy, front),
        _nearest_skin(mesh, nose_xy, front), eyes, outer, inner,
    ]).astype(np.int64)
    assert landmarks.shape == (68,)
    return landmarks
