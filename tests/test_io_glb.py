"""glb exporter/reader, the GLB container, and Rig.from_gltf; pygltflib is the independent oracle."""
from __future__ import annotations

import base64
import json
import struct

import numpy as np
import pytest

from dtsdk.animation import Animation
from dtsdk.errors import ExportError, FormatError, RigError
from dtsdk.io import get_exporter
from dtsdk.io.glb import build_gltf, head_pose_to_quaternions, quaternions_to_head_pose
from dtsdk.utils.gltf_container import GltfBuffer, load_gltf, pack_glb, read_accessor
from dtsdk.rigs import Rig
from dtsdk.rigs.arkit import ARKIT52
from dtsdk.rigs.gltf import arkit_name_for_target

pygltflib = pytest.importorskip("pygltflib")
from pygltflib.validator import validate  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:pygltf.utils.validator is a provisional")

TETRA_MM = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0], [0, 0, 100]], np.float32)  # (4, 3)
TETRA_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int32)
NUMPY_OF = {5121: np.uint8, 5123: np.uint16, 5125: np.uint32, 5126: np.float32}
WIDTH_OF = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}


def tetra_rig(names=("jawOpen", "mouthClose", "eyeBlinkLeft"), part_ids=True) -> Rig:
    deltas = np.random.default_rng(0).normal(0, 5, (len(names), 4, 3)).astype(np.float32)
    return Rig("tetra", "blendshape", names, TETRA_MM, TETRA_FACES, deltas,
               part_ids=np.array([0, 1, 2, 3], np.uint8) if part_ids else None)


def tetra_animation(rig: Rig, frames=12, fps=30.0, head=True) -> Animation:
    rng = np.random.default_rng(1)
    pose = rng.normal(0, 0.3, (frames, 3)) if head else None
    return Animation(rng.random((frames, len(rig.shape_names))), rig.shape_names, fps, rig.name, pose)


def oracle_accessor(gltf, index: int) -> np.ndarray:
    """Decode an accessor with pygltflib's blob and plain numpy (independent of dtsdk's reader)."""
    acc = gltf.accessors[index]
    view = gltf.bufferViews[acc.bufferView]
    blob = gltf.binary_blob()
    dtype = np.dtype(NUMPY_OF[acc.componentType])
    start = (view.byteOffset or 0) + (acc.byteOffset or 0)
    width = WIDTH_OF[acc.type]
    return np.frombuffer(blob, dtype, acc.count * width, start).reshape(acc.count, width)


@pytest.fixture
def written(tmp_path):
    rig = tetra_rig()
    anim = tetra_animation(rig)
    path = tmp_path / "take.glb"
    anim.save(path, rig=rig)
    return rig, anim, path


def test_glb_passes_pygltflib_and_spec_rules(written):
    rig, anim, path = written
    gltf = pygltflib.GLTF2().load(str(path))
    validate(gltf)
    assert gltf.asset.version == "2.0"
    raw = path.read_bytes()
    magic, version, length = struct.unpack_from("<III", raw)
    assert (magic, version, length) == (0x46546C67, 2, len(raw)) and length % 4 == 0
    json_length, json_type = struct.unpack_from("<II", raw, 12)
    assert json_type == 0x4E4F534A and json_length % 4 == 0
    for view in gltf.bufferViews:
        assert view.byteOffset % 4 == 0 and view.byteStride is None  # one tightly packed accessor per view
    prim = gltf.meshes[0].primitives[0]
    for accessor_index in [prim.attributes.POSITION] + [t["POSITION"] for t in prim.targets]:
        acc = gltf.accessors[accessor_index]
        data = oracle_accessor(gltf, accessor_index)
        assert acc.componentType == 5126 and acc.type == "VEC3"
        np.testing.assert_allclose(acc.min, data.min(axis=0), rtol=1e-6)
        np.testing.assert_allclose(acc.max, data.max(axis=0), rtol=1e-6)
        assert gltf.bufferViews[acc.bufferView].target == 34962
    assert gltf.bufferViews[gltf.accessors[prim.indices].bufferView].target == 34963
    np.testing.assert_allclose(oracle_accessor(gltf, prim.attributes.POSITION), rig.template_mm / 1000, rtol=1e-6)
    np.testing.assert_array_equal(oracle_accessor(gltf, prim.indices).reshape(-1, 3), rig.faces)
    normals = oracle_accessor(gltf, prim.attributes.NORMAL)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, rtol=1e-5)
    assert prim.attributes.COLOR_0 is not None and prim.mode == 4


