"""Signals and hand-made files shared by the audio tests."""
from __future__ import annotations

import math
import struct

import numpy as np
import soundfile as sf


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
