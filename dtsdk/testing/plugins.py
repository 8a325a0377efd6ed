"""Register a throwaway plugin for the length of a test."""
from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def temporary_plugin(plugin: object, name: str | None = None) -> Iterator[str]:
    """``with temporary_plugin(MyPlugin()) as name: ...``: registered inside, gone after."""
    from dtsdk.plugins import register_plugin, unregister_plugin

    registered = register_plugin(plugin, name=name)
    try:
        yield registered
    finally:
        unregister_plugin(registered)
