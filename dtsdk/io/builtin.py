"""Built-in animation formats, registered through the same hook as third-party exporters."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_exporters(register):
    pass  # filled in by the exporter modules
