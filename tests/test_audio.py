"""dtsdk.audio: the loader (sources, formats, downmix) and the resampler (accuracy, streaming); bad input is in
test_audio_errors.py."""
from __future__ import annotations

import io
import math
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

import dtsdk
from dtsdk.audio import AUDIO_SAMPLE_RATE, StreamingResampler, audio_info, load_audio, resample
from audio_helpers import peak_hz_and_amplitude, tone, write


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
