"""Live Link Face timecodes ``HH:MM:SS:FF.fff``: formatting, parsing, and recovering the frame grid.

``FF`` is the frame within the second at the timecode rate and ``.fff`` a sub-frame fraction. The
rate itself is not written anywhere in the file, so :func:`detect_timecode_rate` infers it from how
the frame field rolls over at second boundaries.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np

from dtsdk.errors import FormatError

# Rates a timecode source can run at; Live Link Face records at 60 (default) or 30.
TIMECODE_RATES = (24, 25, 30, 48, 50, 60)
DEFAULT_TIMECODE_RATE = 60

_TIMECODE = re.compile(r"^(\d{1,2}):(\d{2}):(\d{2})[:;](\d{1,3})(?:\.(\d+))?$")


def format_timecode(frame_index: int, fps: int) -> str:
    """Frame ``frame_index`` counted from midnight at integer ``fps`` -> ``HH:MM:SS:FF.000``."""
    seconds, frame = divmod(int(frame_index), fps)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours % 24:02d}:{minute:02d}:{sec:02d}:{frame:02d}.000"


def parse_timecode(text: str) -> tuple[int, float]:
    """``HH:MM:SS:FF.fff`` -> (whole seconds since midnight, frame position within the second).

    Raises ValueError when ``text`` is not a timecode (callers add the file and line).
    """
    m = _TIMECODE.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not a timecode HH:MM:SS:FF.fff")
    hours, minutes, seconds, frame = (int(g) for g in m.groups()[:4])
    if minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is not a timecode (minutes and seconds go up to 59)")
    sub = float("0." + m.group(5)) if m.group(5) else 0.0
    return hours * 3600 + minutes * 60 + seconds, frame + sub


def detect_timecode_rate(seconds: np.ndarray, frames: np.ndarray, where: str) -> int:
    """The timecode rate implied by the frame field (``frames``) and whole ``seconds`` of each row.

    Where the second rolls over, ``rate = last frame + step - first frame``, with ``step`` the typical
    frame increment inside a second. Without a rollover the clip is shorter than a second and only
    ``max(frame) + 1`` is known, and the Live Link Face default (60) is assumed (with a warning when
    30 would fit too).
    """
    lower_bound = int(np.floor(frames.max())) + 1
    fitting = [r for r in TIMECODE_RATES if r >= lower_bound]
    if not fitting:
        raise FormatError(f"{where}: timecode frame field reaches {lower_bound - 1}, above any known rate "
                          f"{TIMECODE_RATES}; pass fps=")
    same_second = np.diff(seconds) == 0
    steps = np.diff(frames)[same_second]
    steps = steps[steps > 0]
    rollover = np.flatnonzero(np.diff(seconds) == 1)
    if len(steps) and len(rollover):
        step = float(np.median(steps))
        estimates = frames[rollover] + step - frames[rollover + 1]
        estimate = float(np.median(estimates))
        return min(fitting, key=lambda r: abs(r - estimate))
    if lower_bound <= 30:
        warnings.warn(f"{where}: the clip does not cross a second boundary, so its timecode rate is ambiguous; "
                      f"assuming {DEFAULT_TIMECODE_RATE} fps (pass fps= to override)", stacklevel=3)
    return DEFAULT_TIMECODE_RATE


@dataclass
class FrameGrid:
    """Where each CSV row lands on a regular frame grid."""

    fps: float
    frame_of_row: np.ndarray  # (rows,) int, frame index of each row (0 = first row)
    duplicate_rows: np.ndarray  # (n,) row indices that repeat the previous row's frame (dropped)
    dropped_frames: int  # frames missing between rows (filled by interpolation)


def frame_grid(times_s: np.ndarray, fps: float, lines: list[int], where: str) -> FrameGrid:
    """Snap row times ``(rows,)`` in seconds to the grid at ``fps``; time going backwards is a FormatError."""
    position = (times_s - times_s[0]) * fps
    frame_of_row = np.rint(position).astype(np.int64)
    step = np.diff(frame_of_row)
    backwards = np.flatnonzero(step < 0)
    if len(backwards):
        i = int(backwards[0]) + 1
        raise FormatError(f"{where}: line {lines[i]}: timecode goes back in time (frame {frame_of_row[i]} "
                          f"after {frame_of_row[i - 1]}); rows must be in time order")
    duplicates = np.flatnonzero(step == 0) + 1
    dropped = int(np.sum(step[step > 1] - 1))
    return FrameGrid(float(fps), frame_of_row, duplicates, dropped)


def unwrap_midnight(seconds: np.ndarray) -> np.ndarray:
    """Whole seconds made monotonic across midnight (a drop of more than 12 h is the next day)."""
    jumps = np.concatenate([[0], np.diff(seconds) < -12 * 3600]).astype(np.int64)
    return seconds + 24 * 3600 * np.cumsum(jumps)


def fill_grid(values: np.ndarray, grid: FrameGrid) -> np.ndarray:
    """Rows ``(rows, C)`` -> frames ``(T, C)``: duplicates dropped, missing frames linearly interpolated."""
    keep = np.ones(len(values), dtype=bool)
    keep[grid.duplicate_rows] = False
    known_frames = grid.frame_of_row[keep]
    known = values[keep]
    num_frames = int(known_frames[-1]) + 1
    if len(known) == num_frames:
        return known.astype(np.float32)
    all_frames = np.arange(num_frames)
    out = np.stack([np.interp(all_frames, known_frames, known[:, c]) for c in range(known.shape[1])], axis=1)
    return out.astype(np.float32).reshape(num_frames, values.shape[1])
