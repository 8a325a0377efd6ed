"""Readers of motion-capture datasets (Live Link Face, VOCASET, BIWI layouts).

``read_captures(path)`` picks the installed reader whose ``can_read`` recognises ``path`` (or the
one named by ``reader=``) and yields its aligned clips. Layouts and rules: :mod:`dtsdk.capture.livelink`,
:mod:`dtsdk.capture.faceformer_layout` (``vocaset``, ``biwi``), :mod:`dtsdk.capture._align`.
"""
from __future__ import annotations

import inspect
import os
from typing import Iterator

from dtsdk.capture._align import CaptureWarning
from dtsdk.capture.base import CaptureClip, CaptureReader
from dtsdk.errors import DtsdkError, FormatError, PluginError


def get_capture_reader(name: str) -> CaptureReader:
    """The reader registered under ``name`` (case-insensitive); a PluginError lists the installed ones."""
    from dtsdk.plugins import lookup

    entry = lookup("capture_reader", name)
    if not isinstance(entry.obj, CaptureReader):
        raise PluginError(f"plugin '{entry.plugin}' registered capture reader '{entry.name}' that is not a "
                          f"dtsdk.capture.CaptureReader")
    return entry.obj


def find_capture_reader(path: str | os.PathLike) -> CaptureReader:
    """The first installed reader (built-ins first) whose ``can_read(path)`` is true."""
    from dtsdk.plugins import registry

    if not os.path.exists(path):
        raise FormatError(f"{os.fspath(path)}: no such file or folder")
    entries = list(registry("capture_reader").values())
    for entry in entries:
        if isinstance(entry.obj, CaptureReader) and entry.obj.can_read(path):
            return entry.obj
    names = ", ".join(f"{e.name} ({e.obj.description or 'no description'})" for e in entries) or "none installed"
    raise FormatError(f"{os.fspath(path)}: no capture reader recognises this layout; readers: {names}. "
                      f"Pass reader=NAME to get that reader's own error")


def read_captures(path: str | os.PathLike, reader: str | CaptureReader | None = None,
                  **options) -> Iterator[CaptureClip]:
    """Yield the aligned clips under ``path``; ``options`` go to the reader's ``read`` (e.g.
    ``on_mismatch="skip"``, ``fps=``); an option the reader does not take is an error naming it."""
    if reader is None:
        chosen = find_capture_reader(path)
    elif isinstance(reader, CaptureReader):
        chosen = reader
    else:
        chosen = get_capture_reader(reader)
    if options:
        params = inspect.signature(chosen.read).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        unknown = sorted(set(options) - set(params)) if not takes_any else []
        if unknown:
            known = [n for n, p in params.items() if p.kind is inspect.Parameter.KEYWORD_ONLY]
            raise DtsdkError(f"capture reader '{chosen.name}' has no option {', '.join(unknown)}; "
                             f"its options: {', '.join(known) or 'none'}")
    return chosen.read(path, **options)


__all__ = ["CaptureClip", "CaptureReader", "CaptureWarning", "find_capture_reader", "get_capture_reader",
           "read_captures"]
