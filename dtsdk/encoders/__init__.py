"""Audio encoders: waveform ``(B, S)`` -> frame-aligned features ``(B, T, D)``.

Every encoder is an ``nn.Module`` with ``sample_rate`` (Hz) and ``feature_dim`` attributes and
``forward(wave, num_frames)``; registered factories build them (see :mod:`dtsdk.hookspecs`).
"""
from __future__ import annotations


def build_encoder(name: str, **config):
    from dtsdk.plugins import lookup

    return lookup("audio_encoder", name).obj(**config)
