"""The log-mel front end as a convolution, for graphs: the same features as
:class:`dtsdk.encoders.logmel.LogMelEncoder`, with the STFT written as a 1-D convolution by the
windowed DFT basis.

Why not ``torch.stft``: torch 2.13's exporter does turn it into ONNX's STFT operator, but
onnxruntime 1.32 computes that operator much less precisely than torch: on a 3 s tone, log-mel
features differed from torch's by up to 0.047 (torch itself is 5e-4 from float64), which leaves
the motion far outside a 1e-4 parity. The DFT as a convolution is plain float32 multiply-adds in
both runtimes (7e-4 from torch.stft on the same tone, the float32 rounding of the quietest mel bands).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dtsdk.encoders.logmel import LogMelEncoder


class ConvLogMel(nn.Module):
    """Drop-in for a :class:`LogMelEncoder`: ``forward(wave (B, S), num_frames) -> (B, num_frames, n_mels)``.

    ``S`` must exceed ``n_fft // 2`` samples (reflect padding); the graph's input shape says so.
    """

    def __init__(self, logmel: LogMelEncoder):
        super().__init__()
        self.sample_rate, self.feature_dim = logmel.sample_rate, logmel.feature_dim
        self.n_fft, self.hop = logmel.n_fft, logmel.hop
        n = self.n_fft
        k = torch.arange(n // 2 + 1, dtype=torch.float64)[:, None]  # (F, 1)
        angles = 2 * math.pi * k * torch.arange(n, dtype=torch.float64)[None] / n  # (F, n)
        window = logmel.window.to(torch.float64)
        basis = torch.cat([torch.cos(angles) * window, -torch.sin(angles) * window])  # (2F, n): real, imaginary
        self.register_buffer("basis", basis.float()[:, None], persistent=False)  # (2F, 1, n)
        self.register_buffer("filters", logmel.filters.clone(), persistent=False)  # (M, F)

    def forward(self, wave: torch.Tensor, num_frames: int) -> torch.Tensor:
        pad = self.n_fft // 2
        framed = F.pad(wave.float()[:, None], (pad, pad), mode="reflect")  # (B, 1, S + 2 pad), as center=True
        spec = F.conv1d(framed, self.basis, stride=self.hop)  # (B, 2F, N)
        real, imag = spec.chunk(2, dim=1)  # (B, F, N) each
        mel = torch.einsum("mf,bfn->bmn", self.filters, real**2 + imag**2)  # (B, M, N)
        feats = F.interpolate(torch.log(mel + 1e-6), size=num_frames, mode="linear", align_corners=False)
        return feats.transpose(1, 2)  # (B, T, M)


def graph_ready(module: nn.Module) -> nn.Module:
    """Swap every LogMelEncoder inside ``module`` (or ``module`` itself) for a :class:`ConvLogMel`, in place."""
    if isinstance(module, LogMelEncoder):
        return ConvLogMel(module)
    for name, child in list(module.named_children()):
        replaced = graph_ready(child)
        if replaced is not child:
            setattr(module, name, replaced)
    return module
