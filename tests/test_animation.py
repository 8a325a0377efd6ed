"""Animation: validation, resampling, retargeting through ARKit-52, decoding to vertices."""
import numpy as np
import pytest

import dtsdk
from dtsdk import ARKIT52, Animation, Rig
from dtsdk.errors import DtsdkError, RigError


def ramp(frames=31, fps=30.0):
    w = np.zeros((frames, 52), np.float32)
    w[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, frames)
    return Animation(w, ARKIT52, fps, head_pose=np.zeros((frames, 3), np.float32))


def tiny_rig(shape_names=("JAWOPEN", "mouthSmileLeft", "customThing")):
    verts = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], np.float32)
    faces = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int32)
    deltas = np.zeros((len(shape_names), 4, 3), np.float32)
    for k in range(len(shape_names)):
        deltas[k, k, 1] = -(k + 1.0)
    return Rig("tiny", "blendshape", shape_names, verts, faces, deltas, regions={"lips": [0], "upper_face": [3]})


def test_rejects_inconsistent_input():
    with pytest.raises(DtsdkError, match="channels but"):
        Animation(np.zeros((3, 4)), ("a", "b"), 30)
    with pytest.raises(DtsdkError, match="NaN"):
        Animation(np.full((3, 2), np.nan), ("a", "b"), 30)
    with pytest.raises(DtsdkError, match="fps"):
        Animation(np.zeros((3, 2)), ("a", "b"), 0)
    with pytest.raises(DtsdkError, match="head_pose"):
        Animation(np.zeros((3, 2)), ("a", "b"), 30, head_pose=np.zeros((2, 3)))


def test_resample_keeps_duration_and_interpolates():
    anim = ramp(31, 30.0)  # jawOpen goes 0 -> 1 over 1.0333 s
    up = anim.resample(60.0)
    assert up.fps == 60.0 and up.num_frames == round(anim.duration_s * 60)
    jaw = up.weights[:, ARKIT52.index("jawOpen")]
    np.testing.assert_allclose(jaw[:60:2], anim.weights[:30, ARKIT52.index("jawOpen")], atol=1e-6)
    np.testing.assert_allclose(jaw[1], 0.5 / 30, atol=1e-6)  # halfway between frames 0 and 1
    assert up.head_pose.shape == (up.num_frames, 3)
    down = anim.resample(10.0)
    assert down.num_frames == round(anim.duration_s * 10)


def test_arkit_weights_match_names_case_insensitively():
    anim = Animation(np.array([[0.2, 0.7]], np.float32), ("JawOpen", "EYEBLINKLEFT"), 60)
    w = anim.arkit_weights()
    assert w[0, ARKIT52.index("jawOpen")] == pytest.approx(0.2)
    assert w[0, ARKIT52.index("eyeBlinkLeft")] == pytest.approx(0.7)
    assert w.sum() == pytest.approx(0.9)


def test_retarget_to_a_rig_by_name_and_decode():
    rig = tiny_rig()
    np.testing.assert_array_equal(rig.arkit_map.sum(1), [1, 1, 0])  # customThing has no ARKit source
    anim = ramp(11)
    on_rig = anim.to_rig(rig)
    assert on_rig.names == rig.shape_names and on_rig.rig == "tiny"
    np.testing.assert_allclose(on_rig.weights[:, 0], np.linspace(0, 1, 11), atol=1e-6)
    verts = anim.to_vertices(rig)
    assert verts.shape == (11, 4, 3)
    assert verts[-1, 0, 1] == pytest.approx(-1.0)  # jawOpen moves vertex 0 down by 1 mm at weight 1


def test_rig_validation_catches_mistakes():
    with pytest.raises(RigError, match="deltas_mm"):
        Rig("bad", "blendshape", ("a",), np.zeros((4, 3)), np.array([[0, 1, 2]]), np.zeros((2, 4, 3)))
    with pytest.raises(RigError, match="outside"):
        Rig("bad", "blendshape", ("a",), np.zeros((4, 3)), np.array([[0, 1, 9]]), np.zeros((1, 4, 3)))
    with pytest.raises(RigError, match="repeat"):
        Rig("bad", "motion", ("jawOpen", "JAWOPEN"))


def test_vertex_rig_decodes_offsets():
    verts = np.zeros((3, 3), np.float32)
    rig = Rig("flame-like", "vertex", template_mm=verts, faces=np.array([[0, 1, 2]]))
    assert rig.motion_dim == 9
    offsets = np.arange(18, dtype=np.float32).reshape(2, 9)
    np.testing.assert_allclose(rig.decode(offsets)[1], offsets[1].reshape(3, 3))
    with pytest.raises(RigError, match="no mapping from ARKit"):
        rig.from_arkit(np.zeros((1, 52)))


def test_arkit52_rig_is_canonical_and_meshless():
    rig = dtsdk.get_rig("arkit52")
    assert rig.shape_names == ARKIT52 and not rig.has_mesh
    np.testing.assert_array_equal(rig.arkit_map, np.eye(52))
    with pytest.raises(RigError, match="without a mesh"):
        rig.decode(np.zeros((1, 52)))


def test_arkit_names_are_apples():
    assert len(ARKIT52) == 52 and len(set(ARKIT52)) == 52
    assert ARKIT52[:2] == ("eyeBlinkLeft", "eyeLookDownLeft") and ARKIT52[-1] == "tongueOut"
    assert ARKIT52.index("jawOpen") == 17
