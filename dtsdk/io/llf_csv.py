"""``llf-csv``: Epic's Live Link Face CSV, the file the iPhone app records and Unreal/MetaHuman import.

Layout (63 columns)::

    Timecode,BlendShapeCount,EyeBlinkLeft,...,TongueOut,HeadYaw,HeadPitch,HeadRoll,
    LeftEyeYaw,LeftEyePitch,LeftEyeRoll,RightEyeYaw,RightEyePitch,RightEyeRoll

``BlendShapeCount`` is 61 (52 shapes + 9 rotations). The 52 shapes are in Live Link Face's column
order (:data:`LLF_SHAPES`), which swaps ``JawRight,JawLeft`` and ``MouthRight,MouthLeft`` relative
to Apple's. Writing:

- the animation is resampled to ``fps`` (60 by default, the app's default; any integer rate);
- ``Timecode`` is synthetic, counted from ``start_s`` (default 0) as ``HH:MM:SS:FF.000``;
- weights are clipped to 0..1 and written with 6 decimals (round half to even, error <= 5e-7);
- ``HeadYaw/Pitch/Roll`` are ``head_pose`` in radians (zeros without one);
- eye rotations (``eye_rotations="derived"``, the default) are approximated from the eyeLook*
  weights: yaw = (look toward the subject's left - look toward the right) x 30 degrees, pitch =
  (lookDown - lookUp) x 25 degrees, roll 0, in radians. That is the head-pose convention: yaw about +Y
  (positive turns toward the subject's left), pitch about +X (positive looks down). The weights
  remain the ground truth; ``eye_rotations="zeros"`` writes zeros.

Reading matches columns by name, case-insensitively, so Apple's order and camelCase work too.
Missing shapes read as 0 (with a warning); unknown columns are ignored (with a warning). The rate is
recovered from the ``Timecode`` frame field (see :mod:`dtsdk.io.timecode`; ``fps=`` overrides the
timecode rate); duplicated rows are dropped and dropped frames interpolated, both with a warning and
counted in ``meta``. Eye rotation columns are not read back (the eyeLook* weights carry the gaze).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, ExportError, FormatError
from dtsdk.io._common import arkit52_for_export
from dtsdk.io._csvtable import CsvTable, read_csv_table
from dtsdk.utils.atomic import atomic_open
from dtsdk.io.base import Exporter
from dtsdk.io.timecode import (detect_timecode_rate, fill_grid, format_timecode, frame_grid, parse_timecode,
                               unwrap_midnight)
from dtsdk.rigs.arkit import ARKIT52, arkit_index

LLF_SHAPES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft", "EyeSquintLeft",
    "EyeWideLeft", "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight", "JawForward", "JawRight", "JawLeft", "JawOpen", "MouthClose",
    "MouthFunnel", "MouthPucker", "MouthRight", "MouthLeft", "MouthSmileLeft", "MouthSmileRight",
    "MouthFrownLeft", "MouthFrownRight", "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft",
    "MouthStretchRight", "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper",
    "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight", "MouthUpperUpLeft",
    "MouthUpperUpRight", "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft",
    "BrowOuterUpRight", "CheekPuff", "CheekSquintLeft", "CheekSquintRight", "NoseSneerLeft",
    "NoseSneerRight", "TongueOut",
)
HEAD_COLUMNS = ("HeadYaw", "HeadPitch", "HeadRoll")
EYE_COLUMNS = ("LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll", "RightEyeYaw", "RightEyePitch", "RightEyeRoll")
LLF_HEADER: tuple[str, ...] = ("Timecode", "BlendShapeCount") + LLF_SHAPES + HEAD_COLUMNS + EYE_COLUMNS
BLEND_SHAPE_COUNT = len(LLF_SHAPES) + len(HEAD_COLUMNS) + len(EYE_COLUMNS)  # 61, as the app writes it

# Column k of the file holds ARKit channel LLF_TO_ARKIT[k] (Apple's order).
LLF_TO_ARKIT = np.array([arkit_index(n) for n in LLF_SHAPES])
assert len(LLF_SHAPES) == 52 and sorted(LLF_TO_ARKIT.tolist()) == list(range(52))
assert len(LLF_HEADER) == 63 and BLEND_SHAPE_COUNT == 61

EYE_YAW_RANGE_RAD = np.deg2rad(30.0)  # a full eyeLookIn/Out weight, roughly the eye's horizontal range
EYE_PITCH_RANGE_RAD = np.deg2rad(25.0)  # a full eyeLookUp/Down weight
WEIGHT_DECIMALS = 6


def eye_rotations_from_gaze(arkit: np.ndarray) -> np.ndarray:
    """ARKit weights ``(T, 52)`` -> ``(T, 6)`` left yaw/pitch/roll, right yaw/pitch/roll in radians."""
    w = {name: arkit[:, i] for i, name in enumerate(ARKIT52)}
    zeros = np.zeros(len(arkit), dtype=np.float32)
    # Toward the subject's left is "out" for the left eye and "in" for the right eye.
    left_yaw = (w["eyeLookOutLeft"] - w["eyeLookInLeft"]) * EYE_YAW_RANGE_RAD
    right_yaw = (w["eyeLookInRight"] - w["eyeLookOutRight"]) * EYE_YAW_RANGE_RAD
    left_pitch = (w["eyeLookDownLeft"] - w["eyeLookUpLeft"]) * EYE_PITCH_RANGE_RAD
    right_pitch = (w["eyeLookDownRight"] - w["eyeLookUpRight"]) * EYE_PITCH_RANGE_RAD
    return np.stack([left_yaw, left_pitch, zeros, right_yaw, right_pitch, zeros], axis=1).astype(np.float32)


class LiveLinkFaceCsv(Exporter):
    name = "llf-csv"
    extensions = (".csv",)
    description = "Live Link Face CSV (Unreal/MetaHuman): 52 ARKit shapes + head/eye rotations, 60 fps timecode"
    stores_meta = False  # the columns are fixed by Live Link Face
    stores_rig_name = False  # always read back as arkit52

    def write(self, animation: Animation, path: str | os.PathLike, fps: float = 60, start_s: float = 0.0,
              eye_rotations: str = "derived") -> None:
        where = os.fspath(path)
        if float(fps) != int(fps) or int(fps) <= 0:
            raise ExportError(f"{where}: Live Link Face timecode needs a whole positive frame rate, got fps={fps}")
        if eye_rotations not in ("derived", "zeros"):
            raise ExportError(f"{where}: eye_rotations must be 'derived' or 'zeros', got {eye_rotations!r}")
        fps = int(fps)
        arkit52_for_export(animation, path, self.name)  # validates before any resampling work
        resampled = animation.resample(fps)
        arkit = np.clip(resampled.arkit_weights(), 0.0, 1.0)  # (T, 52) Apple's order
        head = resampled.head_pose if resampled.head_pose is not None else np.zeros((resampled.num_frames, 3))
        eyes = (eye_rotations_from_gaze(arkit) if eye_rotations == "derived"
                else np.zeros((resampled.num_frames, 6), dtype=np.float32))
        values = np.concatenate([arkit[:, LLF_TO_ARKIT], head, eyes], axis=1)  # (T, 61)
        first_frame = int(round(float(start_s) * fps))
        row_format = ",".join([f"%.{WEIGHT_DECIMALS}f"] * values.shape[1])
        with atomic_open(path, "w", newline="", encoding="utf-8") as f:
            f.write(",".join(LLF_HEADER) + "\n")
            for t, row in enumerate(values):
                cells = row_format % tuple(row.tolist())
                f.write(f"{format_timecode(first_frame + t, fps)},{BLEND_SHAPE_COUNT},{cells}\n")

    def read(self, path: str | os.PathLike, fps: float | None = None) -> Animation:
        table = read_csv_table(path)
        if not table.rows:
            raise FormatError(f"{table.path}: no data rows after the header")
        columns = table.column_index()
        shape_columns = [columns.get(name.lower()) for name in ARKIT52]  # Apple's order
        _warn_about_columns(table, columns, shape_columns)
        present = [c for c in shape_columns if c is not None]
        if not present:
            raise FormatError(f"{table.path}: no ARKit blendshape columns (expected EyeBlinkLeft, JawOpen, ...)")
        rows = np.zeros((len(table.rows), 52), dtype=np.float32)
        rows[:, [i for i, c in enumerate(shape_columns) if c is not None]] = table.numeric(present)
        head_columns = [columns.get(name.lower()) for name in HEAD_COLUMNS]
        has_head = any(c is not None for c in head_columns)
        if has_head:
            head = np.zeros((len(table.rows), 3), dtype=np.float32)
            head[:, [i for i, c in enumerate(head_columns) if c is not None]] = table.numeric(
                [c for c in head_columns if c is not None])
            rows = np.concatenate([rows, head], axis=1)  # (rows, 55)

        frames, meta = _frames_from_timecode(table, columns, rows, fps)
        meta["source"] = table.path
        try:
            return Animation(frames[:, :52], ARKIT52, meta.pop("fps"), "arkit52",
                             frames[:, 52:55] if has_head else None, meta)
        except DtsdkError as exc:
            raise FormatError(f"{table.path}: {exc}") from exc


def _warn_about_columns(table: CsvTable, columns: dict[str, int], shape_columns: list) -> None:
    missing = [ARKIT52[i] for i, c in enumerate(shape_columns) if c is None]
    known = {n.lower() for n in LLF_HEADER} | {n.lower() for n in ARKIT52}
    extra = [n for n in table.header if n.lower() not in known]
    if missing and len(missing) < 52:
        warnings.warn(f"{table.path}: {len(missing)} ARKit shape column(s) missing, read as 0: "
                      f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}", stacklevel=4)
    if extra:
        warnings.warn(f"{table.path}: ignoring unknown column(s): {', '.join(extra[:8])}"
                      f"{' ...' if len(extra) > 8 else ''}", stacklevel=4)


def _frames_from_timecode(table: CsvTable, columns: dict[str, int], rows: np.ndarray,
                          fps: float | None) -> tuple[np.ndarray, dict]:
    """Rows -> frames on a regular grid, plus ``meta`` (with the recovered ``fps``)."""
    tc_col = columns.get("timecode")
    if tc_col is None:
        if fps is None:
            raise FormatError(f"{table.path}: no Timecode column, so the frame rate is unknown; pass fps=")
        return rows, {"fps": float(fps)}
    seconds, frame_field = np.empty(len(table.rows), np.int64), np.empty(len(table.rows), np.float64)
    for r, (row, line) in enumerate(zip(table.rows, table.line_numbers)):
        try:
            seconds[r], frame_field[r] = parse_timecode(row[tc_col])
        except ValueError as exc:
            raise FormatError(f"{table.path}: line {line}: {exc}") from None
    seconds = unwrap_midnight(seconds)
    tc_rate = float(fps) if fps is not None else detect_timecode_rate(seconds, frame_field, table.path)
    times_s = seconds + frame_field / tc_rate
    # The data rate can differ from the timecode rate (60 Hz rows under a 30 fps timecode step by .5).
    steps = np.diff(times_s)
    steps = steps[steps > 0.25 / tc_rate]
    data_fps = tc_rate if not len(steps) else _snap_rate(1.0 / float(np.median(steps)))
    grid = frame_grid(times_s, data_fps, table.line_numbers, table.path)
    meta = {"fps": data_fps, "timecode_rate": tc_rate, "start_timecode": table.rows[0][tc_col],
            "duplicate_frames": int(len(grid.duplicate_rows)), "dropped_frames": grid.dropped_frames}
    if len(grid.duplicate_rows) or grid.dropped_frames:
        warnings.warn(f"{table.path}: {len(grid.duplicate_rows)} duplicated row(s) dropped, {grid.dropped_frames} "
                      f"missing frame(s) interpolated", stacklevel=4)
    return fill_grid(rows, grid), meta


def _snap_rate(rate: float) -> float:
    """A measured rate, snapped to the nearest whole number when within 0.5% of it (timecode jitter)."""
    nearest = round(rate)
    return float(nearest) if nearest and abs(rate - nearest) <= 0.005 * nearest else rate


LLF_CSV = LiveLinkFaceCsv()
