"""npz (lossless dtsdk archive) and npy (FaceFormer/VOCASET-style vertex arrays)."""
from __future__ import annotations

import numpy as np
import pytest

from dtsdk.animation import Animation
from dtsdk.errors import ExportError, FormatError
from dtsdk.io import get_exporter
from dtsdk.rigs import Rig
from dtsdk.rigs.arkit import ARKIT52

TETRA_MM = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0], [0, 0, 100]], np.float32)  # (4, 3)
TETRA_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int32)


def tetra_blendshape_rig() -> Rig:
    deltas = np.zeros((3, 4, 3), np.float32)
    deltas[0, 3, 2] = 10.0  # jawOpen moves the apex up
    deltas[1, 1, 0] = -5.0
    deltas[2, 2, 1] = 7.0
    return Rig("tetra", "blendshape", ("jawOpen", "mouthClose", "eyeBlinkLeft"), TETRA_MM, TETRA_FACES, deltas)


def tetra_vertex_rig() -> Rig:
    return Rig("tetra-vertex", "vertex", (), TETRA_MM, TETRA_FACES)


def random_arkit(frames=40, fps=30.0, head=True, seed=0) -> Animation:
    rng = np.random.default_rng(seed)
    pose = rng.normal(0, 0.1, (frames, 3)) if head else None
    return Animation(rng.random((frames, 52)), ARKIT52, fps, head_pose=pose, meta={"speaker": "a", "n": 3})


def test_npz_round_trip_is_lossless(tmp_path):
    anim = random_arkit()
    path = tmp_path / "clip.npz"
    anim.save(path)
    back = Animation.load(path)
    np.testing.assert_array_equal(back.weights, anim.weights)
    np.testing.assert_array_equal(back.head_pose, anim.head_pose)
    assert back.names == anim.names and back.fps == anim.fps and back.rig == anim.rig
    assert back.meta == anim.meta


def test_npz_vertex_animation_without_head_pose(tmp_path):
    anim = Animation(np.ones((5, 12)), (), 25, rig="tetra-vertex")
    anim.save(tmp_path / "v.npz")
    back = Animation.load(tmp_path / "v.npz")
    assert back.names == () and back.head_pose is None and back.weights.shape == (5, 12)


def test_npz_is_read_without_pickle(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, weights=np.zeros((2, 2)), names=np.array([{"a": 1}, None], dtype=object),
             fps=np.array(30.0), rig=np.array("x"))
    with pytest.raises(FormatError, match="evil.npz"):
        Animation.load(path)


@pytest.mark.parametrize("content", [b"not a zip", b""])
def test_npz_malformed(tmp_path, content):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(FormatError, match="bad.npz"):
        Animation.load(path)


def test_npz_missing_arrays(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, something=np.zeros(3))
    with pytest.raises(FormatError, match="missing weights"):
        Animation.load(path)


def test_npy_blendshape_animation_writes_decoded_vertices(tmp_path):
    rig = tetra_blendshape_rig()
    anim = Animation(np.random.default_rng(1).random((6, 3)), rig.shape_names, 30, rig="tetra")
    path = tmp_path / "verts.npy"
    anim.save(path, rig=rig)
    data = np.load(path)
    assert data.dtype == np.float32 and data.shape == (6, 12)
    np.testing.assert_allclose(data * 1000, rig.decode(anim.weights).reshape(6, 12), atol=1e-3)
    np.save(tmp_path / "mm.npy", np.zeros(1))
    anim.save(tmp_path / "mm.npy", rig=rig, unit="mm")
    np.testing.assert_allclose(np.load(tmp_path / "mm.npy"), data * 1000, rtol=1e-6)


def test_npy_vertex_rig_round_trip(tmp_path):
    rig = tetra_vertex_rig()
    motion = np.random.default_rng(2).normal(0, 2, (8, 12))
    anim = Animation(motion, (), 30, rig="tetra-vertex")
    path = tmp_path / "v.npy"
    anim.save(path, rig=rig)
    back = Animation.load(path, rig=rig, fps=30)
    assert back.rig == "tetra-vertex" and back.names == ()
    np.testing.assert_allclose(back.weights, anim.weights, atol=1e-3)
    raw = Animation.load(path, raw=True)
    np.testing.assert_allclose(raw.weights, rig.decode(motion).reshape(8, 12), atol=1e-3)


def test_npy_read_needs_a_rig_or_raw(tmp_path):
    np.save(tmp_path / "v.npy", np.zeros((3, 12), np.float32))
    with pytest.raises(FormatError, match="rig=<vertex rig>"):
        Animation.load(tmp_path / "v.npy")
    with pytest.raises(FormatError, match="blendshape rig"):
        Animation.load(tmp_path / "v.npy", rig=tetra_blendshape_rig())
    with pytest.raises(FormatError, match="5 vertices per frame, but rig .tetra-vertex. has 4"):
        np.save(tmp_path / "w.npy", np.zeros((3, 12 + 3), np.float32))
        Animation.load(tmp_path / "w.npy", rig=tetra_vertex_rig())


def test_npy_malformed(tmp_path):
    (tmp_path / "bad.npy").write_bytes(b"garbage")
    with pytest.raises(FormatError, match="bad.npy"):
        Animation.load(tmp_path / "bad.npy", raw=True)
    np.save(tmp_path / "odd.npy", np.zeros((3, 7), np.float32))
    with pytest.raises(FormatError, match="odd.npy"):
        Animation.load(tmp_path / "odd.npy", raw=True)


def test_npy_rejects_animation_it_cannot_decode(tmp_path):
    anim = Animation(np.zeros((3, 12)), (), 30, rig="tetra-vertex")
    with pytest.raises(ExportError, match="x.npy"):
        anim.save(tmp_path / "x.npy", rig=tetra_blendshape_rig())
    assert not list(tmp_path.iterdir())


def test_extensions_dispatch():
    assert get_exporter(path="a/b.NPZ").name == "npz"
    assert get_exporter(path="b.npy").name == "npy"
