"""The built-in dtface rig: a readable head whose 52 ARKit targets do what their names say."""
from __future__ import annotations

import numpy as np
import pytest

from dtsdk.rigs import get_rig
from dtsdk.rigs.arkit import ARKIT52
from dtsdk.rigs.base import PART_IRIS, PART_LIPS, PART_MOUTH_INTERIOR, PART_TEETH
from dtsdk.rigs.dtface import build_dtface
from dtsdk.rigs.dtface.mesh import MIRROR_X, build_mesh


@pytest.fixture(scope="module")
def rig():
    return build_dtface()


@pytest.fixture(scope="module")
def mesh():
    return build_mesh()


def delta(rig, name):
    return rig.deltas_mm[ARKIT52.index(name)]


def posed(rig, name, weight=1.0):
    return rig.template_mm + weight * delta(rig, name)


def test_is_a_valid_blendshape_rig_in_arkit_order(rig):
    rig.validate()
    assert rig.kind == "blendshape"
    assert rig.shape_names == ARKIT52
    assert np.allclose(rig.arkit_map, np.eye(52))
    assert 2000 <= rig.num_vertices <= 10000
    assert np.isfinite(rig.template_mm).all() and np.isfinite(rig.deltas_mm).all()
    assert rig.part_ids.dtype == np.uint8 and rig.part_ids.shape == (rig.num_vertices,)
    for part in (PART_LIPS, PART_IRIS, PART_MOUTH_INTERIOR, PART_TEETH):
        assert (rig.part_ids == part).any()


def test_registered_as_builtin():
    assert get_rig("dtface").num_vertices > 2000


def test_head_size_in_mm_and_faces_forward(rig):
    v = rig.template_mm
    width, height = np.ptp(v[:, 0]), v[:, 1].max() - v[v[:, 2] > 60, 1].min()
    assert 140 <= width <= 160
    assert 210 <= height <= 250  # crown to chin
    nose_tip = v[rig.landmarks68[30]]
    assert nose_tip[2] > 100 and abs(nose_tip[0]) < 1e-3  # the face looks toward +Z


def test_triangles_are_sound_and_wind_outward(rig):
    v, f = rig.template_mm.astype(np.float64), rig.faces
    tri = v[f]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(normal, axis=1)
    assert area.min() > 1e-4, "degenerate triangle"
    skin = get_skin_faces(rig)
    centroid = tri[skin].mean(1)
    outward = np.einsum("ij,ij->i", normal[skin], centroid - np.array([0.0, 0.0, 0.0]))
    assert (outward > 0).mean() > 0.97  # counter-clockwise seen from outside


def get_skin_faces(rig):
    skin = rig.regions["skin"]
    mask = np.zeros(rig.num_vertices, bool)
    mask[skin] = True
    return mask[rig.faces].all(1)


def test_every_target_moves_plausibly(rig):
    max_mm = np.linalg.norm(rig.deltas_mm, axis=2).max(axis=1)  # (52,)
    for name, m in zip(ARKIT52, max_mm):
        assert 1.0 <= m <= 40.0, f"{name} moves at most {m:.2f} mm"


def test_left_and_right_targets_are_mirror_images(rig, mesh):
    v = rig.template_mm
    assert np.allclose(v[mesh.mirror] * MIRROR_X, v, atol=1e-3)
    for name in ARKIT52:
        if name.endswith("Left"):
            left, right = delta(rig, name), delta(rig, name[:-4] + "Right")
            assert np.allclose(left[mesh.mirror] * MIRROR_X, right, atol=1e-3), name
    assert np.allclose(delta(rig, "jawLeft")[mesh.mirror] * MIRROR_X, delta(rig, "jawRight"), atol=1e-3)
    # Symmetric shapes stay symmetric.
    for name in ("jawOpen", "mouthClose", "mouthPucker", "mouthFunnel", "browInnerUp", "cheekPuff", "tongueOut"):
        d = delta(rig, name)
        assert np.allclose(d[mesh.mirror] * MIRROR_X, d, atol=1e-3), name


def test_jaw_open_drops_the_chin_and_opens_the_lips(rig, mesh):
    lm = rig.landmarks68
    chin_drop = -delta(rig, "jawOpen")[lm[8], 1]
    assert 10.0 <= chin_drop <= 25.0
    upper, lower = lm[62], lm[66]  # inner-lip midpoints
    gap_rest = np.linalg.norm(rig.template_mm[upper] - rig.template_mm[lower])
    opened = posed(rig, "jawOpen")
    gap_open = np.linalg.norm(opened[upper] - opened[lower])
    assert gap_rest < 2.0 and gap_open > gap_rest + 8.0
    # The lower teeth go with the jaw, the upper ones stay.
    assert delta(rig, "jawOpen")[mesh.parts["teeth_lower"], 1].mean() < -8.0
    assert np.abs(delta(rig, "jawOpen")[mesh.parts["teeth_upper"]]).max() < 1e-6


def test_mouth_close_brings_the_lips_together_over_an_open_jaw(rig):
    lm = rig.landmarks68
    both = rig.template_mm + delta(rig, "jawOpen") + delta(rig, "mouthClose")
    for up, low in ((61, 67), (62, 66), (63, 65)):
        assert np.linalg.norm(both[lm[up]] - both[lm[low]]) < 0.5


