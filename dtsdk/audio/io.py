"""The one audio loader: a path, bytes, a file-like object or an array in; mono float32 at ``sr`` out.

Files are decoded by libsndfile (through ``soundfile``): WAV, FLAC, OGG/Vorbis, MP3 where the
installed libsndfile has it (see ``soundfile.available_formats()``), AIFF, ...  They are read in
blocks; each block is downmixed (channel mean) and fed to a streaming resampler, so memory holds
one block plus the float32 mono output, never the whole file in float64 or in all its channels.

Decisions worth knowing:

* A truncated file (header promises more data than present) is read up to where the data ends,
  with a :class:`TruncatedAudioWarning` naming the file.  libsndfile already trims its frame count
  to the bytes present, so nothing beyond the file is ever read.
* Corrupt data past the header (a FLAC damaged in the middle) is an error naming where decoding
  broke, not a silent cut.
* A path must be a regular file: a named pipe, socket or device is refused before it is opened
  (opening a pipe blocks until something writes to it, and libsndfile seeks).  A stream can
  still be read as a file-like object, which is buffered.
* Zero samples is an error ("contains no samples"); one sample is valid input.
* NaN or infinite samples are an error: they would poison every frame the model produces.
* Sample values are not clipped: a float file with peaks above 1.0 comes back as it is.
"""
from __future__ import annotations

import io
import math
import numbers
import os
import re
import stat
import warnings
from dataclasses import dataclass

import numpy as np
import soundfile as sf

from dtsdk.audio.resample import StreamingResampler
from dtsdk.errors import AudioError

AUDIO_SAMPLE_RATE = 16000  # Hz; the rate the speech encoders expect
MIN_SAMPLE_RATE = 1_000  # Hz; below this a header is corrupt rather than audio
MAX_SAMPLE_RATE = 768_000  # Hz; the highest rate real converters record at
MAX_CHANNELS = 1024  # libsndfile's own limit
_BLOCK_SAMPLES = 1 << 20  # samples (frames x channels) per read: 4 MiB as float32

# libsndfile's header log flags a data chunk that is longer than the file as "data : N (should be M)".
_TRUNCATED_LOG = re.compile(r"^data\s*:\s*\d+\s*\(should be", re.MULTILINE)


class TruncatedAudioWarning(UserWarning):
    """The file's header promises more audio than the file holds; what is there was read."""


@dataclass(frozen=True)
class AudioInfo:
    """What a header says about a source, without decoding samples."""

    samplerate: int  # Hz
    channels: int
    frames: int  # samples per channel
    format: str  # libsndfile format name ("WAV", "FLAC", ...) or "array"
    subtype: str  # "PCM_16", "FLOAT", "VORBIS", ... or the array's dtype

    @property
    def duration_s(self) -> float:
        return self.frames / self.samplerate


def load_audio(
    source,
    sr: int | None = AUDIO_SAMPLE_RATE,
    *,
    source_sr: int | None = None,
    max_duration_s: float | None = None,
    name: str | None = None,
    _block_samples: int = _BLOCK_SAMPLES,
) -> np.ndarray:
    """Load speech as mono float32 samples ``(S,)`` in [-1, 1] at ``sr`` Hz.

    ``source`` is a path (str or PathLike), ``bytes``/``bytearray``, a binary file-like object,
    or a numpy array of shape ``(frames,)`` or ``(frames, channels)`` whose rate ``source_sr`` (Hz)
    must be given.  Arrays may be float (taken as is) or int8/int16/int32/uint8 PCM (scaled to
    [-1, 1]).  ``sr=None`` means :data:`AUDIO_SAMPLE_RATE`.  ``max_duration_s`` rejects longer
    sources before decoding them.  ``name`` replaces the source's label in error messages (useful
    for uploads passed as bytes).  The output has ``ceil(frames * sr / source rate)`` samples.

    Raises :class:`~dtsdk.errors.AudioError`, one line naming the source and the problem.
    """
    label = _label(source, name)
    sr = _check_rate(AUDIO_SAMPLE_RATE if sr is None else sr, label, "target sample rate sr")
    if max_duration_s is not None and not (_is_number(max_duration_s) and max_duration_s > 0):
        raise AudioError(f"{label}: max_duration_s must be a positive number of seconds, got {max_duration_s!r}")
    if isinstance(source, np.ndarray):
        return _load_array(source, sr, source_sr, label, max_duration_s, _block_samples)
    if source_sr is not None:
        raise AudioError(f"{label}: source_sr is only for arrays; a file's header gives its own rate")
    with _open(source, label) as f:
        info = _check_header(f, label)
        _check_duration(info, label, max_duration_s)
        return _read_file(f, info, sr, label, max_duration_s, _block_samples)