def test_glb_morph_targets_and_animation(written):
    rig, anim, path = written
    gltf = pygltflib.GLTF2().load(str(path))
    mesh = gltf.meshes[0]
    assert len(mesh.primitives[0].targets) == 3 and mesh.weights == [0, 0, 0]
    assert mesh.extras["targetNames"] == list(rig.shape_names)
    for k, target in enumerate(mesh.primitives[0].targets):
        np.testing.assert_allclose(oracle_accessor(gltf, target["POSITION"]), rig.deltas_mm[k] / 1000, atol=1e-9)
    animation = gltf.animations[0]
    paths = {c.target.path: c for c in animation.channels}
    assert set(paths) == {"weights", "rotation"} and all(c.target.node == 0 for c in animation.channels)
    weights_sampler = animation.samplers[paths["weights"].sampler]
    assert weights_sampler.interpolation == "LINEAR"
    times = gltf.accessors[weights_sampler.input]
    assert times.count == 12 and times.min == [0.0] and times.max[0] == pytest.approx(11 / 30)
    output = oracle_accessor(gltf, weights_sampler.output)
    assert output.shape == (12 * 3, 1)
    np.testing.assert_allclose(output.reshape(12, 3), anim.weights, rtol=1e-6)
    rotation = gltf.accessors[animation.samplers[paths["rotation"].sampler].output]
    assert rotation.type == "VEC4" and rotation.count == 12


def test_glb_round_trip(written):
    rig, anim, path = written
    back = Animation.load(path)
    assert back.names == anim.names and back.fps == anim.fps and back.rig == "tetra"
    np.testing.assert_allclose(back.weights, anim.weights, atol=1e-6)
    np.testing.assert_allclose(back.head_pose, anim.head_pose, atol=1e-5)


def test_head_pose_quaternion_convention():
    yaw, pitch, roll = 0.4, -0.3, 0.2
    q = head_pose_to_quaternions(np.array([[yaw, pitch, roll]]))[0].astype(np.float64)
    x, y, z, w = q
    from_q = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                       [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                       [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])
    c, s = np.cos, np.sin
    ry = np.array([[c(yaw), 0, s(yaw)], [0, 1, 0], [-s(yaw), 0, c(yaw)]])
    rx = np.array([[1, 0, 0], [0, c(pitch), -s(pitch)], [0, s(pitch), c(pitch)]])
    rz = np.array([[c(roll), -s(roll), 0], [s(roll), c(roll), 0], [0, 0, 1]])
    np.testing.assert_allclose(from_q, ry @ rx @ rz, atol=1e-6)
    assert (ry @ [0, 0, 1])[0] > 0  # positive yaw turns the +Z face toward +X, the subject's left
    np.testing.assert_allclose(quaternions_to_head_pose(q[None]), [[yaw, pitch, roll]], atol=1e-6)


def test_glb_without_head_pose_or_part_ids(tmp_path):
    rig = tetra_rig(part_ids=False)
    anim = tetra_animation(rig, head=False)
    anim.save(tmp_path / "a.glb", rig=rig)
    gltf = pygltflib.GLTF2().load(str(tmp_path / "a.glb"))
    validate(gltf)
    assert [c.target.path for c in gltf.animations[0].channels] == ["weights"]
    assert gltf.meshes[0].primitives[0].attributes.COLOR_0 is None
    assert Animation.load(tmp_path / "a.glb").head_pose is None


