"""Animation files: exporters (and readers) chosen by ``format=`` or by the file extension.

One format per module; the lookup by name or extension is :mod:`dtsdk.exporters` (re-exported here).
"""
from __future__ import annotations

from dtsdk.exporters import get_exporter, load_animation, save_animation
from dtsdk.io.base import Exporter

__all__ = ["Exporter", "get_exporter", "save_animation", "load_animation"]