def audio_info(source, *, source_sr: int | None = None, name: str | None = None) -> AudioInfo:
    """Sample rate, channels, frames and duration of ``source`` (same sources as :func:`load_audio`),
    without decoding."""
    label = _label(source, name)
    if isinstance(source, np.ndarray):
        frames, channels = _array_shape(source, label)
        return AudioInfo(_array_rate(source_sr, label), channels, frames, "array", str(source.dtype))
    with _open(source, label) as f:
        return _check_header(f, label)


# -- sources -----------------------------------------------------------------------------------


def _label(source, name: str | None) -> str:
    """How error messages name the source: the file path, or ``<bytes>``/``<array>``/``<file>``."""
    if name is not None:
        return str(name)
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    if isinstance(source, np.ndarray):
        return "<array>"
    file_name = getattr(source, "name", None)
    return file_name if isinstance(file_name, str) else "<file>"


def _open(source, label: str) -> sf.SoundFile:
    """Open ``source`` with libsndfile, turning every failure into a one-line :class:`AudioError`."""
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        # Checked up front because libsndfile reports all of these as "Format not recognised"
        # or a bare system error that does not say which file.
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            raise AudioError(f"{label}: file not found") from None
        except OSError as exc:
            raise AudioError(f"{label}: cannot read audio ({exc.strerror or exc})") from None
        if stat.S_ISDIR(mode):
            raise AudioError(f"{label}: is a directory, not an audio file")
        if not stat.S_ISREG(mode):
            # Never opened: reading a named pipe blocks until a writer comes, and libsndfile seeks.
            raise AudioError(f"{label}: is not a regular file ({_file_kind(mode)}); save the audio to a file first")
        if not os.access(path, os.R_OK):
            raise AudioError(f"{label}: permission denied; the file is not readable by this user")
        if os.path.getsize(path) == 0:
            raise AudioError(f"{label}: file is empty (0 bytes)")
        opened = path
    elif isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioError(f"{label}: contains no data (0 bytes)")
        opened = io.BytesIO(bytes(source))
    elif hasattr(source, "read"):
        opened = source
        if not (hasattr(source, "seekable") and source.seekable()):
            opened = io.BytesIO(source.read())  # libsndfile seeks while parsing headers
    else:
        raise AudioError(
            f"{label}: unsupported audio source {type(source).__name__}; "
            "pass a path, bytes, a binary file object or a numpy array"
        )
    try:
        return sf.SoundFile(opened)
    except sf.LibsndfileError as exc:
        raise AudioError(f"{label}: {_describe_open_error(exc)}") from None
    except (OSError, RuntimeError, ValueError, TypeError) as exc:
        raise AudioError(f"{label}: cannot read audio ({exc})") from None


def _file_kind(mode: int) -> str:
    """What a non-regular, non-directory file is, for messages."""
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"


def _describe_open_error(exc: sf.LibsndfileError) -> str:
    detail = exc.error_string.strip().rstrip(".")
    if "Format not recognised" in detail:
        return "not an audio file libsndfile can read (WAV, FLAC, OGG, MP3, ...): format not recognised"
    if "Channel count is zero" in detail:
        return "header says the audio has zero channels"
    if "Too many channels" in detail:
        return f"header says the audio has more than {MAX_CHANNELS} channels; the file is corrupt"
    return f"invalid or corrupt audio header (libsndfile: {detail})"


