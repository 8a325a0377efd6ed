"""``livelink``: Live Link Face takes (the iPhone app's CSV) paired with a WAV of the same take.

Accepted layouts, under the path given to ``read`` (the "root"):

- ``<root>/<take>.csv`` + ``<root>/<take>.wav`` side by side;
- ``<root>/<take>/`` holding one Live Link Face CSV and one WAV (the app writes a take folder with
  the CSV and a ``.mov``; extract the audio yourself, e.g. ``ffmpeg -i take.mov -vn take.wav``).
  Other CSVs there (``frame_log.csv``, ``*_cal.csv``) are ignored; with several WAVs, the one named
  like the CSV is used;
- a single ``<take>.csv`` path, with its ``<take>.wav`` beside it.

A CSV counts as Live Link Face when its header has ``Timecode`` and blendshape columns; it is read
by the ``llf-csv`` format (:mod:`dtsdk.io.llf_csv`: 60 or 30 fps recovered from the timecode,
dropped frames interpolated, head rotation kept as ``head_pose``).

Alignment. Timecodes are wall-clock ``HH:MM:SS:FF.fff``; the first row's time is the start of
the motion. The audio is assumed to start at that first frame, unless a sidecar
``<wav name>.align.json`` next to the WAV says otherwise, with one of:

- ``"audio_start_timecode": "HH:MM:SS:FF"`` -- the timecode of the first audio sample, at the CSV's
  timecode rate (for audio extracted from the take's ``.mov``, its ``timecode`` tag:
  ``ffprobe -v error -show_entries stream_tags=timecode -of csv=p=0 take.mov``);
- ``"audio_offset_s": 0.25`` -- seconds from the first motion frame to the first audio sample
  (negative: the audio starts earlier).

Audio before the first frame is dropped; motion frames before the audio starts are dropped, and
the audio is cut so that it starts exactly on the first frame kept. The ends are then reconciled
by the rules in :mod:`dtsdk.capture._align` (``on_mismatch``, ``max_mismatch_s``, ``on_missing``).

Speaker: the sidecar's ``"speaker"``, else ``speaker=``, else the name of the root folder.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from dtsdk.animation import Animation
from dtsdk.audio import AUDIO_SAMPLE_RATE, load_audio
from dtsdk.capture._align import DEFAULT_MAX_MISMATCH_S, align_lengths, check_policy, name_files, rel, report_missing
from dtsdk.capture.base import CaptureClip, CaptureReader
from dtsdk.errors import FormatError
from dtsdk.io.llf_csv import LLF_CSV
from dtsdk.io.timecode import parse_timecode

SIDECAR_SUFFIX = ".align.json"
_IGNORED_CSV_SUFFIXES = ("_cal.csv",)  # calibration captures, not takes
_DAY_S = 24 * 3600


@dataclass
class Take:
    name: str
    csv: str
    wav: str


def is_llf_csv(path: str) -> bool:
    """Whether the header line of ``path`` looks like Live Link Face's (Timecode + blendshape columns)."""
    if not path.lower().endswith(".csv") or path.lower().endswith(_IGNORED_CSV_SUFFIXES):
        return False
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            header = {c.strip().lower() for c in f.readline().split(",")}
    except OSError:
        return False
    return "timecode" in header and ("jawopen" in header or "eyeblinkleft" in header)


class LiveLinkReader(CaptureReader):
    name = "livelink"
    description = "Live Link Face takes: <take>.csv + <take>.wav, or take folders with one CSV and one WAV"

    def can_read(self, path: str | os.PathLike) -> bool:
        path = os.fspath(path)
        if os.path.isfile(path):
            return is_llf_csv(path)
        if not os.path.isdir(path):
            return False
        for entry in _entries(path):
            if entry.is_file() and is_llf_csv(entry.path):
                return True
            if entry.is_dir() and any(f.is_file() and is_llf_csv(f.path) for f in _entries(entry.path)):
                return True
        return False

    def read(self, path: str | os.PathLike, *, speaker: str | None = None, fps: float | None = None,
             on_mismatch: str = "error", on_missing: str = "skip",
             max_mismatch_s: float = DEFAULT_MAX_MISMATCH_S) -> Iterator[CaptureClip]:
        """Yield one clip per take, sorted by take name. ``fps`` overrides the timecode rate of every
        CSV (see :meth:`dtsdk.io.llf_csv.LiveLinkFaceCsv.read`)."""
        path = os.fspath(path)
        check_policy(on_mismatch, on_missing, max_mismatch_s)
        root = os.path.dirname(os.path.abspath(path)) if os.path.isfile(path) else path
        takes = find_takes(path, on_missing)
        default_speaker = speaker or os.path.basename(os.path.abspath(root))
        for take in takes:
            clip = _read_take(take, default_speaker, fps, on_mismatch, max_mismatch_s)
            if clip is not None:
                yield clip