def test_glb_retargets_arkit_animation_onto_rig(tmp_path):
    rig = tetra_rig()
    anim = Animation.zeros(5, fps=60)
    anim.weights[:, ARKIT52.index("jawOpen")] = 0.7
    anim.save(tmp_path / "a.glb", rig=rig)
    back = Animation.load(tmp_path / "a.glb")
    assert back.rig == "tetra" and back.fps == 60
    np.testing.assert_allclose(back.weights[:, 0], 0.7, atol=1e-6)
    np.testing.assert_allclose(back.arkit_weights(), anim.arkit_weights(), atol=1e-6)


def test_glb_rejects_what_it_cannot_hold(tmp_path):
    with pytest.raises(ExportError, match="per-vertex motion"):
        Animation(np.zeros((3, 12)), (), 30, rig="v").save(tmp_path / "v.glb")
    vertex_rig = Rig("tetra-vertex", "vertex", (), TETRA_MM, TETRA_FACES)
    with pytest.raises(ExportError, match="vertex rig"):
        Animation.zeros(3).save(tmp_path / "a.glb", rig=vertex_rig)
    with pytest.raises(ExportError, match=r"\.gltf is read-only"):
        Animation.zeros(3).save(tmp_path / "a.gltf", rig=tetra_rig())
    with pytest.raises(ExportError, match="no frames"):
        Animation.zeros(0).save(tmp_path / "e.glb", rig=tetra_rig())
    assert not list(tmp_path.iterdir())


def test_extension_dispatch():
    assert get_exporter(path="x.glb").name == "glb" and get_exporter(path="x.GLTF").name == "glb"


# ---- .gltf variants and the container reader ---------------------------------------------------
def _gltf_json(written_path):
    doc = load_gltf(written_path)
    return dict(doc.json), doc.buffers[0]


def test_reads_gltf_with_embedded_base64(written, tmp_path):
    _, anim, path = written
    document, binary = _gltf_json(path)
    document["buffers"] = [{"byteLength": len(binary),
                            "uri": "data:application/octet-stream;base64," + base64.b64encode(binary).decode()}]
    (tmp_path / "embedded.gltf").write_text(json.dumps(document))
    back = Animation.load(tmp_path / "embedded.gltf")
    np.testing.assert_allclose(back.weights, anim.weights, atol=1e-6)


def test_reads_gltf_with_external_bin(written, tmp_path):
    _, anim, path = written
    document, binary = _gltf_json(path)
    document["buffers"] = [{"byteLength": len(binary), "uri": "take%20data.bin"}]
    (tmp_path / "take data.bin").write_bytes(binary)
    (tmp_path / "external.gltf").write_text(json.dumps(document))
    back = Animation.load(tmp_path / "external.gltf")
    np.testing.assert_allclose(back.weights, anim.weights, atol=1e-6)
    (tmp_path / "take data.bin").unlink()
    with pytest.raises(FormatError, match="external.gltf: buffers\\[0\\] refers to 'take%20data.bin'"):
        Animation.load(tmp_path / "external.gltf")


