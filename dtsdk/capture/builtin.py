"""Built-in capture plugins, registered through the same hook as third-party ones."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_capture_readers(register):
    from dtsdk.capture.biwi import BIWI_READER
    from dtsdk.capture.livelink import LIVELINK_READER
    from dtsdk.capture.vocaset import VOCASET_READER

    for reader in (LIVELINK_READER, VOCASET_READER, BIWI_READER):
        register(reader.name, reader, description=reader.description)