def find_takes(path: str, on_missing: str = "skip") -> list[Take]:
    """The (csv, wav) takes under ``path`` in the layouts above; unpaired files per ``on_missing``."""
    if os.path.isfile(path):
        if not is_llf_csv(path):
            raise FormatError(f"{path}: not a Live Link Face CSV (the header needs Timecode and blendshape columns)")
        wav = os.path.splitext(path)[0] + ".wav"
        if not os.path.isfile(wav):
            raise FormatError(f"{path}: no audio beside it; expected {wav}")
        return [Take(os.path.splitext(os.path.basename(path))[0], path, wav)]
    if not os.path.isdir(path):
        raise FormatError(f"{path}: no such file or folder")
    takes: list[Take] = []
    missing: list[str] = []
    entries = _entries(path)
    files = {e.name: e.path for e in entries if e.is_file()}
    stems_with_csv = set()
    for name, file_path in files.items():
        if is_llf_csv(file_path):
            stem = os.path.splitext(name)[0]
            stems_with_csv.add(stem)
            wav = _same_stem_wav(files, stem)
            if wav:
                takes.append(Take(stem, file_path, wav))
            else:
                missing.append(rel(file_path, path))
    for name, file_path in files.items():
        if name.lower().endswith(".wav") and os.path.splitext(name)[0] not in stems_with_csv:
            missing.append(rel(file_path, path))
    for entry in entries:
        if entry.is_dir():
            take = _take_folder(entry.path, path, missing)
            if take is not None:
                takes.append(take)
    report_missing(path, missing, "partner (a Live Link Face CSV needs a WAV of the same take and vice versa)",
                   on_missing, len(takes))
    return sorted(takes, key=lambda t: t.name)


def _entries(folder: str) -> list[os.DirEntry]:
    """The folder's entries sorted by name (the scandir iterator closed before returning)."""
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


def _same_stem_wav(files: dict[str, str], stem: str) -> str | None:
    for name, file_path in files.items():
        if name.lower().endswith(".wav") and os.path.splitext(name)[0] == stem:
            return file_path
    return None


def _take_folder(folder: str, root: str, missing: list[str]) -> Take | None:
    """The take in ``folder``; a folder with only one half of a take is added to ``missing``."""
    files = {e.name: e.path for e in _entries(folder) if e.is_file()}
    csvs = sorted(p for p in files.values() if is_llf_csv(p))
    wavs = sorted(p for n, p in files.items() if n.lower().endswith(".wav"))
    if not csvs and not wavs:
        return None  # not a take folder
    if len(csvs) > 1:
        raise FormatError(f"{folder}: {len(csvs)} Live Link Face CSVs ({name_files([rel(c, root) for c in csvs])}); "
                          f"a take folder holds one take, move the others into their own folders")
    if not csvs or not wavs:
        missing.extend(rel(p, root) for p in csvs + wavs)
        return None
    csv_path = csvs[0]
    stem = os.path.splitext(os.path.basename(csv_path))[0]
    if len(wavs) > 1:
        named = _same_stem_wav(files, stem)
        if named is None:
            raise FormatError(f"{folder}: {len(wavs)} WAVs and none named {stem}.wav; keep one WAV per take folder")
        wavs = [named]
    return Take(os.path.basename(folder), csv_path, wavs[0])


