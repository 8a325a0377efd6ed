"""Log-mel spectrogram features with torch.stft (no torchaudio), resampled to the motion frame rate."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def mel_filterbank(n_mels: int, n_fft: int, sample_rate: int, f_min: float = 20.0,
                   f_max: float | None = None) -> torch.Tensor:
    """Triangular filters on the HTK mel scale, ``(n_mels, n_fft // 2 + 1)``, each normalised to unit area."""
    f_max = sample_rate / 2 if f_max is None else f_max

    def hz_to_mel(f):
        return 2595.0 * math.log10(1.0 + f / 700.0)

    mels = torch.linspace(hz_to_mel(f_min), hz_to_mel(f_max), n_mels + 2, dtype=torch.float64)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)  # (n_mels + 2,)
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)  # (F,)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (bins[None] - lo) / (mid - lo)
    down = (hi - bins[None]) / (hi - mid)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    fb = fb / fb.sum(dim=1, keepdim=True).clamp(min=1e-12)
    return fb.float()


class LogMelEncoder(nn.Module):
    """Fixed (parameter-free) log-mel features: 25 ms windows, 10 ms hop, ``n_mels`` bands.

    ``forward(wave (B, S), num_frames) -> (B, num_frames, n_mels)``; the 100 Hz feature frames are
    linearly interpolated to ``num_frames`` so they align with motion at any fps.
    """

    def __init__(self, sample_rate: int = 16000, n_mels: int = 80, win_ms: float = 25.0, hop_ms: float = 10.0):
        super().__init__()
        self.sample_rate = sample_rate
        self.feature_dim = n_mels
        self.n_fft = int(round(sample_rate * win_ms / 1000))
        self.hop = int(round(sample_rate * hop_ms / 1000))
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.register_buffer("filters", mel_filterbank(n_mels, self.n_fft, sample_rate), persistent=False)

    def forward(self, wave: torch.Tensor, num_frames: int) -> torch.Tensor:
        if wave.dim() != 2:
            raise ValueError(f"expected wave (B, S), got {tuple(wave.shape)}")
        pad = self.n_fft // 2
        if wave.shape[1] <= pad:  # reflect padding needs more samples than the pad
            wave = F.pad(wave, (0, pad + 1 - wave.shape[1]))
        spec = torch.stft(wave.float(), self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="reflect", return_complex=True)  # (B, F, N)
        power = spec.real**2 + spec.imag**2
        mel = torch.einsum("mf,bfn->bmn", self.filters, power)  # (B, M, N)
        logmel = torch.log(mel + 1e-6)
        feats = F.interpolate(logmel, size=num_frames, mode="linear", align_corners=False)  # (B, M, T)
        return feats.transpose(1, 2)  # (B, T, M)
