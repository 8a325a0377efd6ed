"""dtsdk.audio: bad input gets one clear error (or a warning) naming the file and the problem."""
from __future__ import annotations

import os
import re
import warnings

import numpy as np
import pytest
import soundfile as sf

from dtsdk.audio import TruncatedAudioWarning, audio_info, load_audio, resample
from dtsdk.audio import io as audio_io
from dtsdk.errors import AudioError
from audio_helpers import tone, wav_bytes, write


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
