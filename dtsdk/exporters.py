"""Which exporter reads or writes an animation file: by ``format=`` name or by the file extension.

The formats themselves live in :mod:`dtsdk.io` (one per file), which re-exports these functions.
The lookup lives here, below :class:`~dtsdk.animation.Animation`, because ``Animation.save`` and
``Animation.load`` need it and :mod:`dtsdk.io` needs ``Animation``: the exporters are found through
the plugin registry, so this module imports neither (hence no type annotations for them).
"""
from __future__ import annotations

import os
from pathlib import Path

from dtsdk.errors import ExportError, FormatError
from dtsdk.plugins import lookup, registry


def get_exporter(format: str | None = None, path: str | os.PathLike | None = None):
    """The :class:`dtsdk.io.Exporter` named ``format``, or the one whose extension matches ``path``."""
    if format:
        return lookup("exporter", format).obj
    if path is None:
        raise ExportError("give a format or a path with a known extension")
    name = Path(path).name.lower()
    # Longest extension first, so ".llf.csv" can beat ".csv".
    candidates = sorted(
        ((ext, e.obj) for e in registry("exporter").values() for ext in e.obj.extensions),
        key=lambda pair: -len(pair[0]),
    )
    for ext, exporter in candidates:
        if name.endswith(ext):
            return exporter
    known = ", ".join(sorted({ext for ext, _ in candidates}))
    raise ExportError(f"{os.fspath(path)}: unknown animation file extension; known: {known} (or pass --format)")


def save_animation(animation, path: str | os.PathLike, format: str | None = None, **options) -> str:
    """Write the :class:`~dtsdk.animation.Animation` ``animation`` with the exporter chosen by ``format``
    or the extension; returns the path."""
    exporter = get_exporter(format, path)
    exporter.write(animation, path, **options)
    return os.fspath(path)


def load_animation(path: str | os.PathLike, format: str | None = None, **options):
    """Read the :class:`~dtsdk.animation.Animation` at ``path`` with the exporter chosen by ``format`` or
    the extension."""
    p = Path(path)
    if not p.exists():
        raise FormatError(f"{os.fspath(path)}: no such file")
    exporter = get_exporter(format, path)
    if not exporter.can_read:
        raise FormatError(f"{os.fspath(path)}: the '{exporter.name}' format cannot be read back")
    return exporter.read(path, **options)


__all__ = ["get_exporter", "save_animation", "load_animation"]
