"""What every built-in format shares: registration, extension dispatch, atomic writes, the contract."""
from __future__ import annotations

import numpy as np
import pytest

import dtsdk.utils.atomic as atomic
from dtsdk.animation import Animation
from dtsdk.errors import ExportError, FormatError
from dtsdk.io import get_exporter, load_animation
from dtsdk.plugins import registry
from dtsdk.rigs import Rig
from dtsdk.rigs.arkit import ARKIT52

TETRA_MM = np.array([[0, 0, 0], [100, 0, 0], [0, 100, 0], [0, 0, 100]], np.float32)  # (4, 3)
TETRA_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], np.int32)
BUILTIN_FORMATS = {"npz", "npy", "llf-csv", "csv", "glb", "a2f-json", "obj-seq"}


def tetra_rig() -> Rig:
    deltas = np.random.default_rng(0).normal(0, 5, (3, 4, 3)).astype(np.float32)
    return Rig("tetra", "blendshape", ("jawOpen", "mouthClose", "eyeBlinkLeft"), TETRA_MM, TETRA_FACES, deltas)


def arkit_clip(frames=30) -> Animation:
    rng = np.random.default_rng(4)
    return Animation(rng.random((frames, 52)), ARKIT52, 30, head_pose=rng.normal(0, 0.1, (frames, 3)))


def test_builtin_formats_are_registered_with_descriptions():
    entries = registry("exporter")
    assert BUILTIN_FORMATS <= set(entries)
    for name in BUILTIN_FORMATS:
        assert entries[name].obj.name == name and entries[name].description
        assert entries[name].plugin == "dtsdk.io.builtin"


@pytest.mark.parametrize("path, name", [
    ("take.csv", "llf-csv"), ("TAKE.CSV", "llf-csv"), ("a.npz", "npz"), ("a.npy", "npy"), ("a.glb", "glb"),
    ("a.gltf", "glb"), ("dir/a2f_export.json", "a2f-json"),
])
def test_extension_dispatch(path, name):
    assert get_exporter(path=path).name == name


def test_format_only_exporters_and_unknown_extensions():
    assert get_exporter(format="CSV").name == "csv" and get_exporter(format="obj-seq").name == "obj-seq"
    with pytest.raises(ExportError, match="take.fbx: unknown animation file extension"):
        get_exporter(path="take.fbx")


def test_load_errors(tmp_path):
    with pytest.raises(FormatError, match="missing.npz: no such file"):
        load_animation(tmp_path / "missing.npz")
    (tmp_path / "seq").mkdir()
    with pytest.raises(FormatError, match="'obj-seq' format cannot be read back"):
        load_animation(tmp_path / "seq", format="obj-seq")


# ---- atomicity -----------------------------------------------------------------------------------
WRITES = [  # (format, file name, write options)
    ("npz", "a.npz", {}), ("npy", "a.npy", {"rig": "tetra"}), ("llf-csv", "a.csv", {}), ("csv", "a.txt", {}),
    ("glb", "a.glb", {"rig": "tetra"}), ("a2f-json", "a.json", {}), ("obj-seq", "seq", {"rig": "tetra"}),
]


def _write(tmp_path, fmt, name, options):
    options = {k: tetra_rig() if v == "tetra" else v for k, v in options.items()}
    arkit_clip().save(tmp_path / name, format=fmt, **options)


@pytest.mark.parametrize("fmt, name, options", WRITES)
def test_failed_final_move_leaves_old_file_and_no_temp(tmp_path, monkeypatch, fmt, name, options):
    _write(tmp_path, fmt, name, options)
    before = sorted(p.name for p in tmp_path.iterdir())
    target = tmp_path / name
    snapshot = target.read_bytes() if target.is_file() else sorted(p.name for p in target.iterdir())

    def failing_replace(src, dst):
        raise OSError("simulated failure at the final move")

    monkeypatch.setattr(atomic.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        _write(tmp_path, fmt, name, options)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary file or folder left
    assert (target.read_bytes() if target.is_file() else sorted(p.name for p in target.iterdir())) == snapshot


def _fail_on_call(real, n):
    """``real``, except that call number ``n`` raises."""
    calls = {"count": 0}

    def fake(*args, **kwargs):
        calls["count"] += 1
        if calls["count"] == n:
            raise RuntimeError("simulated failure midway")
        return real(*args, **kwargs)

    return fake


def test_llf_csv_failing_midway_leaves_nothing(tmp_path, monkeypatch):
    import dtsdk.io.llf_csv as llf

    monkeypatch.setattr(llf, "format_timecode", _fail_on_call(llf.format_timecode, 10))  # after 9 rows were written
    with pytest.raises(RuntimeError, match="midway"):
        arkit_clip().save(tmp_path / "a.csv")
    assert list(tmp_path.iterdir()) == []


def test_obj_seq_failing_midway_leaves_nothing(tmp_path, monkeypatch):
    import dtsdk.io.obj_seq as obj_seq

    monkeypatch.setattr(obj_seq, "frame_file_name", _fail_on_call(obj_seq.frame_file_name, 3))  # after 2 frame files
    with pytest.raises(RuntimeError, match="midway"):
        arkit_clip().save(tmp_path / "seq", format="obj-seq", rig=tetra_rig())
    assert list(tmp_path.iterdir()) == []


def test_folder_swap_failing_keeps_the_old_folder(tmp_path, monkeypatch):
    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "old.obj").write_text("old")
    monkeypatch.setattr(atomic.os, "replace", _fail_on_call(atomic.os.replace, 2))  # the new folder's move
    with pytest.raises(RuntimeError, match="midway"):
        with atomic.atomic_dir(tmp_path / "seq") as folder:
            (folder / "new.obj").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["seq"]
    assert (tmp_path / "seq" / "old.obj").read_text() == "old"


def test_npz_failing_midway_leaves_nothing(tmp_path, monkeypatch):
    def half_written(f, **arrays):
        f.write(b"PK\x03\x04 partial archive")
        raise RuntimeError("simulated failure midway")

    monkeypatch.setattr(np, "savez_compressed", half_written)
    with pytest.raises(RuntimeError, match="midway"):
        arkit_clip().save(tmp_path / "a.npz")
    assert list(tmp_path.iterdir()) == []


def test_rejected_input_writes_nothing(tmp_path):
    vertex_anim = Animation(np.zeros((3, 12)), (), 30, rig="tetra-vertex")
    for fmt, name in [("llf-csv", "a.csv"), ("csv", "b.csv"), ("a2f-json", "a.json"), ("glb", "a.glb")]:
        with pytest.raises(ExportError, match=name):
            vertex_anim.save(tmp_path / name, format=fmt)
    assert list(tmp_path.iterdir()) == []
