"""A trainable audio encoder on top of the fixed log-mel features (registered as ``logmel-conv``).

log-mel at 100 Hz (fixed) -> per-utterance normalisation -> residual 1-D convs (GELU) ->
linear resampling to the motion frames -> optional transformer layers -> ``(B, T, feature_dim)``.

Why this shape: the convs see ~50 ms of context per layer at 100 Hz (phone-scale), the
normalisation removes loudness/microphone offsets per clip, and the transformer (run at the motion
frame rate, so it is cheap) adds sentence-level context. It is deliberately small so a teacher
trains on CPU; users with real data plug in a pretrained encoder through the same hook.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from dtsdk.encoders.logmel import LogMelEncoder


class ConvBlock(nn.Module):
    """Residual ``x + conv(GELU(conv(norm(x))))`` over time; input and output (B, C, N)."""

    def __init__(self, channels: int, kernel_size: int):
        super().__init__()
        self.norm = nn.GroupNorm(1, channels)  # per-item statistics, so batch items stay independent
        self.conv1 = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)
        self.conv2 = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.gelu(self.conv1(self.norm(x))))  # (B, C, N)


class ConvAudioEncoder(nn.Module):
    """``forward(wave (B, S), num_frames) -> (B, num_frames, feature_dim)``; ``sample_rate`` Hz.

    ``feature_dim`` is ``dim``, or ``out_dim`` with a linear head after the final norm (to stand in for a
    wider encoder whose features a model was trained on: :mod:`dtsdk.distill.encoder`).
    """

    def __init__(self, sample_rate: int = 16000, n_mels: int = 80, dim: int = 128, num_conv_layers: int = 3,
                 kernel_size: int = 5, num_transformer_layers: int = 2, num_heads: int = 4, dropout: float = 0.0,
                 out_dim: int | None = None):
        super().__init__()
        self.sample_rate = sample_rate
        self.feature_dim = out_dim or dim
        self.out_proj = nn.Linear(dim, out_dim) if out_dim else None
        self.logmel = LogMelEncoder(sample_rate=sample_rate, n_mels=n_mels)  # parameter-free
        self.in_proj = nn.Conv1d(n_mels, dim, kernel_size, padding=kernel_size // 2)
        self.blocks = nn.ModuleList([ConvBlock(dim, kernel_size) for _ in range(num_conv_layers)])
        layer = nn.TransformerEncoderLayer(dim, num_heads, 4 * dim, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = (nn.TransformerEncoder(layer, num_transformer_layers, enable_nested_tensor=False)
                            if num_transformer_layers > 0 else None)
        self.out_norm = nn.LayerNorm(dim)

    def forward(self, wave: torch.Tensor, num_frames: int) -> torch.Tensor:
        # Native log-mel frame count (center=True STFT); asking for it makes the interpolation a no-op.
        native = max(wave.shape[1], self.logmel.n_fft // 2 + 1) // self.logmel.hop + 1
        mel = self.logmel(wave, native).transpose(1, 2)  # (B, M, N)
        mel = (mel - mel.mean(-1, keepdim=True)) / mel.std(-1, keepdim=True, unbiased=False).clamp(min=1e-3)
        h = self.in_proj(mel)  # (B, C, N)
        for block in self.blocks:
            h = block(h)  # (B, C, N)
        h = F.interpolate(h, size=num_frames, mode="linear", align_corners=False)  # (B, C, T)
        h = h.transpose(1, 2)  # (B, T, C)
        if self.transformer is not None:
            h = self.transformer(h)  # (B, T, C)
        h = self.out_norm(h)  # (B, T, C)
        return h if self.out_proj is None else self.out_proj(h)  # (B, T, feature_dim)
