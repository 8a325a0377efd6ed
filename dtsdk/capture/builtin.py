"""Built-in capture plugins, registered through the same hook as third-party ones."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_capture_readers(register):
    pass