def _check_header(f: sf.SoundFile, label: str) -> AudioInfo:
    """Reject headers no real recording has, before any samples are decoded."""
    if f.channels < 1:
        raise AudioError(f"{label}: header says the audio has zero channels")
    if f.channels > MAX_CHANNELS:
        raise AudioError(f"{label}: header says the audio has {f.channels} channels (max {MAX_CHANNELS}); "
                         "the file is corrupt")
    if not MIN_SAMPLE_RATE <= f.samplerate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{label}: header says the sample rate is {f.samplerate} Hz, outside "
            f"{MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz; the file is corrupt"
        )
    info = AudioInfo(f.samplerate, f.channels, max(int(f.frames), 0), f.format, f.subtype)
    if _TRUNCATED_LOG.search(f.extra_info or ""):
        warnings.warn(
            f"{label}: truncated: the header promises more audio than the file holds; "
            f"reading the {info.frames} frames present ({info.duration_s:.3f} s)",
            TruncatedAudioWarning,
            stacklevel=3,
        )
    return info


def _check_duration(info: AudioInfo, label: str, max_duration_s: float | None) -> None:
    if info.frames == 0:
        raise AudioError(f"{label}: contains no samples")
    if max_duration_s is not None and info.duration_s > max_duration_s:
        raise AudioError(f"{label}: is {info.duration_s:.1f} s long, more than max_duration_s={max_duration_s:g}")


# -- decoding ----------------------------------------------------------------------------------


def _resampler(sr_in: int, sr_out: int, label: str) -> StreamingResampler:
    try:
        return StreamingResampler(sr_in, sr_out)
    except ValueError as exc:
        raise AudioError(f"{label}: cannot resample {sr_in} Hz to {sr_out} Hz: {exc}") from None


