"""The denoiser: a transformer over the motion sequence. What its output means (the clean motion
x0, or the velocity v) is the config's parameterisation, turned into x0_hat in one place
(:mod:`dtsdk.diffusion.parameterization`); the losses are defined on x0_hat either way. The same
network, run at step 0 on a zero motion input, is the regression baseline and the residual
objective's mean network.

Conditioning, and why:
  * audio features are frame-aligned, so they are projected and *added per frame* to the motion
    tokens (the audio of frame f belongs to frame f; no cross-attention needed);
  * step and identity are one global vector per clip, ``c = MLP(sinusoid(t)) + Linear(identity)``,
    applied by *FiLM* (adaptive LayerNorm, as in DiT, arXiv 2212.09748): every block's LayerNorms
    are scaled and shifted by ``c``. A prefix token would be attended to only as much as the model
    chooses; FiLM makes every layer see the noise level, which matters most for an x0-predictor.
  * frame order comes from fixed sinusoidal positions, so any window length works.
Padding: ``mask`` (B, T) True = real frame; padded frames are excluded as attention keys, so they
cannot change the outputs at real frames.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from dtsdk.model.config import DenoiserConfig


def sinusoid(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """Transformer sinusoids (Vaswani et al. 2017) of positions (...,) -> (..., dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=positions.device) / half)  # (half,)
    angles = positions.float()[..., None] * freqs  # (..., half)
    return torch.cat([angles.sin(), angles.cos()], dim=-1)  # (..., dim)


class Block(nn.Module):
    """Pre-norm transformer block whose two LayerNorms are modulated (FiLM) by the condition c."""

    def __init__(self, config: DenoiserConfig):
        super().__init__()
        d = config.d_model
        self.norm1 = nn.LayerNorm(d, elementwise_affine=False)
        self.attn = nn.MultiheadAttention(d, config.num_heads, dropout=config.dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(d, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(d, config.ff_mult * d), nn.GELU(), nn.Linear(config.ff_mult * d, d))
        self.dropout = nn.Dropout(config.dropout)
        self.film = nn.Linear(d, 4 * d)  # c -> (scale1, shift1, scale2, shift2)
        nn.init.zeros_(self.film.weight)  # start as a plain transformer block
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, c: torch.Tensor, padding: torch.Tensor | None) -> torch.Tensor:
        scale1, shift1, scale2, shift2 = self.film(c)[:, None].chunk(4, dim=-1)  # each (B, 1, D)
        h = self.norm1(x) * (1 + scale1) + shift1  # (B, T, D)
        h, _ = self.attn(h, h, h, key_padding_mask=padding, need_weights=False)  # (B, T, D)
        x = x + self.dropout(h)
        h = self.norm2(x) * (1 + scale2) + shift2  # (B, T, D)
        return x + self.dropout(self.mlp(h))  # (B, T, D)


class Denoiser(nn.Module):
    def __init__(self, motion_dim: int, audio_dim: int, identity_dim: int, config: DenoiserConfig | None = None):
        super().__init__()
        self.config = config = config or DenoiserConfig()
        d = config.d_model
        self.motion_in = nn.Linear(motion_dim, d)
        self.audio_in = nn.Linear(audio_dim, d)
        self.step_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        self.identity_in = nn.Linear(identity_dim, d)
        self.blocks = nn.ModuleList([Block(config) for _ in range(config.num_layers)])
        self.norm_out = nn.LayerNorm(d)
        self.motion_out = nn.Linear(d, motion_dim)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, audio: torch.Tensor, identity: torch.Tensor,
                mask: torch.Tensor | None = None) -> torch.Tensor:
        """x_t (B, T, D_motion), t (B,) long, audio (B, T, D_audio), identity (B, D_id), mask (B, T) bool
        -> output (B, T, D_motion), an x0 or v estimate by the parameterisation."""
        B, T, _ = x_t.shape
        d = self.config.d_model
        frames = torch.arange(T, device=x_t.device)
        x = self.motion_in(x_t) + self.audio_in(audio) + sinusoid(frames, d)  # (B, T, d)
        c = self.step_mlp(sinusoid(t, d)) + self.identity_in(identity)  # (B, d)
        c = F.silu(c)
        padding = None if mask is None else ~mask  # (B, T), True = ignore as a key
        for block in self.blocks:
            x = block(x, c, padding)  # (B, T, d)
        return self.motion_out(self.norm_out(x))  # (B, T, D_motion)