def test_reader_handles_strides_normalized_and_sparse(tmp_path):
    # Hand-made buffer: 3 interleaved VEC3 floats (stride 16), 4 normalized ubytes, a sparse accessor.
    interleaved = np.zeros((3, 4), np.float32)
    interleaved[:, :3] = np.arange(9).reshape(3, 3)
    ubytes = np.array([0, 51, 255, 255], np.uint8)
    sparse_idx = np.array([1, 3], np.uint16)
    sparse_val = np.array([5.0, 7.0], np.float32)
    blob = interleaved.tobytes() + ubytes.tobytes() + sparse_idx.tobytes() + sparse_val.tobytes()
    document = {
        "asset": {"version": "2.0"},
        "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 48, "byteStride": 16},
                        {"buffer": 0, "byteOffset": 48, "byteLength": 4},
                        {"buffer": 0, "byteOffset": 52, "byteLength": 4},
                        {"buffer": 0, "byteOffset": 56, "byteLength": 8}],
        "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3"},
                      {"bufferView": 1, "componentType": 5121, "count": 4, "type": "SCALAR", "normalized": True},
                      {"componentType": 5126, "count": 5, "type": "SCALAR",
                       "sparse": {"count": 2, "indices": {"bufferView": 2, "componentType": 5123},
                                  "values": {"bufferView": 3}}}],
    }
    (tmp_path / "t.glb").write_bytes(pack_glb(document, blob))
    doc = load_gltf(tmp_path / "t.glb")
    np.testing.assert_array_equal(read_accessor(doc, 0), np.arange(9).reshape(3, 3))
    np.testing.assert_allclose(read_accessor(doc, 1), [0, 0.2, 1, 1])
    np.testing.assert_array_equal(read_accessor(doc, 2), [0, 5, 0, 7, 0])
    with pytest.raises(FormatError, match="accessors\\[9\\], which does not exist"):
        read_accessor(doc, 9)


def test_gltf_buffer_pads_every_view():
    buffer = GltfBuffer()
    buffer.add(np.array([1, 2, 3], np.uint16), "SCALAR")
    buffer.add(np.zeros((2, 3), np.float32), "VEC3", with_min_max=True)
    assert buffer.buffer_views[1]["byteOffset"] == 8 and len(buffer.binary()) % 4 == 0
    assert buffer.accessors[1]["min"] == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("content, problem", [
    (b"", "neither a GLB"),
    (b"glTF\x02\x00\x00\x00\xff\x00\x00\x00" + b"\x00" * 8, "truncated GLB"),
    (b"glTF\x01\x00\x00\x00\x14\x00\x00\x00" + b"\x00" * 8, "container version 1"),
    (b'{"asset": {"version": "1.0"}}', "glTF version 1.0"),
    (b'{"no": "asset"}', "no 'asset'"),
    (b"\x00\x01binary junk", "neither a GLB"),
])
def test_malformed_gltf(tmp_path, content, problem):
    path = tmp_path / "bad.glb"
    path.write_bytes(content)
    with pytest.raises(FormatError, match=f"bad.glb: .*{problem}"):
        Animation.load(path)


def test_truncated_real_glb(written, tmp_path):
    data = written[2].read_bytes()
    (tmp_path / "cut.glb").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError, match="cut.glb: truncated GLB"):
        Animation.load(tmp_path / "cut.glb")


def test_glb_without_animation(tmp_path):
    document, binary = build_gltf(tetra_rig(), np.zeros((2, 3), np.float32), 30, None, {})
    del document["animations"]
    (tmp_path / "static.glb").write_bytes(pack_glb(document, binary))
    with pytest.raises(FormatError, match="static.glb: no animation with a morph-target 'weights' channel"):
        Animation.load(tmp_path / "static.glb")


# ---- Rig.from_gltf -------------------------------------------------------------------------------
@pytest.mark.parametrize("name, expected", [
    ("jawOpen", "jawOpen"), ("JAWOPEN", "jawOpen"), ("blendShape1.jawOpen", "jawOpen"),
    ("A25_Jaw_Open", "jawOpen"), ("Mouth_Smile_Left", "mouthSmileLeft"), ("smile", None), ("Eye_Blink_L", None),
])
def test_arkit_name_for_target(name, expected):
    assert arkit_name_for_target(name) == expected


def test_rig_from_gltf_round_trip(tmp_path):
    names = ("blendShape1.jawOpen", "blendShape1.mouthClose", "customWrinkle")
    rig = tetra_rig(names=names)
    anim = tetra_animation(rig, head=False)
    anim.save(tmp_path / "avatar.glb", rig=rig)
    loaded = Rig.from_gltf(tmp_path / "avatar.glb")
    assert loaded.name == "avatar" and loaded.kind == "blendshape"
    assert loaded.shape_names == ("jawOpen", "mouthClose", "customWrinkle")
    assert loaded.arkit_map[2].sum() == 0 and loaded.arkit_map[0, ARKIT52.index("jawOpen")] == 1
    np.testing.assert_allclose(loaded.template_mm, rig.template_mm, atol=1e-4)
    np.testing.assert_array_equal(loaded.faces, rig.faces)
    np.testing.assert_allclose(loaded.decode(anim.weights), rig.decode(anim.weights), atol=1e-3)
    assert Rig.from_gltf(tmp_path / "avatar.glb", name="mine").name == "mine"


