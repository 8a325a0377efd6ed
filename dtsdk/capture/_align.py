"""Shared rules of every capture reader: how audio and motion lengths are reconciled, and what a
missing half of a pair does.

Lengths (``on_mismatch``). After each reader has put the first motion frame and the first audio
sample at the same instant, the two spans are compared:

- within one motion frame: kept as they are;
- within ``max_mismatch_s`` (default 0.1 s, i.e. 3 frames at 30 fps, 2.5 at 25 fps): the longer
  one is cut at its end to the shorter span, and ``meta["trimmed_audio_s"]`` /
  ``meta["trimmed_frames"]`` record what was cut (recordings routinely stop a few ms apart);
- beyond it, ``on_mismatch`` decides: ``"error"`` (default) raises a :class:`FormatError` naming
  both files and both durations; ``"skip"`` warns and drops the clip; ``"trim"`` warns and cuts
  both to the shorter span, as above. Trimming assumes both streams start together, which is why
  it is never the default.

Missing pairs (``on_missing``): ``"skip"`` (default) warns once, listing every file whose partner
is missing, and reads the complete pairs; ``"error"`` raises listing them. Real releases do have
holes (FaceFormer's own loader drops VOCASET wavs without vertices), so skipping is the default; a
folder with no complete pair at all is always an error.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

from dtsdk.errors import DtsdkError, FormatError

ON_MISMATCH = ("error", "skip", "trim")
ON_MISSING = ("skip", "error")
DEFAULT_MAX_MISMATCH_S = 0.1
_LIST_AT_MOST = 10  # files named in one message; the rest are counted


class CaptureWarning(UserWarning):
    """A capture file was skipped or adjusted; the message names it."""


def check_policy(on_mismatch: str, on_missing: str, max_mismatch_s: float) -> None:
    if on_mismatch not in ON_MISMATCH:
        raise DtsdkError(f"on_mismatch must be one of {', '.join(ON_MISMATCH)}, got {on_mismatch!r}")
    if on_missing not in ON_MISSING:
        raise DtsdkError(f"on_missing must be one of {', '.join(ON_MISSING)}, got {on_missing!r}")
    if not (isinstance(max_mismatch_s, (int, float)) and np.isfinite(max_mismatch_s) and max_mismatch_s >= 0):
        raise DtsdkError(f"max_mismatch_s must be a non-negative number of seconds, got {max_mismatch_s!r}")


def name_files(paths: list[str]) -> str:
    shown = ", ".join(paths[:_LIST_AT_MOST])
    return shown + (f" (and {len(paths) - _LIST_AT_MOST} more)" if len(paths) > _LIST_AT_MOST else "")


def report_missing(root: str, missing: list[str], partner: str, on_missing: str, found_pairs: int) -> None:
    """``missing``: files whose ``partner`` (e.g. "wav") was not found. Warn, or raise per ``on_missing``."""
    if not missing:
        if not found_pairs:
            raise FormatError(f"{root}: no capture pairs found")
        return
    problem = f"{len(missing)} file(s) without their {partner}: {name_files(missing)}"
    if on_missing == "error" or not found_pairs:
        hint = "" if found_pairs else " (no complete pair at all)"
        raise FormatError(f"{root}: {problem}{hint}")
    warnings.warn(f"{root}: skipping {problem}", CaptureWarning, stacklevel=3)


@dataclass
class Aligned:
    audio: np.ndarray  # (S,) float32
    num_frames: int  # motion frames to keep, counted from the first
    meta: dict


def align_lengths(audio: np.ndarray, sample_rate: int, num_frames: int, fps: float, audio_path: str,
                  motion_path: str, on_mismatch: str = "error",
                  max_mismatch_s: float = DEFAULT_MAX_MISMATCH_S, hint: str = "") -> Aligned | None:
    """Reconcile the ends of audio ``(S,)`` and ``num_frames`` motion frames that start together.

    Returns what to keep, or None when ``on_mismatch="skip"`` drops the pair (after a warning).
    ``hint`` is appended to the mismatch message (e.g. how to override the frame rate).
    """
    audio_s = len(audio) / sample_rate
    motion_s = num_frames / fps
    diff_s = audio_s - motion_s
    meta = {"trimmed_audio_s": 0.0, "trimmed_frames": 0}
    if abs(diff_s) <= 1.0 / fps:
        return Aligned(audio, num_frames, meta)
    if abs(diff_s) > max_mismatch_s:
        problem = (f"audio {audio_path} lasts {audio_s:.3f} s but motion {motion_path} lasts {motion_s:.3f} s "
                   f"({num_frames} frames at {fps:g} fps), {abs(diff_s):.3f} s apart (tolerance "
                   f"{max_mismatch_s:g} s)")
        if on_mismatch == "error":
            raise FormatError(f"{problem}{hint}; pass on_mismatch='skip' or 'trim' to read the other clips")
        if on_mismatch == "skip":
            warnings.warn(f"skipping: {problem}", CaptureWarning, stacklevel=3)
            return None
        warnings.warn(f"trimming to the shorter span: {problem}", CaptureWarning, stacklevel=3)
    if diff_s > 0:  # audio runs past the last frame
        keep = int(round(motion_s * sample_rate))
        meta["trimmed_audio_s"] = (len(audio) - keep) / sample_rate
        return Aligned(audio[:keep], num_frames, meta)
    keep_frames = max(1, int(round(audio_s * fps)))
    meta["trimmed_frames"] = num_frames - keep_frames
    return Aligned(audio, keep_frames, meta)


def rel(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """``path`` relative to ``root`` (for lists of files under one folder named in the message)."""
    return os.path.relpath(path, root)