def read_sidecar(wav_path: str) -> dict:
    """The ``<wav>.align.json`` next to ``wav_path``, checked; ``{}`` when there is none."""
    path = os.path.splitext(wav_path)[0] + SIDECAR_SUFFIX
    if not os.path.isfile(path):
        return {}
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise FormatError(f"{path}: expected a JSON object")
    unknown = set(data) - {"audio_start_timecode", "audio_offset_s", "speaker"}
    if unknown:
        raise FormatError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"known: audio_start_timecode, audio_offset_s, speaker")
    if "audio_start_timecode" in data and "audio_offset_s" in data:
        raise FormatError(f"{path}: give audio_start_timecode or audio_offset_s, not both")
    offset = data.get("audio_offset_s")
    if offset is not None and not (isinstance(offset, (int, float)) and not isinstance(offset, bool)
                                   and math.isfinite(offset)):
        raise FormatError(f"{path}: audio_offset_s must be a number of seconds, got {offset!r}")
    if "speaker" in data and not (isinstance(data["speaker"], str) and data["speaker"].strip()):
        raise FormatError(f"{path}: speaker must be a non-empty string")
    data["_path"] = path
    return data


def _audio_offset_s(sidecar: dict, anim: Animation) -> float:
    """Seconds from the first motion frame to the first audio sample (0 without a sidecar)."""
    if "audio_offset_s" in sidecar:
        return float(sidecar["audio_offset_s"])
    if "audio_start_timecode" not in sidecar:
        return 0.0
    where = sidecar["_path"]
    rate = anim.meta.get("timecode_rate")
    if rate is None:
        raise FormatError(f"{where}: audio_start_timecode needs a CSV with a Timecode column")
    try:
        audio_sec, audio_frame = parse_timecode(str(sidecar["audio_start_timecode"]))
        motion_sec, motion_frame = parse_timecode(anim.meta["start_timecode"])
    except ValueError as exc:
        raise FormatError(f"{where}: {exc}") from None
    offset = (audio_sec + audio_frame / rate) - (motion_sec + motion_frame / rate)
    return (offset + _DAY_S / 2) % _DAY_S - _DAY_S / 2  # the nearer way round midnight


def _read_take(take: Take, default_speaker: str, fps, on_mismatch: str, max_mismatch_s: float) -> CaptureClip | None:
    sidecar = read_sidecar(take.wav)
    anim = LLF_CSV.read(take.csv, fps=fps)
    audio = load_audio(take.wav, AUDIO_SAMPLE_RATE)  # (S,)
    sr = AUDIO_SAMPLE_RATE
    offset_s = _audio_offset_s(sidecar, anim)
    first_frame = 0
    if offset_s < 0:  # audio starts before the motion: drop the lead-in
        audio = audio[int(round(-offset_s * sr)):]
    elif offset_s > 0:  # audio starts later: drop the frames before it, start the audio on a frame
        first_frame = math.ceil(offset_s * anim.fps - 1e-9)
        if first_frame >= anim.num_frames:
            raise FormatError(f"{take.wav}: starts {offset_s:.3f} s after the first motion frame of {take.csv}, "
                              f"after its last frame ({anim.duration_s:.3f} s); check {sidecar['_path']}")
        audio = audio[int(round((first_frame / anim.fps - offset_s) * sr)):]
    if not len(audio):
        raise FormatError(f"{take.wav}: no audio left after aligning it to {take.csv} (offset {offset_s:.3f} s)")
    aligned = align_lengths(audio, sr, anim.num_frames - first_frame, anim.fps, take.wav, take.csv,
                            on_mismatch, max_mismatch_s)
    if aligned is None:
        return None
    keep = slice(first_frame, first_frame + aligned.num_frames)
    motion = Animation(anim.weights[keep], anim.names, anim.fps, anim.rig,
                       None if anim.head_pose is None else anim.head_pose[keep], dict(anim.meta))
    meta = {"motion_file": take.csv, "audio_file": take.wav, "start_timecode": anim.meta.get("start_timecode"),
            "timecode_rate": anim.meta.get("timecode_rate"), "audio_offset_s": offset_s,
            "dropped_leading_frames": first_frame, "alignment": "sidecar" if sidecar else "first frame",
            **aligned.meta}
    return CaptureClip(take.name, sidecar.get("speaker", default_speaker), np.ascontiguousarray(aligned.audio),
                       sr, motion, meta)


LIVELINK_READER = LiveLinkReader()
