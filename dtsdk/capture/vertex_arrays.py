"""Loading per-sequence vertex arrays, subject templates and face lists without ever unpickling.

Every ``.npy``/``.npz`` is opened with ``allow_pickle=False``: an object array (or a pickle renamed
``.npy``) is a :class:`FormatError` naming the file, never code execution.
"""
from __future__ import annotations

import os
import zipfile

import numpy as np

from dtsdk.errors import FormatError

UNITS_TO_MM = {"m": 1000.0, "cm": 10.0, "mm": 1.0}
# A face or head spans roughly 10-35 cm; outside this the unit is almost surely wrong.
PLAUSIBLE_EXTENT_MM = (50.0, 600.0)

# What a flat frame width says about its dataset, for "did you mean" hints.
KNOWN_LAYOUTS = {15069: "VOCASET/FLAME (5023 vertices), reader 'vocaset'",
                 70110: "BIWI (23370 vertices), reader 'biwi'"}


def _load_npy(path: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise FormatError(f"{path}: holds Python objects (an object array or a pickle), not numbers; "
                              f"dtsdk never unpickles data files, save a float array instead") from None
        raise FormatError(f"{path}: not a readable .npy array ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{path}: not a readable .npy array ({exc})") from None


def _check_numeric(arr: np.ndarray, path: str) -> None:
    if arr.dtype.kind not in "fiu":  # float, signed, unsigned; not bool, complex, strings or records
        raise FormatError(f"{path}: holds {arr.dtype} values, expected float vertex coordinates")


def _first_bad_frame(frames: np.ndarray) -> int | None:
    bad = np.flatnonzero(~np.isfinite(frames.reshape(len(frames), -1)).all(axis=1))
    return int(bad[0]) if len(bad) else None


def load_vertex_sequence(path: str, num_vertices: int, dataset: str) -> np.ndarray:
    """A ``(T, 3V)`` or ``(T, V, 3)`` array -> ``(T, V, 3)`` float32 in the file's own unit.

    Errors name ``path`` and say what is wrong: not numeric, no frames, a width that is not
    ``3 * num_vertices`` (with a hint when it matches another dataset), NaN/Inf (first bad frame,
    counted from 0 in the file).
    """
    arr = _load_npy(path)
    _check_numeric(arr, path)
    expected = 3 * num_vertices
    if arr.ndim == 3 and arr.shape[2] == 3:
        arr = arr.reshape(arr.shape[0], -1)
    if arr.ndim != 2:
        raise FormatError(f"{path}: array of shape {arr.shape}; expected (frames, {expected}) for {dataset}")
    if arr.shape[0] == 0:
        raise FormatError(f"{path}: contains no frames (shape {arr.shape})")
    width = arr.shape[1]
    if width != expected:
        if width % 3:
            why = f"{width} values per frame, not a multiple of 3 (x, y, z per vertex)"
        else:
            why = f"{width // 3} vertices per frame ({width} values)"
        hint = f"; that width is {KNOWN_LAYOUTS[width]}" if width in KNOWN_LAYOUTS else ""
        raise FormatError(f"{path}: {why}, but {dataset} has {num_vertices} vertices ({expected} values){hint}")
    bad = _first_bad_frame(arr)
    if bad is not None:
        raise FormatError(f"{path}: frame {bad} contains NaN or Inf "
                          f"(first bad frame of {arr.shape[0]}, counted from 0)")
    return arr.astype(np.float32, copy=False).reshape(arr.shape[0], num_vertices, 3)


def _as_template(arr: np.ndarray, where: str, num_vertices: int) -> np.ndarray:
    _check_numeric(arr, where)
    if arr.size != 3 * num_vertices or arr.ndim not in (1, 2):
        raise FormatError(f"{where}: template of shape {arr.shape}, "
                          f"expected ({num_vertices}, 3) or ({3 * num_vertices},)")
    if not np.isfinite(arr).all():
        raise FormatError(f"{where}: template contains NaN or Inf")
    return arr.astype(np.float32).reshape(num_vertices, 3)


def load_templates(root: str, subjects: list[str], num_vertices: int) -> tuple[dict[str, np.ndarray], str | None]:
    """Subject -> neutral vertices ``(V, 3)`` from ``templates.npz`` or ``templates/<Subject>.npy``.

    Returns the templates found (subjects without one are absent) and the source's name.
    ``templates.npz`` wins when both exist; keys are subject ids.
    """
    npz_path = os.path.join(root, "templates.npz")
    folder = os.path.join(root, "templates")
    found: dict[str, np.ndarray] = {}
    if os.path.isfile(npz_path):
        try:
            with np.load(npz_path, allow_pickle=False) as npz:
                for subject in subjects:
                    if subject in npz.files:
                        found[subject] = _as_template(_npz_item(npz, subject, npz_path),
                                                      f"{npz_path}[{subject}]", num_vertices)
        except (OSError, EOFError, zipfile.BadZipFile) as exc:
            raise FormatError(f"{npz_path}: not a readable .npz archive ({exc})") from None
        return found, "templates.npz"
    if os.path.isdir(folder):
        for subject in subjects:
            path = os.path.join(folder, subject + ".npy")
            if os.path.isfile(path):
                found[subject] = _as_template(_load_npy(path), path, num_vertices)
        return found, "templates/"
    return found, None


def _npz_item(npz, key: str, path: str) -> np.ndarray:
    try:
        return npz[key]
    except ValueError as exc:
        raise FormatError(f"{path}: entry '{key}' holds Python objects or is unreadable ({exc}); "
                          f"dtsdk never unpickles data files") from None


def load_faces(path: str, num_vertices: int) -> np.ndarray:
    """Triangles ``(F, 3)`` int32 from ``faces.npy``, checked against ``num_vertices``."""
    faces = _load_npy(path)
    if faces.dtype.kind not in "iu":
        raise FormatError(f"{path}: faces hold {faces.dtype} values, expected integer vertex indices")
    if faces.ndim != 2 or faces.shape[1] != 3 or not len(faces):
        raise FormatError(f"{path}: faces of shape {faces.shape}, expected (F, 3) triangles")
    if faces.min() < 0 or faces.max() >= num_vertices:
        raise FormatError(f"{path}: faces index vertices {faces.min()}..{faces.max()}, but the mesh has "
                          f"{num_vertices} (0..{num_vertices - 1})")
    return faces.astype(np.int32)


def extent_mm(vertices: np.ndarray, units: str) -> float:
    """The largest side of the bounding box of ``(V, 3)`` vertices, in mm."""
    return float(np.ptp(vertices, axis=0).max() * UNITS_TO_MM[units])
