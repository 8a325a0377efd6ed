"""Rigs (topologies): the built-in ``arkit52`` motion space and ``dtface`` mesh, plus plugin rigs."""
from __future__ import annotations

import threading

from dtsdk.rigs.arkit import ARKIT52, HEAD_POSE_NAMES, arkit_index, canonical_name
from dtsdk.rigs.base import Rig

DEFAULT_MESH_RIG = "dtface"

_cache: dict[tuple[int, str], Rig] = {}
_lock = threading.Lock()


def get_rig(rig: "str | Rig") -> Rig:
    """A rig by registered name (case-insensitive), built once and cached; a :class:`Rig` passes through."""
    if isinstance(rig, Rig):
        return rig
    from dtsdk.plugins import lookup
    from dtsdk.errors import RigError

    entry = lookup("rig", rig)
    key = (id(entry.obj), entry.name.lower())
    with _lock:
        if key not in _cache:
            try:
                built = entry.obj() if callable(entry.obj) and not isinstance(entry.obj, Rig) else entry.obj
            except Exception as exc:  # a plugin's lazy builder: say whose, so the user knows what to fix
                raise RigError(f"plugin '{entry.plugin}' failed to build rig '{entry.name}': "
                               f"{type(exc).__name__}: {exc}") from exc
            if not isinstance(built, Rig):
                raise RigError(f"plugin '{entry.plugin}' registered rig '{entry.name}' that is not a dtsdk.rigs.Rig")
            _cache[key] = built
        return _cache[key]


__all__ = ["ARKIT52", "HEAD_POSE_NAMES", "Rig", "get_rig", "arkit_index", "canonical_name", "DEFAULT_MESH_RIG"]
