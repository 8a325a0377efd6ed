"""The errors dtsdk raises on purpose.

Every message is meant for a person: it names the file (or plugin) and the problem in one line.
The CLI prints ``str(err)`` and exits with code 2; ``--debug`` shows the traceback.
"""
from __future__ import annotations

import os


class DtsdkError(Exception):
    """Base class: anything dtsdk raises on purpose about bad input or configuration."""


class AudioError(DtsdkError):
    """Audio that cannot be read or used (missing, empty, non-audio, NaN samples, ...)."""


class FormatError(DtsdkError):
    """An animation, mesh or capture file that is malformed or of an unknown format."""


class ExportError(DtsdkError):
    """An animation that cannot be written in the requested format."""


class RigError(DtsdkError):
    """A rig (topology) that is unknown or inconsistent."""


class PluginError(DtsdkError):
    """A plugin clash, or a name no plugin registers."""


class ConfigError(DtsdkError, ValueError):
    """A recipe or config with an unknown setting or a bad value (also a ValueError, as it always was)."""


class MissingExtraError(DtsdkError):
    """An optional dependency is not installed; the message names the pip extra."""


def file_error(cls: type[DtsdkError], path: str | os.PathLike, problem: str) -> DtsdkError:
    """Build ``cls("<path>: <problem>")`` so every file error reads the same way."""
    return cls(f"{os.fspath(path)}: {problem}")
