"""The enrollment folder scan: which recordings (and captures beside them) an enrollment uses, and why
the rest are skipped.

Recursive. Every file is audio if the one audio loader reads it (any format libsndfile decodes);
hidden files and folders, macOS ``._*`` forks and capture sidecars (``*.align.json``) are skipped
without being opened. A motion capture sits beside its recording with the same stem
(``take.wav`` + ``take.csv`` / ``take.npz`` / anything else): a capture-reader plugin that
recognises the file reads it (its alignment rules apply), else the animation reader of its
extension (``.npz``, Live Link Face ``.csv``, ...). A capture whose length does not match its
audio (beyond :data:`dtsdk.capture._align.DEFAULT_MAX_MISMATCH_S`), one that cannot be read, and a
capture with no recording are named skips; nothing is silently dropped.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dtsdk.audio import load_audio
from dtsdk.errors import DtsdkError

log = logging.getLogger("dtsdk.enroll")
SIDECAR_SUFFIXES = (".align.json",)
# Extensions that name audio: a file with one that does not decode is "unreadable audio", not a capture.
AUDIO_SUFFIXES = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".caf", ".w64", ".au")


@dataclass
class Recording:
    """One usable recording: audio (S,) float32 at the model's rate, and its motion (T, D) if captured."""

    audio_path: Path
    audio: np.ndarray
    motion: np.ndarray | None = None
    motion_path: Path | None = None

    def seconds(self, sample_rate: int) -> float:
        return len(self.audio) / sample_rate


@dataclass
class Scan:
    folder: Path
    used: list[Recording] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)

    def seconds(self, sample_rate: int) -> float:
        return sum(r.seconds(sample_rate) for r in self.used)

    def summary(self, sample_rate: int) -> dict:
        captured = [r for r in self.used if r.motion is not None]
        return {"folder": str(self.folder), "files": len(self.used), "with_capture": len(captured),
                "seconds": round(self.seconds(sample_rate), 3),
                "captured_seconds": round(sum(r.seconds(sample_rate) for r in captured), 3),
                "skipped": len(self.skipped),
                "mode": "captures" if captured else "audio-only"}


def scan_recordings(folder, model_config, min_seconds: float) -> Scan:
    """Read the recordings (and captures) under ``folder`` for a model with ``model_config``.

    Raises a one-line DtsdkError when the folder is missing, holds no usable recording, or less
    than ``min_seconds`` of audio; logs each file used and skipped.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DtsdkError(f"{folder}: no such folder of recordings")
    scan = Scan(folder)
    files = _visible_files(folder, scan)
    audio: dict[Path, np.ndarray] = {}
    others: list[Path] = []
    for path in files:
        wave, why = _try_audio(path, model_config.sample_rate)
        if wave is not None:
            audio[path] = wave
        elif why is None:
            others.append(path)
        else:
            _skip(scan, path, why)
    captures = _captures_by_recording(audio, others, scan)
    for path, wave in audio.items():
        recording = Recording(path, wave)
        for capture in captures.get(path, []):
            if recording.motion is not None:
                _skip(scan, capture, f"a second capture of {path.name}; {recording.motion_path.name} is used")
                continue
            try:
                recording.audio, recording.motion = _read_capture(capture, path, wave, model_config)
                recording.motion_path = capture
            except DtsdkError as exc:
                _skip(scan, capture, f"capture not used ({exc}); its recording is used as audio only")
        scan.used.append(recording)
        with_capture = f" with capture {recording.motion_path.name}" if recording.motion is not None else ""
        log.info("using %s (%.1f s%s)", _rel(path, folder), recording.seconds(model_config.sample_rate), with_capture)
    _check_enough(scan, model_config.sample_rate, min_seconds)
    summary = scan.summary(model_config.sample_rate)
    log.info("enrolling from %d file(s), %.1f s of audio (%d with a capture, %.1f s); %d file(s) skipped",
             summary["files"], summary["seconds"], summary["with_capture"], summary["captured_seconds"],
             summary["skipped"])
    return scan


def _visible_files(folder: Path, scan: Scan) -> list[Path]:
    found = []
    for root, dirs, names in os.walk(folder):
        for d in sorted(dirs):
            if d.startswith("."):
                _skip(scan, Path(root) / d, "hidden folder")
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            path = Path(root) / name
            if name.startswith("._"):
                _skip(scan, path, "a macOS resource fork (._*), not a recording")
            elif name.startswith("."):
                _skip(scan, path, "hidden file")
            elif name.lower().endswith(SIDECAR_SUFFIXES):
                continue  # read by the capture reader of its take
            else:
                found.append(path)
    return found


def _try_audio(path: Path, sample_rate: int) -> tuple[np.ndarray | None, str | None]:
    """(samples, None) for audio; (None, None) for a file libsndfile does not take as audio (maybe a
    capture); (None, why) for an audio file that cannot be used."""
    import soundfile as sf

    from dtsdk.errors import AudioError

    try:
        sf.info(str(path))
    except Exception:  # not a format libsndfile knows: a capture, or something else
        if path.suffix.lower() not in AUDIO_SUFFIXES:
            return None, None
    # An audio file by its name that libsndfile cannot open still gets the loader's own message.
    try:
        return load_audio(path, sr=sample_rate), None
    except AudioError as exc:
        return None, f"unreadable audio ({_without_path(exc, path)})"


def _captures_by_recording(audio: dict[Path, np.ndarray], others: list[Path], scan: Scan) -> dict[Path, list[Path]]:
    by_stem = {(p.parent, p.stem): p for p in audio}
    captures: dict[Path, list[Path]] = {}
    for path in others:
        recording = by_stem.get((path.parent, path.stem))
        if recording is None:
            _skip(scan, path, "not audio, and no recording of the same stem beside it to be its capture")
        else:
            captures.setdefault(recording, []).append(path)
    return captures


def _read_capture(capture: Path, audio_path: Path, wave: np.ndarray, config) -> tuple[np.ndarray, np.ndarray]:
    """A capture beside ``audio_path`` -> (audio (S,), motion (T, D)) aligned at the model's fps."""
    from dtsdk.capture._align import align_lengths

    animation, wave = _capture_animation(capture, audio_path, wave, config.sample_rate)
    animation = animation.resample(config.fps)
    if config.is_arkit:
        motion = animation.arkit_weights()  # (T, 52); a vertex capture raises a RigError (a DtsdkError)
    elif animation.weights.shape[1] == config.motion_dim:
        motion = animation.weights.astype(np.float32)
    else:
        raise DtsdkError(f"{animation.weights.shape[1]} channels, the model's motion has {config.motion_dim}")
    aligned = align_lengths(wave, config.sample_rate, len(motion), config.fps, str(audio_path), str(capture))
    return aligned.audio, np.ascontiguousarray(motion[:aligned.num_frames], dtype=np.float32)


