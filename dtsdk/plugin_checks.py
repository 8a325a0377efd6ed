"""``dtsdk plugins --check``: build every registered rig and check what each plugin registered.

It lives above the rigs, exporters, capture readers and renderers (whose types it checks), not in
:mod:`dtsdk.plugins`, which they all import for their registries.
"""
from __future__ import annotations

from dtsdk.capture.base import CaptureReader
from dtsdk.io.base import Exporter
from dtsdk.plugins import KINDS, PluginInfo, plugin_infos, record_build_error, registry
from dtsdk.renderer.base import Renderer
from dtsdk.rigs import get_rig

EXPECTED_TYPES = {"exporter": Exporter, "capture_reader": CaptureReader, "renderer": Renderer}


def check_builds() -> list[PluginInfo]:
    """Build every registered rig (lazy builders run now, not on first use) and check each registered
    object's type; failures land in their plugin's ``build_errors``. Returns every plugin's info."""
    plugin_infos()
    for kind in KINDS:
        for entry in list(registry(kind).values()):
            problem = _problem(kind, entry)
            if problem:
                record_build_error(entry.plugin, problem)
    return plugin_infos()


def _problem(kind: str, entry) -> str | None:
    """What is wrong with one registered thing, or ``None``."""
    label = kind.replace("_", " ")
    if kind == "rig":
        try:
            get_rig(entry.name)
        except Exception as exc:  # a plugin's builder may raise anything: report it, check the rest
            return str(exc)
        return None
    expected = EXPECTED_TYPES.get(kind)
    if expected is not None and not isinstance(entry.obj, expected):
        return (f"{label} '{entry.name}' is a {type(entry.obj).__name__}, "
                f"not a {expected.__module__}.{expected.__name__}")
    if expected is None and not callable(entry.obj):
        return f"{label} '{entry.name}' is not callable"
    return None


__all__ = ["check_builds"]
