"""Atomic writes: a failed or interrupted write leaves no half-written file behind.

Everything is written to a temporary sibling (same directory, so ``os.replace`` is atomic on the
same filesystem) and moved into place only when the writer finished without an exception.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

# mkstemp/mkdtemp create private (0600/0700) entries; a finished file should get the permissions
# a plain open() would have given it, so apply the process umask before moving it into place.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    Use this for writers that want a file name (ffmpeg, soundfile, numpy). ``suffix`` defaults to
    the target's suffix, so tools that pick the format from the extension still work.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix if suffix is None else suffix,
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", **kwargs):
    """``open()`` for writing, atomically: ``with atomic_open(p, "w") as f: f.write(...)``."""
    with atomic_path(path) as tmp:
        with open(tmp, mode, **kwargs) as f:
            yield f


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary directory; on success it replaces the directory ``path`` (whose old content goes)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        if target.exists():
            _swap_directory(tmp, target)
        else:
            os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap_directory(new: Path, target: Path) -> None:
    """Replace the existing folder ``target`` by ``new``; on failure ``target`` keeps its old content.

    Two renames are needed (a folder cannot be replaced by a non-empty one in one step), so the old
    folder is parked in a temporary sibling and put back if the second rename fails.
    """
    parking = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    parked = parking / "previous"
    try:
        os.replace(target, parked)
        try:
            os.replace(new, target)
        except BaseException:
            os.replace(parked, target)
            raise
    finally:
        # Keep the parked copy only if it could not be put back: it is then the user's only copy.
        if not parked.exists() or target.exists():
            shutil.rmtree(parking, ignore_errors=True)