def _capture_animation(capture: Path, audio_path: Path, wave: np.ndarray, sample_rate: int):
    """A capture-reader plugin that recognises the file (with its own audio alignment), else the
    animation reader of the file's extension."""
    from dtsdk.capture import CaptureReader, read_captures
    from dtsdk.exporters import get_exporter, load_animation
    from dtsdk.plugins import registry

    reader_error = None
    for entry in registry("capture_reader").values():
        reader = entry.obj
        if isinstance(reader, CaptureReader) and reader.can_read(capture):
            try:
                clips = [c for c in read_captures(capture, reader=reader) if _same_take(c, audio_path)]
            except DtsdkError as exc:  # e.g. Live Link Face wants a WAV beside its CSV: the format reader may do
                reader_error = exc
                continue
            if len(clips) == 1:
                clip = clips[0]
                return clip.animation, load_audio(clip.audio, sr=sample_rate, source_sr=clip.sample_rate)
    try:
        exporter = get_exporter(path=capture)
    except DtsdkError:
        raise reader_error or DtsdkError("no capture reader or animation format reads this file") from None
    if not exporter.can_read:
        raise reader_error or DtsdkError(f"the '{exporter.name}' format cannot be read back")
    return load_animation(capture), wave


def _same_take(clip, audio_path: Path) -> bool:
    return clip.name == audio_path.stem or clip.meta.get("audio") in (str(audio_path), audio_path.name)


def _check_enough(scan: Scan, sample_rate: int, min_seconds: float) -> None:
    seconds = scan.seconds(sample_rate)
    skipped = ""
    if scan.skipped:
        first, why = scan.skipped[0]
        skipped = f"; skipped {len(scan.skipped)} file(s), e.g. {_rel(first, scan.folder)}: {why}"
    if not scan.used:
        raise DtsdkError(f"{scan.folder}: no usable recording (any audio format the loader reads){skipped}")
    if seconds < min_seconds:
        raise DtsdkError(f"{scan.folder}: only {seconds:.1f} s of usable audio in {len(scan.used)} file(s); "
                         f"enrollment needs at least {min_seconds:g} s{skipped}")


def _skip(scan: Scan, path: Path, why: str) -> None:
    scan.skipped.append((path, why))
    log.info("skipping %s: %s", _rel(path, scan.folder), why)


def _rel(path: Path, root: Path) -> str:
    return os.path.relpath(path, root)


def _without_path(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text
