"""Audio2Face JSON and OBJ sequences."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dtsdk.animation import Animation
from dtsdk.errors import ExportError, FormatError
from dtsdk.io import get_exporter
from dtsdk.io.obj_seq import frame_file_name
from dtsdk.rigs import Rig
from dtsdk.rigs.arkit import ARKIT52

TETRA_MM = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0], [0, 0, 100]], np.float32)  # (4, 3)
TETRA_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int32)


def tetra_rig() -> Rig:
    deltas = np.random.default_rng(0).normal(0, 5, (3, 4, 3)).astype(np.float32)
    return Rig("tetra", "blendshape", ("jawOpen", "mouthClose", "eyeBlinkLeft"), TETRA_MM, TETRA_FACES, deltas)


def read_obj(path):
    vertices, faces = [], []
    for line in path.read_text().splitlines():
        if line.startswith("v "):
            vertices.append([float(x) for x in line.split()[1:]])
        elif line.startswith("f "):
            faces.append([int(x) for x in line.split()[1:]])
    return np.array(vertices), np.array(faces)


# ---- Audio2Face JSON ---------------------------------------------------------------------------
def test_a2f_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    anim = Animation(rng.random((25, 52)), ARKIT52, 30, meta={"audio": "speech.wav"})
    path = tmp_path / "a2f.json"
    anim.save(path)
    document = json.loads(path.read_text())
    assert document["exportFps"] == 30 and document["trackPath"] == "speech.wav"
    assert document["numPoses"] == 52 and document["numFrames"] == 25
    assert document["facsNames"] == list(ARKIT52)
    assert np.array(document["weightMat"]).shape == (25, 52)
    back = Animation.load(path)
    assert back.names == ARKIT52 and back.fps == 30 and back.rig == "arkit52"
    np.testing.assert_allclose(back.weights, anim.weights, atol=5.1e-7)


def test_a2f_keeps_custom_rig_channels(tmp_path):
    anim = Animation(np.full((3, 2), 1.25), ("smile", "frown"), 24, rig="custom")
    anim.save(tmp_path / "c.json", track_path="/World/audio2face/track")
    back = Animation.load(tmp_path / "c.json", rig="custom")
    assert back.names == ("smile", "frown") and back.rig == "custom" and back.meta["track_path"].endswith("track")
    np.testing.assert_allclose(back.weights, 1.25)


@pytest.mark.parametrize("document, problem", [
    ("not json", "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    ('{"exportFps": 30}', "missing numPoses, numFrames, facsNames, weightMat"),
    ('{"exportFps": 30, "numPoses": 2, "numFrames": 1, "facsNames": ["a"], "weightMat": [[0, 0]]}',
     "numPoses is 2 but facsNames has 1"),
    ('{"exportFps": 30, "numPoses": 1, "numFrames": 2, "facsNames": ["a"], "weightMat": [[0]]}',
     "numFrames is 2 but weightMat has 1 rows"),
    ('{"exportFps": 30, "numPoses": 2, "numFrames": 2, "facsNames": ["a", "b"], "weightMat": [[0, 1], [0]]}',
     "weightMat row 1 has 1 values"),
    ('{"exportFps": 30, "numPoses": 1, "numFrames": 1, "facsNames": ["a"], "weightMat": [["x"]]}',
     "not numbers"),
    ('{"exportFps": 0, "numPoses": 1, "numFrames": 1, "facsNames": ["a"], "weightMat": [[0]]}', "fps"),
])
def test_a2f_malformed(tmp_path, document, problem):
    path = tmp_path / "bad.json"
    path.write_text(document)
    with pytest.raises(FormatError, match=f"bad.json: .*{problem}"):
        Animation.load(path)


def test_a2f_rejects_vertex_animation(tmp_path):
    with pytest.raises(ExportError, match="per-vertex"):
        Animation(np.zeros((2, 12)), (), 30, rig="v").save(tmp_path / "v.json")


# ---- OBJ sequences -----------------------------------------------------------------------------
def test_obj_seq_frames_match_decoded_vertices(tmp_path):
    rig = tetra_rig()
    anim = Animation(np.random.default_rng(2).random((7, 3)), rig.shape_names, 30, rig="tetra")
    folder = tmp_path / "seq"
    anim.save(folder, format="obj-seq", rig=rig)
    files = sorted(p.name for p in folder.iterdir())
    assert files == [f"frame_{i:05d}.obj" for i in range(1, 8)]
    expected = rig.decode(anim.weights)  # (T, V, 3) mm
    for t in (0, 6):
        vertices, faces = read_obj(folder / files[t])
        assert vertices.shape == (4, 3)
        np.testing.assert_allclose(vertices * 1000, expected[t], atol=1e-3)  # metres, 6 decimals
        np.testing.assert_array_equal(faces, rig.faces + 1)
    anim.save(folder, format="obj-seq", rig=rig, unit="mm")  # replaces the folder
    vertices, _ = read_obj(folder / "frame_00001.obj")
    np.testing.assert_allclose(vertices, expected[0], atol=1e-5)


def test_obj_seq_vertex_rig_and_arkit_retarget(tmp_path):
    vertex_rig = Rig("tetra-vertex", "vertex", (), TETRA_MM, TETRA_FACES)
    motion = np.random.default_rng(3).normal(0, 1, (3, 12))
    Animation(motion, (), 30, rig="tetra-vertex").save(tmp_path / "v", format="obj-seq", rig=vertex_rig)
    vertices, _ = read_obj(tmp_path / "v" / "frame_00002.obj")
    np.testing.assert_allclose(vertices * 1000, TETRA_MM + motion[1].reshape(4, 3), atol=1e-3)

    rig = tetra_rig()
    arkit = Animation.zeros(2)
    arkit.weights[:, ARKIT52.index("jawOpen")] = 1.0
    arkit.save(tmp_path / "a", format="obj-seq", rig=rig)
    vertices, _ = read_obj(tmp_path / "a" / "frame_00001.obj")
    np.testing.assert_allclose(vertices * 1000, TETRA_MM + rig.deltas_mm[0], atol=1e-3)


def test_obj_seq_errors(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        Animation.zeros(2).save(tmp_path / "file", format="obj-seq", rig=tetra_rig())
    with pytest.raises(ExportError, match="unit must be"):
        Animation.zeros(2).save(tmp_path / "x", format="obj-seq", rig=tetra_rig(), unit="cm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_obj_seq_is_format_only_and_cannot_be_read(tmp_path):
    exporter = get_exporter(format="obj-seq")
    assert exporter.extensions == () and exporter.writes_directory and not exporter.can_read
    assert frame_file_name(0, 10) == "frame_00001.obj" and frame_file_name(0, 123456) == "frame_000001.obj"
