"""dtsdk.audio: the loader (sources, formats, downmix, bad input) and the resampler (accuracy, streaming)."""
from __future__ import annotations

import io
import math
import os
import re
import struct
import tracemalloc
import warnings

import numpy as np
import pytest
import soundfile as sf

import dtsdk
from dtsdk.audio import AUDIO_SAMPLE_RATE, StreamingResampler, TruncatedAudioWarning, audio_info, load_audio, resample
from dtsdk.audio import io as audio_io
from dtsdk.errors import AudioError


def tone(freq_hz: float, sr: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    """A sine ``(sr * seconds,)`` float32."""
    t = np.arange(int(round(sr * seconds))) / sr
    return (amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32)


def peak_hz_and_amplitude(y: np.ndarray, sr: int) -> tuple[float, float]:
    """FFT peak frequency (Hz, parabolic-interpolated) and sine amplitude of the middle of ``y``."""
    mid = y[len(y) // 8 : -len(y) // 8].astype(np.float64)  # skip the filter's edge transients
    spectrum = np.abs(np.fft.rfft(mid * np.hanning(len(mid))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1 : k + 2])
    offset = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + offset) * sr / len(mid), math.sqrt(2 * np.mean(mid**2))


def wav_bytes(samplerate=16000, channels=1, bits=16, data=b"\0\0" * 100, data_size=None, fmt_tag=1) -> bytes:
    """A hand-made RIFF/WAVE file, with header fields free to be absurd."""
    block_align = (channels * bits // 8) % 65536
    byte_rate = (samplerate * channels * bits // 8) % 2**32
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, samplerate, byte_rate, block_align, bits)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def write(path, samples, sr, **kw):
    sf.write(str(path), samples, sr, **kw)
    return path


# -- round trips through files ---------------------------------------------------------------


@pytest.mark.parametrize("source_sr", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize(
    "suffix, fmt, subtype, tol",
    [
        (".wav", "WAV", "PCM_16", 1e-3),
        (".wav", "WAV", "PCM_24", 1e-3),
        (".wav", "WAV", "FLOAT", 1e-3),
        (".flac", "FLAC", "PCM_16", 1e-3),
        (".ogg", "OGG", "VORBIS", 2e-2),  # lossy
    ],
)
def test_file_round_trip_gives_same_tone_at_16k(tmp_path, source_sr, suffix, fmt, subtype, tol):
    path = write(tmp_path / f"a{suffix}", tone(1000, source_sr, 0.5), source_sr, format=fmt, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == math.ceil(len(tone(1000, source_sr, 0.5)) * 16000 / source_sr)
    freq, amp = peak_hz_and_amplitude(y, 16000)
    assert freq == pytest.approx(1000, abs=2)
    assert amp == pytest.approx(0.5, rel=tol + 5e-3)


def test_same_rate_is_bit_exact_for_float_wav(tmp_path):
    x = np.random.default_rng(0).uniform(-1, 1, 4000).astype(np.float32)
    y = load_audio(write(tmp_path / "a.wav", x, 16000, subtype="FLOAT"))
    np.testing.assert_array_equal(y, x)


def test_target_rate_and_default(tmp_path):
    path = write(tmp_path / "a.wav", tone(440, 22050, 0.2), 22050)
    assert AUDIO_SAMPLE_RATE == 16000
    assert len(dtsdk.load_audio(path)) == math.ceil(4410 * 16000 / 22050)  # sr=None -> 16 kHz
    assert len(load_audio(path, sr=None)) == len(load_audio(path))
    assert len(load_audio(path, sr=48000)) == math.ceil(4410 * 48000 / 22050)
    assert len(dtsdk.load_audio(path, sr=8000.0)) == math.ceil(4410 * 8000 / 22050)


def test_mp3_if_libsndfile_has_it(tmp_path):
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile build has no MP3 support")
    path = tmp_path / "a.mp3"
    try:
        write(path, tone(1000, 44100, 1.0), 44100, format="MP3")
    except sf.LibsndfileError as exc:
        pytest.skip(f"this libsndfile cannot encode MP3 ({exc})")
    freq, amp = peak_hz_and_amplitude(load_audio(path), 16000)
    assert freq == pytest.approx(1000, abs=3)
    assert amp == pytest.approx(0.5, rel=0.05)


@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_is_averaged_to_mono(tmp_path, channels):
    rng = np.random.default_rng(channels)
    x = rng.uniform(-0.5, 0.5, (3000, channels)).astype(np.float32)
    y = load_audio(write(tmp_path / "m.wav", x, 16000, subtype="FLOAT"))
    np.testing.assert_allclose(y, x.mean(axis=1), atol=1e-6)
    assert audio_info(tmp_path / "m.wav").channels == channels


def test_opposite_stereo_channels_cancel(tmp_path):
    x = tone(300, 16000, 0.1)
    y = load_audio(write(tmp_path / "s.wav", np.stack([x, -x], axis=1), 16000, subtype="FLOAT"))
    assert np.abs(y).max() == 0


# -- bytes, file-like and arrays -------------------------------------------------------------


def test_bytes_bytearray_and_file_like(tmp_path):
    x = tone(1000, 44100, 0.3)
    buf = io.BytesIO()
    sf.write(buf, x, 44100, format="FLAC")
    data = buf.getvalue()
    from_path = load_audio(write(tmp_path / "a.flac", x, 44100))
    np.testing.assert_array_equal(load_audio(data), from_path)
    np.testing.assert_array_equal(load_audio(bytearray(data)), from_path)
    np.testing.assert_array_equal(load_audio(io.BytesIO(data)), from_path)
    with open(tmp_path / "a.flac", "rb") as f:
        np.testing.assert_array_equal(load_audio(f), from_path)


def test_non_seekable_file_like_is_buffered():
    buf = io.BytesIO()
    sf.write(buf, tone(500, 16000, 0.1), 16000, format="WAV")

    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self._inner = io.BytesIO(data)

        def readable(self):
            return True

        def seekable(self):
            return False

        def readinto(self, b):
            return self._inner.readinto(b)

    assert len(load_audio(Pipe(buf.getvalue()))) == 1600


@pytest.mark.parametrize(
    "dtype, full_scale, offset",
    [(np.float32, 1.0, 0), (np.float64, 1.0, 0), (np.int16, 2**15, 0), (np.int32, 2**31, 0), (np.int8, 2**7, 0),
     (np.uint8, 128, 128)],
)
def test_array_dtypes_are_scaled_to_unit_range(dtype, full_scale, offset):
    x = tone(250, 16000, 0.05, amplitude=0.75).astype(np.float64)
    raw = np.round(x * (full_scale - 1)) + offset if full_scale != 1 else x
    y = load_audio(raw.astype(dtype), source_sr=16000)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, x, atol=2.0 / min(full_scale, 2**15) + 1e-6)


def test_array_2d_frames_by_channels_and_resampling():
    x = tone(1000, 48000, 0.5)
    y = load_audio(np.stack([x, x, x], axis=1), source_sr=48000)
    freq, amp = peak_hz_and_amplitude(y, 16000)
    assert len(y) == 8000 and freq == pytest.approx(1000, abs=1) and amp == pytest.approx(0.5, rel=0.01)
    info = audio_info(np.zeros((10, 3)), source_sr=8000)
    assert (info.channels, info.frames, info.duration_s) == (3, 10, 10 / 8000)


def test_silence_and_single_sample_are_valid():
    assert not load_audio(np.zeros(16000, np.float32), source_sr=16000).any()
    assert load_audio(np.array([0.5], np.float32), source_sr=16000).tolist() == [0.5]
    assert len(load_audio(np.array([0.5], np.float32), source_sr=44100)) == 1


def test_single_sample_wav(tmp_path):
    one = write(tmp_path / "one.wav", np.array([0.25], np.float32), 16000, subtype="FLOAT")
    assert load_audio(one).tolist() == [0.25]


# -- the resampler -----------------------------------------------------------------------------


@pytest.mark.parametrize("sr_in, sr_out", [(44100, 16000), (48000, 16000), (8000, 16000), (22050, 16000),
                                           (16000, 44100), (16001, 16000)])
def test_resampler_keeps_frequency_and_amplitude(sr_in, sr_out):
    y = resample(tone(1000, sr_in, 1.0), sr_in, sr_out)
    assert len(y) == math.ceil(sr_in * sr_out / sr_in)
    freq, amp = peak_hz_and_amplitude(y, sr_out)
    assert freq == pytest.approx(1000, rel=1e-3)
    assert amp == pytest.approx(0.5, rel=0.01)


@pytest.mark.parametrize("freq_hz, min_rejection_db", [(7900, 60), (9000, 80), (12000, 80), (20000, 80)])
def test_resampler_rejects_aliases_when_downsampling(freq_hz, min_rejection_db):
    # 7.9 kHz is just under the 8 kHz output Nyquist but above the 7.2 kHz cutoff; the others would
    # fold back to 7, 4 and 4 kHz without the anti-aliasing filter.
    y = resample(tone(freq_hz, 44100, 1.0), 44100, 16000)
    mid = y[2000:-2000]
    rms_db = 20 * np.log10(np.sqrt(np.mean(mid.astype(np.float64) ** 2)) / (0.5 / np.sqrt(2)) + 1e-12)
    assert rms_db < -min_rejection_db


def test_resampler_passband_is_flat_for_speech():
    for freq_hz in (100, 3000, 6000):
        _, amp = peak_hz_and_amplitude(resample(tone(freq_hz, 44100, 1.0), 44100, 16000), 16000)
        assert amp == pytest.approx(0.5, rel=0.01), freq_hz


def test_resampler_constant_stays_constant():
    y = resample(np.full(5000, 0.3, np.float32), 44100, 16000)
    np.testing.assert_allclose(y[100:-100], 0.3, atol=1e-5)


@pytest.mark.parametrize("sr_in, sr_out", [(44100, 16000), (8000, 16000), (48000, 44100), (16001, 16000)])
def test_streaming_resampler_equals_whole_signal(sr_in, sr_out):
    x = np.random.default_rng(1).standard_normal(40_000).astype(np.float32)
    whole = resample(x, sr_in, sr_out)
    rng = np.random.default_rng(2)
    resampler, parts, start = StreamingResampler(sr_in, sr_out), [], 0
    while start < len(x):
        n = int(rng.integers(0, 3000))  # includes empty blocks
        parts.append(resampler.process(x[start : start + n]))
        start += n
    parts.append(resampler.flush())
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)


@pytest.mark.parametrize("channels, sr", [(1, 44100), (2, 48000), (6, 16000)])
def test_small_blocks_equal_whole_file(tmp_path, channels, sr):
    x = np.random.default_rng(3).uniform(-0.5, 0.5, (sr // 2, channels)).astype(np.float32)
    path = write(tmp_path / "b.wav", x, sr, subtype="FLOAT")
    whole = load_audio(path, _block_samples=1 << 30)
    for block_samples in (1, 997, 4096):
        np.testing.assert_allclose(load_audio(path, _block_samples=block_samples), whole, atol=1e-5)
    np.testing.assert_allclose(load_audio(x, source_sr=sr, _block_samples=500), whole, atol=1e-5)


def test_long_file_memory_stays_near_output_size(tmp_path):
    # 60 s of 8-channel 48 kHz audio (92 MB as float32): peak allocations must stay near the
    # 16 kHz mono output (3.8 MB) plus one block, far from the file's size.
    sr, seconds, channels = 48000, 60, 8
    path = tmp_path / "long.wav"
    with sf.SoundFile(path, "w", sr, channels, subtype="PCM_16") as f:
        chunk = np.tile(tone(440, sr, 1.0)[:, None], (1, channels))
        for _ in range(seconds):
            f.write(chunk)
    tracemalloc.start()
    try:
        y = load_audio(path, _block_samples=1 << 18)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(y) == seconds * 16000
    output_bytes = y.nbytes
    assert peak < output_bytes + 8 * 2**20, f"peak {peak / 2**20:.1f} MiB"


# -- bad input ---------------------------------------------------------------------------------


def assert_audio_error(excinfo, *fragments):
    message = str(excinfo.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_missing_file(tmp_path):
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path / "nope.wav")
    assert_audio_error(e, "nope.wav", "not found")


def test_directory(tmp_path):
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path)
    assert_audio_error(e, str(tmp_path), "directory")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path / "locked.wav", tone(440, 16000, 0.1), 16000)
    path.chmod(0)
    try:
        with pytest.raises(AudioError) as e:
            load_audio(path)
    finally:
        path.chmod(0o644)
    assert_audio_error(e, "locked.wav", "permission denied")


def test_unreadable_file_simulated(tmp_path, monkeypatch):
    path = write(tmp_path / "locked.wav", tone(440, 16000, 0.1), 16000)
    monkeypatch.setattr(audio_io.os, "access", lambda p, mode: False)
    with pytest.raises(AudioError) as e:
        load_audio(path)
    assert_audio_error(e, "locked.wav", "permission denied")


def test_empty_file_and_empty_bytes(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path / "empty.wav")
    assert_audio_error(e, "empty.wav", "empty")
    with pytest.raises(AudioError) as e:
        load_audio(b"")
    assert_audio_error(e, "<bytes>", "no data")


@pytest.mark.parametrize(
    "content", [b"hello, this is text, not audio\n" * 20, b"\x89PNG\r\n\x1a\n" + b"\0" * 200], ids=["text", "png"]
)
def test_non_audio_file(tmp_path, content):
    (tmp_path / "fake.wav").write_bytes(content)
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path / "fake.wav")
    assert_audio_error(e, "fake.wav", "not an audio file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_named_pipe_is_refused_as_not_a_regular_file_without_opening_it(tmp_path, monkeypatch):
    fifo = tmp_path / "speech.wav"
    os.mkfifo(fifo)

    def never_open(*args, **kwargs):  # opening a pipe with no writer would block the test forever
        raise AssertionError("the named pipe was opened")

    monkeypatch.setattr(audio_io.sf, "SoundFile", never_open)
    monkeypatch.setattr("builtins.open", never_open)
    for read in (load_audio, audio_info):
        with pytest.raises(AudioError) as e:
            read(fifo)
        assert_audio_error(e, "speech.wav", "not a regular file", "named pipe")
        assert "not found" not in str(e.value)


@pytest.mark.parametrize("block_samples", [audio_io._BLOCK_SAMPLES, 4096, 10_000], ids=["default", "4096", "10000"])
def test_flac_corrupted_in_the_middle_names_where_decoding_failed(tmp_path, block_samples):
    seconds, sr = 10.0, 16000
    noise = 0.05 * np.random.default_rng(0).standard_normal(int(seconds * sr)).astype(np.float32)
    path = write(tmp_path / "take.flac", tone(220, sr, seconds, 0.3) + noise, sr, format="FLAC", subtype="PCM_16")
    data = bytearray(path.read_bytes())
    start = int(0.6 * len(data))  # noise keeps the bitrate even, so bytes map to time linearly
    data[start : start + 3000] = np.random.default_rng(1).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    damaged_s = 0.6 * seconds
    with pytest.raises(AudioError) as e:
        load_audio(path, _block_samples=block_samples)
    message = str(e.value)
    assert_audio_error(e, "take.flac", "decoding failed")
    found = re.search(r"decoding failed (?:at ([\d.]+) s|between ([\d.]+) s and ([\d.]+) s)", message)
    assert found, message
    positions = [float(x) for x in found.groups() if x is not None]
    # Decoding stops at the last intact FLAC frame (4096 samples = 0.256 s) before the damage.
    assert all(damaged_s - 0.7 < t < damaged_s + 0.3 for t in positions), message


def test_truncated_wav_reads_what_is_there_with_a_warning(tmp_path):
    samples = (np.arange(100, dtype=np.int16) * 100).tobytes()
    (tmp_path / "cut.wav").write_bytes(wav_bytes(data=samples, data_size=200_000))
    with pytest.warns(TruncatedAudioWarning, match=r"cut\.wav.*truncated.*100 frames"):
        y = load_audio(tmp_path / "cut.wav")
    np.testing.assert_allclose(y, np.arange(100) * 100 / 32768, atol=1e-6)


def test_intact_wav_gives_no_warning(tmp_path):
    path = write(tmp_path / "ok.wav", tone(440, 16000, 0.1), 16000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_audio(path)


def test_header_without_samples(tmp_path):
    (tmp_path / "hdr.wav").write_bytes(wav_bytes(data=b""))
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path / "hdr.wav")
    assert_audio_error(e, "hdr.wav", "contains no samples")


def test_nan_and_inf_samples(tmp_path):
    x = np.zeros(1600, np.float32)
    x[800] = np.nan
    with pytest.raises(AudioError) as e:
        load_audio(write(tmp_path / "nan.wav", x, 16000, subtype="FLOAT"))
    assert_audio_error(e, "nan.wav", "NaN", "0.050 s")
    x[800] = np.inf
    with pytest.raises(AudioError) as e:
        load_audio(x, source_sr=16000)
    assert_audio_error(e, "<array>", "infinite")


@pytest.mark.parametrize(
    "header, problem",
    [
        (dict(samplerate=0), "header"),
        (dict(samplerate=10**9), "1000000000 Hz"),
        (dict(samplerate=10), "10 Hz"),
        (dict(channels=0), "zero channels"),
        (dict(channels=65535, data=b"\0" * 65535 * 4), "channels"),
        (dict(channels=2000, data=b"\0" * 8000), "channels"),
    ],
    ids=["sr0", "sr1e9", "sr10", "ch0", "ch65535", "ch2000"],
)
def test_absurd_headers(tmp_path, header, problem):
    (tmp_path / "odd.wav").write_bytes(wav_bytes(**header))
    with pytest.raises(AudioError) as e:
        load_audio(tmp_path / "odd.wav")
    assert_audio_error(e, "odd.wav", problem)
    with pytest.raises(AudioError) as e:
        load_audio(wav_bytes(**header), name="upload.wav")
    assert_audio_error(e, "upload.wav", problem)


@pytest.mark.parametrize("sr", [0, -16000, 16000.5, "16k", True, 10**9, float("nan")])
def test_invalid_target_rate(tmp_path, sr):
    path = write(tmp_path / "a.wav", tone(440, 16000, 0.1), 16000)
    with pytest.raises(AudioError) as e:
        load_audio(path, sr=sr)
    assert_audio_error(e, "a.wav", "sr must be")


def test_bad_arrays():
    cases = [
        (dict(source=np.zeros(10)), "source_sr"),
        (dict(source=np.zeros(10), source_sr=0), "source_sr must be"),
        (dict(source=np.zeros(0), source_sr=16000), "contains no samples"),
        (dict(source=np.zeros((10, 0)), source_sr=16000), "zero channels"),
        (dict(source=np.zeros((2, 48000)), source_sr=16000), "transpose"),
        (dict(source=np.zeros((2, 2, 2)), source_sr=16000), "1-D"),
        (dict(source=np.zeros(10, np.complex64), source_sr=16000), "dtype"),
        (dict(source=np.zeros(10, np.int64), source_sr=16000), "dtype"),
    ]
    for kwargs, problem in cases:
        with pytest.raises(AudioError) as e:
            load_audio(**kwargs)
        assert_audio_error(e, "<array>", problem)


def test_unsupported_source_type_and_stray_source_sr(tmp_path):
    with pytest.raises(AudioError) as e:
        load_audio(12345)
    assert_audio_error(e, "unsupported audio source int")
    path = write(tmp_path / "a.wav", tone(440, 16000, 0.1), 16000)
    with pytest.raises(AudioError) as e:
        load_audio(path, source_sr=44100)
    assert_audio_error(e, "a.wav", "source_sr is only for arrays")


def test_max_duration_guard(tmp_path, monkeypatch):
    path = write(tmp_path / "ten.wav", tone(440, 16000, 10.0), 16000)
    assert audio_info(path).duration_s == pytest.approx(10.0)
    assert len(load_audio(path, max_duration_s=10)) == 160_000
    # It must refuse before decoding anything: make any read fail loudly.
    monkeypatch.setattr(sf.SoundFile, "read", lambda *a, **k: pytest.fail("read before the guard"))
    with pytest.raises(AudioError) as e:
        load_audio(path, max_duration_s=5)
    assert_audio_error(e, "ten.wav", "10.0 s", "max_duration_s=5")
    with pytest.raises(AudioError) as e:
        load_audio(np.zeros(48000), source_sr=16000, max_duration_s=2.5)
    assert_audio_error(e, "<array>", "max_duration_s=2.5")
    with pytest.raises(AudioError) as e:
        load_audio(path, max_duration_s=-1)
    assert_audio_error(e, "max_duration_s must be")


def test_max_duration_guard_holds_when_header_understates_length(tmp_path, monkeypatch):
    # Stream headers (MP3, pipes) may estimate the length: the guard also counts frames while reading.
    # Not seekable, so soundfile does not clip reads to the (understated) header length.
    path = write(tmp_path / "ten.wav", tone(440, 16000, 10.0), 16000)
    monkeypatch.setattr(sf.SoundFile, "frames", property(lambda self: 16000))
    monkeypatch.setattr(sf.SoundFile, "seekable", lambda self: False)
    with pytest.raises(AudioError) as e:
        load_audio(path, max_duration_s=5, _block_samples=16000)
    assert_audio_error(e, "ten.wav", "longer than max_duration_s=5")


def test_rate_ratio_too_fine_to_resample_is_an_audio_error():
    # 767999 Hz (a corrupt header, say) is co-prime with 16 kHz: refuse rather than build a 400 MiB bank.
    with pytest.raises(AudioError) as e:
        load_audio(np.zeros(10, np.float32), source_sr=767_999)
    assert_audio_error(e, "<array>", "767999 Hz", "too fine")


def test_resampler_matches_scipy_resample_poly_in_the_passband():
    signal = pytest.importorskip("scipy.signal", reason="scipy is only a test oracle")
    rng = np.random.default_rng(4)
    t = np.arange(44100) / 44100
    x = sum(rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6))
            for f in (120, 440, 1900, 3300, 5100))
    ours = resample(x.astype(np.float32), 44100, 16000)
    theirs = signal.resample_poly(x, 160, 441)
    np.testing.assert_allclose(ours[800:-800], theirs[800:-800], atol=2e-3)