def test_rig_from_gltf_merges_primitives(tmp_path):
    rig = tetra_rig()
    document, binary = build_gltf(rig, np.zeros((2, 3), np.float32), 30, None, {})
    first = document["meshes"][0]["primitives"][0]
    # A second primitive over its own copy of the vertices (new accessors), as multi-material avatars do.
    second = json.loads(json.dumps(first))
    buffer = GltfBuffer()
    buffer.accessors, buffer.buffer_views = document["accessors"], document["bufferViews"]
    buffer._parts, buffer._length = [binary], len(binary)
    second["attributes"] = {"POSITION": buffer.add(rig.template_mm / 1000 + 1, "VEC3", 34962, with_min_max=True)}
    second["targets"] = [{"POSITION": t["POSITION"]} for t in first["targets"]]
    second["indices"] = buffer.add(np.array([0, 1, 2], np.uint16), "SCALAR", 34963)
    document["meshes"][0]["primitives"].append(second)
    (tmp_path / "two.glb").write_bytes(pack_glb(document, buffer.binary()))
    loaded = Rig.from_gltf(tmp_path / "two.glb")
    assert loaded.num_vertices == 8 and len(loaded.faces) == 5
    np.testing.assert_array_equal(loaded.faces[4], [4, 5, 6])
    np.testing.assert_allclose(loaded.template_mm[4:], rig.template_mm + 1000, atol=1e-3)
    np.testing.assert_allclose(loaded.deltas_mm[:, 4:], rig.deltas_mm, atol=1e-4)


def test_rig_from_gltf_needs_arkit_names(tmp_path):
    rig = tetra_rig(names=("smile", "frown", "wink"))
    Animation(np.zeros((2, 3)), rig.shape_names, 30, "tetra").save(tmp_path / "plain.glb", rig=rig)
    with pytest.raises(RigError, match="plain.glb: cannot make an ARKit blendshape rig: its morph targets have no"):
        Rig.from_gltf(tmp_path / "plain.glb")
    document, binary = build_gltf(rig, np.zeros((2, 3), np.float32), 30, None, {})
    del document["meshes"][0]["primitives"][0]["targets"]
    (tmp_path / "notargets.glb").write_bytes(pack_glb(document, binary))
    with pytest.raises(RigError, match="no mesh with morph targets"):
        Rig.from_gltf(tmp_path / "notargets.glb")


# ---- with the built-in dtface rig, once it exists --------------------------------------------------
def _dtface():
    from dtsdk.errors import DtsdkError
    from dtsdk.rigs import get_rig

    try:
        return get_rig("dtface")
    except (DtsdkError, ImportError) as exc:
        pytest.skip(f"dtface rig not available yet: {exc}")


def test_arkit_animation_goes_on_dtface_by_default(tmp_path):
    dtface = _dtface()
    anim = Animation.zeros(10, fps=30)
    anim.weights[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, 10)
    anim.save(tmp_path / "d.glb")
    gltf = pygltflib.GLTF2().load(str(tmp_path / "d.glb"))
    validate(gltf)
    assert len(gltf.meshes[0].primitives[0].targets) == len(dtface.shape_names)
    back = Animation.load(tmp_path / "d.glb")
    np.testing.assert_allclose(back.arkit_weights(), anim.arkit_weights(), atol=1e-6)
    loaded = Rig.from_gltf(tmp_path / "d.glb")
    np.testing.assert_allclose(loaded.decode(back.weights), anim.to_vertices(), atol=1e-2)