def _read_file(f: sf.SoundFile, info: AudioInfo, sr: int, label: str, max_duration_s, block_samples: int) -> np.ndarray:
    """Decode block by block: (frames, channels) float32 -> mean -> streaming resample -> output."""
    block_frames = max(1, block_samples // info.channels)  # many channels -> fewer frames per block
    resampler = _resampler(info.samplerate, sr, label)
    out = _Output(math.ceil(info.frames * sr / info.samplerate))
    frames_read = 0
    while True:
        try:
            block = f.read(block_frames, dtype="float32", always_2d=True)  # (n, channels)
        except (sf.SoundFileError, RuntimeError, ValueError) as exc:
            where = _failure_position(f, frames_read, block_frames, info)
            raise AudioError(f"{label}: corrupt audio: decoding failed {where} ({_decode_detail(exc)})") from None
        if len(block) == 0:
            break
        mono = block[:, 0] if info.channels == 1 else block.mean(axis=1)  # (n,)
        _check_finite(mono, label, frames_read, info.samplerate)
        frames_read += len(block)
        # Headers of some streams (e.g. MP3) only estimate the length, so the guard holds while reading too.
        if max_duration_s is not None and frames_read / info.samplerate > max_duration_s:
            raise AudioError(f"{label}: is longer than max_duration_s={max_duration_s:g}")
        out.append(resampler.process(mono))
    if frames_read == 0:
        raise AudioError(f"{label}: contains no samples")
    out.append(resampler.flush())
    return out.result()


def _failure_position(f: sf.SoundFile, frames_read: int, block_frames: int, info: AudioInfo) -> str:
    """Where a failed block read broke: "at X s", or "between A s and B s" when only the block is known.

    After a decoding error libsndfile's position is the frames it decoded before the bad data (its
    FLAC decoder reports it to the FLAC frame); some errors leave it at -1, and then the block that
    failed is all that is known.
    """
    block_end = min(frames_read + block_frames, max(info.frames, frames_read))
    try:
        at = f.tell()
    except (sf.SoundFileError, RuntimeError, ValueError):
        at = -1
    if frames_read <= at <= block_end:
        return f"at {at / info.samplerate:.3f} s"
    return f"between {frames_read / info.samplerate:.3f} s and {block_end / info.samplerate:.3f} s"


def _decode_detail(exc: Exception) -> str:
    """libsndfile's reason without its "Error : " prefix, on one line."""
    detail = exc.error_string if isinstance(exc, sf.LibsndfileError) else str(exc)
    detail = re.sub(r"^\s*Error\s*:\s*", "", " ".join(str(detail).split())).rstrip(".")
    return f"libsndfile: {detail}" if isinstance(exc, sf.LibsndfileError) else detail


def _load_array(a: np.ndarray, sr: int, source_sr, label: str, max_duration_s, block_samples: int) -> np.ndarray:
    """The array path of :func:`load_audio`: scale, downmix and resample in blocks like a file."""
    rate = _array_rate(source_sr, label)
    frames, channels = _array_shape(a, label)
    to_float = _pcm_scaler(a.dtype, label)
    _check_duration(AudioInfo(rate, channels, frames, "array", str(a.dtype)), label, max_duration_s)
    samples = a.reshape(frames, channels)  # (frames, channels), a view
    resampler = _resampler(rate, sr, label)
    out = _Output(math.ceil(frames * sr / rate))
    block_frames = max(1, block_samples // channels)
    for start in range(0, frames, block_frames):
        block = to_float(samples[start : start + block_frames])  # (n, channels) float32
        mono = block[:, 0] if channels == 1 else block.mean(axis=1)  # (n,)
        _check_finite(mono, label, start, rate)
        out.append(resampler.process(mono))
    out.append(resampler.flush())
    return out.result()


def _array_rate(source_sr, label: str) -> int:
    if source_sr is None:
        raise AudioError(f"{label}: an array carries no sample rate; pass source_sr=<Hz>, "
                         "e.g. load_audio(x, source_sr=44100)")
    return _check_rate(source_sr, label, "source_sr")


def _array_shape(a: np.ndarray, label: str) -> tuple[int, int]:
    """``(frames, channels)`` of a 1-D ``(frames,)`` or 2-D ``(frames, channels)`` array."""
    if a.ndim not in (1, 2):
        raise AudioError(f"{label}: must be 1-D (frames,) or 2-D (frames, channels), got shape {a.shape}")
    frames, channels = (a.shape[0], 1) if a.ndim == 1 else a.shape
    if channels == 0:
        raise AudioError(f"{label}: has zero channels (shape {a.shape})")
    if channels > MAX_CHANNELS:
        raise AudioError(
            f"{label}: has {channels} channels (shape {a.shape}); arrays are (frames, channels), "
            "so transpose a (channels, frames) array with .T"
        )
    if frames == 0:
        raise AudioError(f"{label}: contains no samples")
    return frames, channels


def _pcm_scaler(dtype: np.dtype, label: str):
    """A function mapping a block of ``dtype`` samples to float32 in [-1, 1] (ints as PCM)."""
    if dtype.kind == "f":
        return lambda block: block.astype(np.float32)
    if dtype in (np.int8, np.int16, np.int32):
        scale = 2.0 ** (8 * dtype.itemsize - 1)  # full scale of signed PCM
        return lambda block: (block / scale).astype(np.float32)
    if dtype == np.uint8:  # 8-bit WAV convention: unsigned, silence at 128
        return lambda block: ((block - 128.0) / 128.0).astype(np.float32)
    raise AudioError(
        f"{label}: unsupported sample dtype {dtype}; pass float samples in [-1, 1] or int8/int16/int32/uint8 PCM"
    )


def _check_finite(mono: np.ndarray, label: str, first_frame: int, rate: int) -> None:
    """Reject NaN/Inf samples, naming the time of the first one."""
    bad = ~np.isfinite(mono)
    if bad.any():
        at_s = (first_frame + int(np.argmax(bad))) / rate
        raise AudioError(f"{label}: contains NaN or infinite samples (first at {at_s:.3f} s)")


def _check_rate(rate, label: str, what: str) -> int:
    """A sample rate as an int in Hz; integral floats like 16000.0 are accepted."""
    if not _is_number(rate) or rate != int(rate) or not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            f"{label}: {what} must be a whole number of Hz in {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE}, got {rate!r}"
        )
    return int(rate)


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


class _Output:
    """Collects output chunks into one float32 array preallocated from the header's length."""

    def __init__(self, expected: int):
        self._data = np.empty(max(expected, 1), dtype=np.float32)
        self._size = 0

    def append(self, chunk: np.ndarray) -> None:
        end = self._size + chunk.size
        if end > self._data.size:  # the header underestimated the length (possible for MP3)
            grown = np.empty(max(end, self._data.size * 3 // 2), dtype=np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = chunk
        self._size = end

    def result(self) -> np.ndarray:
        """The ``(S,)`` samples; copied only if the buffer is much larger, so it is not held alive."""
        if self._size < 0.9 * self._data.size:
            return self._data[: self._size].copy()
        return self._data[: self._size]