@pytest.mark.parametrize("side, closed_eye, open_eye", [("Left", 42, 39), ("Right", 39, 42)])
def test_blink_closes_one_eye_fully(rig, mesh, side, closed_eye, open_eye):
    slit = mesh.head.eye_left if side == "Left" else mesh.head.eye_right
    v = posed(rig, "eyeBlink" + side)
    lid_gap = np.linalg.norm(v[slit.upper_rim] - v[slit.lower_rim], axis=1)
    assert lid_gap.max() < 0.3, "upper lid reaches the lower lid"
    rest_gap = np.linalg.norm(rig.template_mm[slit.upper_rim] - rig.template_mm[slit.lower_rim], axis=1)
    assert rest_gap.max() > 7.0
    d = delta(rig, "eyeBlink" + side)
    other = mesh.head.eye_right if side == "Left" else mesh.head.eye_left
    assert np.abs(d[np.concatenate([other.upper_rim, other.lower_rim])]).max() < 0.05
    assert np.sign(rig.template_mm[slit.upper_rim, 0].mean()) == (1 if side == "Left" else -1)  # left is +X


def test_gaze_turns_the_iris(rig, mesh):
    iris = mesh.parts["eyeball_left"][rig.part_ids[mesh.parts["eyeball_left"]] == PART_IRIS]
    assert delta(rig, "eyeLookUpLeft")[iris, 1].mean() > 2.0
    assert delta(rig, "eyeLookDownLeft")[iris, 1].mean() < -2.0
    assert delta(rig, "eyeLookOutLeft")[iris, 0].mean() > 2.0  # the left eye looks out toward +X
    assert delta(rig, "eyeLookInLeft")[iris, 0].mean() < -2.0


def test_smile_raises_its_own_corner(rig):
    lm = rig.landmarks68
    left_corner, right_corner = lm[54], lm[48]
    d = delta(rig, "mouthSmileLeft")
    assert rig.template_mm[left_corner, 0] > 0
    assert d[left_corner, 1] > 4.0 and d[left_corner, 2] < 0.0  # up and back
    assert abs(d[right_corner, 1]) < 0.5
    assert delta(rig, "mouthFrownLeft")[left_corner, 1] < -4.0


def test_pucker_and_funnel_push_the_lips_forward_and_in(rig):
    lm = rig.landmarks68

    def width(v):
        return v[lm[54], 0] - v[lm[48], 0]

    for name in ("mouthPucker", "mouthFunnel"):
        v = posed(rig, name)
        assert v[lm[51], 2] - rig.template_mm[lm[51], 2] > 5.0
        assert width(v) < width(rig.template_mm) - 4.0
    funnel, pucker = posed(rig, "mouthFunnel"), posed(rig, "mouthPucker")
    assert np.linalg.norm(funnel[lm[62]] - funnel[lm[66]]) > np.linalg.norm(pucker[lm[62]] - pucker[lm[66]]) + 4.0


def test_brows_and_tongue(rig, mesh):
    lm = rig.landmarks68
    assert delta(rig, "browInnerUp")[lm[21], 1] > 5.0 and delta(rig, "browInnerUp")[lm[22], 1] > 5.0
    assert delta(rig, "browDownLeft")[lm[24], 1] < -3.0
    assert delta(rig, "browOuterUpLeft")[lm[26], 1] > 3.0
    tongue = mesh.parts["tongue"]
    tip = tongue[np.argmax(rig.template_mm[tongue, 2])]
    assert posed(rig, "tongueOut")[tip, 2] > rig.template_mm[lm[62], 2]  # the tip passes the lips


def test_landmarks_follow_ibug_order(rig):
    lm = rig.landmarks68
    v = rig.template_mm
    assert lm.shape == (68,) and lm.min() >= 0 and lm.max() < rig.num_vertices
    x = v[lm, 0]
    # Subject's right (-X) comes first in each left/right pair.
    pairs = [(0, 16), (4, 12), (17, 26), (21, 22), (31, 35), (36, 45), (39, 42), (48, 54), (60, 64)]
    for right, left in pairs:
        assert x[right] < 0 < x[left] and abs(x[right] + x[left]) < 1.0, (right, left)
    assert np.all(np.diff(x[0:9]) > 0) and np.all(np.diff(x[17:22]) > 0)
    assert v[lm[8], 1] < v[lm[57], 1] < v[lm[51], 1] < v[lm[33], 1] < v[lm[30], 1] < v[lm[27], 1] < v[lm[19], 1]
    assert v[lm[37], 1] > v[lm[41], 1] and v[lm[62], 1] > v[lm[66], 1]


def test_regions(rig):
    for name in ("lips", "upper_face", "eyes", "jaw", "mouth_interior"):
        assert rig.regions[name].size > 0, name
    v = rig.template_mm
    assert v[rig.regions["lips"], 1].max() < v[rig.landmarks68[33], 1]
    assert v[rig.regions["upper_face"], 1].min() > v[rig.landmarks68[33], 1]
    interior_parts = set(np.unique(rig.part_ids[rig.regions["mouth_interior"]]).tolist())
    assert interior_parts <= {PART_MOUTH_INTERIOR, PART_TEETH, PART_LIPS}  # cavity, teeth, tongue
