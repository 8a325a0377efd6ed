"""Atomic writes: nothing half-written, and finished files get ordinary permissions."""
import os
import stat

import pytest

from dtsdk.utils.atomic import _UMASK, atomic_dir, atomic_open


def test_finished_file_has_umask_permissions(tmp_path):
    with atomic_open(tmp_path / "a.txt", "w") as f:
        f.write("hi")
    mode = stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode)
    assert mode == 0o666 & ~_UMASK


def test_exception_inside_leaves_no_file_and_keeps_the_old_one(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_open(target, "w") as f:
            f.write("half")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_directory_replaced_whole(tmp_path):
    target = tmp_path / "frames"
    with atomic_dir(target) as d:
        (d / "1.obj").write_text("v 0 0 0\n")
    with pytest.raises(ValueError):
        with atomic_dir(target) as d:
            (d / "2.obj").write_text("partial")
            raise ValueError("boom")
    assert sorted(p.name for p in target.iterdir()) == ["1.obj"]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o777 & ~_UMASK
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]
