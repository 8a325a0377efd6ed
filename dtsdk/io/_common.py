"""Checks and conversions shared by the exporters (not a public API)."""
from __future__ import annotations

import os
import warnings

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, ExportError
from dtsdk.rigs.arkit import match_names


def require_named_channels(animation: Animation, path: str | os.PathLike, format_name: str) -> None:
    """ExportError for vertex-space animations, whose channels are offsets, not named weights."""
    if not animation.names:
        raise ExportError(
            f"{os.fspath(path)}: the '{format_name}' format holds named blendshape weights, but this animation "
            f"is per-vertex motion of rig '{animation.rig}'; write it as 'npy' or 'obj-seq' instead"
        )
    if animation.num_frames == 0:
        raise ExportError(f"{os.fspath(path)}: the animation has no frames; nothing to write as '{format_name}'")


def arkit52_for_export(animation: Animation, path: str | os.PathLike, format_name: str) -> np.ndarray:
    """``(T, 52)`` ARKit weights in Apple's order, matched by name; ExportError when nothing matches.

    Channels with non-ARKit names cannot be carried by an ARKit-only format: they are dropped with a
    warning that lists them, so a partial export is never silent.
    """
    require_named_channels(animation, path, format_name)
    matches = match_names(animation.names)
    if all(m is None for m in matches):
        raise ExportError(
            f"{os.fspath(path)}: none of the {len(animation.names)} channels of rig '{animation.rig}' has an ARKit "
            f"name, and '{format_name}' holds ARKit-52 weights; retarget first with animation.to_rig('arkit52')"
        )
    dropped = [n for n, m in zip(animation.names, matches) if m is None]
    if dropped:
        warnings.warn(f"{os.fspath(path)}: '{format_name}' drops {len(dropped)} non-ARKit channel(s): "
                      f"{', '.join(dropped[:8])}{' ...' if len(dropped) > 8 else ''}", stacklevel=3)
    return animation.arkit_weights()


def rig_name_for(names, explicit: str | None) -> str:
    """The rig a read animation belongs to: ``explicit``, else ``arkit52`` when names are ARKit shapes.

    Animations match channels to ARKit by name, so labelling ARKit-named weights ``arkit52`` keeps
    every channel usable even when the file's column order differs from Apple's.
    """
    if explicit:
        return explicit if isinstance(explicit, str) else explicit.name
    if any(m is not None for m in match_names(names)):
        return "arkit52"
    return "unknown"


def mesh_vertices_mm(animation: Animation, rig=None) -> tuple[np.ndarray, "object"]:
    """Decode ``animation`` onto a mesh: vertices ``(T, V, 3)`` in mm, and the mesh rig used.

    ``rig`` picks the mesh (a name or a :class:`~dtsdk.rigs.Rig`); by default the animation's own rig,
    or ``dtface`` for a mesh-less motion space such as ``arkit52``.
    """
    from dtsdk.rigs import DEFAULT_MESH_RIG, get_rig

    target = get_rig(rig if rig is not None else animation.rig)
    if rig is None and not target.has_mesh:
        target = get_rig(DEFAULT_MESH_RIG)
    return animation.to_vertices(target), target


def export_error_from(exc: DtsdkError, path: str | os.PathLike) -> ExportError:
    """Re-raise a rig/animation error as an ExportError that names the file being written."""
    return ExportError(f"{os.fspath(path)}: {exc}")


UNIT_SCALE_FROM_MM = {"mm": 1.0, "m": 1e-3}


def unit_scale(unit: str, path: str | os.PathLike) -> float:
    """Factor that turns mm into ``unit`` (``"m"`` or ``"mm"``)."""
    try:
        return UNIT_SCALE_FROM_MM[unit]
    except KeyError:
        raise ExportError(f"{os.fspath(path)}: unit must be 'm' or 'mm', got {unit!r}") from None
