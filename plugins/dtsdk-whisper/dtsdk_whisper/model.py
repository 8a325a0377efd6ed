"""Whisper's audio encoder (Radford et al. 2022, arXiv 2212.04356) in plain torch, frozen, as a dtsdk encoder.

Front end, as Whisper computes it: a 400-point Hann STFT with a 160-sample hop (25 ms / 10 ms at
16 kHz), the last frame dropped, power through a Slaney-style mel filterbank (80 bands for tiny and
base), ``log10`` clamped at 1e-10, floored at 8 below the clip's maximum, then ``(x + 4) / 4``.
Encoder: two convs with GELU (the second strides 2: 100 Hz mel -> 50 Hz), sinusoidal positions,
pre-LN transformer layers (fused q/k/v, GELU MLP) and a final LayerNorm.

Whisper was trained on 30 s windows padded with silence. Here the positions are sliced to the
input's length, so a 2 s crop is encoded as 2 s (no padding); audio over 30 s is encoded in 30 s
chunks whose features are joined. All weights are non-persistent buffers: they never reach the
optimiser or a DiffusionTalker checkpoint, and the encoder is rebuilt from its weight source on load.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dtsdk.errors import DtsdkError, file_error

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
CHUNK_MEL_FRAMES = 3000  # 30 s: the longest input Whisper's 1500 positions cover
_LAYER = re.compile(r"layer_(\d+)/")


def whisper_mel_filters(n_mels: int = 80, n_fft: int = N_FFT, sample_rate: int = SAMPLE_RATE) -> torch.Tensor:
    """Slaney mel filterbank ``(n_mels, n_fft // 2 + 1)``, 0 Hz to Nyquist, area-normalised ("slaney" norm).

    The scale is linear below 1 kHz (200/3 Hz per mel) and logarithmic above (ln(6.4)/27 per mel),
    the filters Whisper ships in ``mel_filters.npz``.
    """
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, math.log(6.4) / 27.0

    def hz_to_mel(f: torch.Tensor) -> torch.Tensor:
        return torch.where(f >= min_log_hz, min_log_mel + torch.log(f.clamp(min=1e-10) / min_log_hz) / logstep,
                           f / f_sp)

    def mel_to_hz(m: torch.Tensor) -> torch.Tensor:
        return torch.where(m >= min_log_mel, min_log_hz * torch.exp(logstep * (m - min_log_mel)), f_sp * m)

    nyquist = torch.tensor([0.0, sample_rate / 2], dtype=torch.float64)
    lo, hi = hz_to_mel(nyquist)
    edges = mel_to_hz(torch.linspace(float(lo), float(hi), n_mels + 2, dtype=torch.float64))  # (M + 2,) Hz
    bins = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)  # (F,) Hz
    widths = edges[1:] - edges[:-1]  # (M + 1,)
    ramps = edges[:, None] - bins[None]  # (M + 2, F)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    filters = torch.clamp(torch.minimum(lower, upper), min=0.0)  # (M, F)
    filters = filters * (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return filters.float()


class LogMelFrontEnd(nn.Module):
    """Wave ``(B, S)`` at 16 kHz -> Whisper's scaled log-mel ``(B, n_mels, S // 160)``."""

    def __init__(self, n_mels: int = 80):
        super().__init__()
        self.register_buffer("window", torch.hann_window(N_FFT), persistent=False)
        self.register_buffer("filters", whisper_mel_filters(n_mels), persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        if wave.shape[1] < N_FFT:  # reflect padding needs > N_FFT / 2 samples; pad with silence
            wave = F.pad(wave, (0, N_FFT - wave.shape[1]))
        spec = torch.stft(wave, N_FFT, HOP, window=self.window, center=True, pad_mode="reflect",
                          return_complex=True)  # (B, F, S // HOP + 1)
        power = spec[..., :-1].abs() ** 2  # (B, F, N); Whisper drops the last frame
        mel = torch.einsum("mf,bfn->bmn", self.filters, power)  # (B, M, N)
        log_mel = torch.clamp(mel, min=1e-10).log10()
        peak = log_mel.amax(dim=(1, 2), keepdim=True)  # per clip, so batch items stay independent
        log_mel = torch.maximum(log_mel, peak - 8.0)  # 80 dB dynamic range
        return (log_mel + 4.0) / 4.0


class FrozenLinear(nn.Module):
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.register_buffer("weight", weight, persistent=False)  # (out, in)
        self.register_buffer("bias", bias, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight, self.bias)


class FrozenLayerNorm(nn.Module):
    def __init__(self, gamma: torch.Tensor, beta: torch.Tensor, eps: float = 1e-5):
        super().__init__()
        self.register_buffer("weight", gamma, persistent=False)
        self.register_buffer("bias", beta, persistent=False)
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


class FrozenConv1d(nn.Module):
    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, stride: int):
        super().__init__()
        self.register_buffer("weight", weight, persistent=False)  # (out, in, kernel)
        self.register_buffer("bias", bias, persistent=False)
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight, self.bias, stride=self.stride, padding=self.weight.shape[-1] // 2)


class EncoderLayer(nn.Module):
    """Pre-LN block: ``x + attn(ln(x))`` then ``x + mlp(ln(x))``."""

    def __init__(self, w: dict[str, torch.Tensor], num_heads: int):
        super().__init__()
        self.num_heads = num_heads
        self.attn_ln = FrozenLayerNorm(w["self_attention/layer_norm/gamma"], w["self_attention/layer_norm/beta"])
        self.qkv = FrozenLinear(w["self_attention/linear_0/weight"], w["self_attention/linear_0/bias"])
        self.out = FrozenLinear(w["self_attention/linear_1/weight"], w["self_attention/linear_1/bias"])
        self.mlp_ln = FrozenLayerNorm(w["ffn/layer_norm/gamma"], w["ffn/layer_norm/beta"])
        self.fc1 = FrozenLinear(w["ffn/linear_0/weight"], w["ffn/linear_0/bias"])
        self.fc2 = FrozenLinear(w["ffn/linear_1/weight"], w["ffn/linear_1/bias"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(self.attn_ln(x)).split(d, dim=-1)  # 3 x (B, N, D)
        q, k, v = (t.view(b, n, self.num_heads, d // self.num_heads).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v)  # (B, H, N, D/H); scale 1/sqrt(D/H)
        x = x + self.out(y.transpose(1, 2).reshape(b, n, d))
        return x + self.fc2(F.gelu(self.fc1(self.mlp_ln(x))))  # (B, N, D)


class WhisperEncoderNet(nn.Module):
    """Scaled log-mel ``(B, n_mels, N)`` (N <= 3000) -> hidden states ``(B, ceil(N / 2), D)`` at 50 Hz."""

    def __init__(self, w: dict[str, torch.Tensor], num_heads: int):
        super().__init__()
        self.conv1 = FrozenConv1d(w["conv1/weight"], w["conv1/bias"], stride=1)
        self.conv2 = FrozenConv1d(w["conv2/weight"], w["conv2/bias"], stride=2)
        self.register_buffer("positions", w["position_encodings/encodings"], persistent=False)  # (1500, D)
        num_layers = 1 + max(int(m.group(1)) for m in map(_LAYER.match, w) if m)
        self.layers = nn.ModuleList(
            EncoderLayer({k[len(f"layer_{i}/"):]: v for k, v in w.items() if k.startswith(f"layer_{i}/")}, num_heads)
            for i in range(num_layers))
        self.ln_post = FrozenLayerNorm(w["layer_norm/gamma"], w["layer_norm/beta"])
        self.n_mels = int(w["conv1/weight"].shape[1])
        self.width = int(w["conv1/weight"].shape[0])

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.conv1(mel))  # (B, D, N)
        x = F.gelu(self.conv2(x)).transpose(1, 2)  # (B, N/2, D)
        x = x + self.positions[: x.shape[1]]  # sliced: short crops need no 30 s padding
        for layer in self.layers:
            x = layer(x)
        return self.ln_post(x)  # (B, N/2, D)


class WhisperAudioEncoder(nn.Module):
    """dtsdk audio encoder: frozen Whisper encoder states, resampled to the motion frame rate.

    ``forward(wave (B, S) at 16 kHz, num_frames) -> (B, num_frames, feature_dim)``. The 50 Hz states
    of the final LayerNorm are linearly interpolated to ``num_frames``. Always in eval mode and
    without gradients: nothing here is trainable.
    """

    sample_rate = SAMPLE_RATE
    frame_rate_hz = SAMPLE_RATE / HOP / 2

    def __init__(self, net: WhisperEncoderNet, source: str = ""):
        super().__init__()
        self.front_end = LogMelFrontEnd(net.n_mels)
        self.net = net
        self.feature_dim = net.width
        self.source = source  # where the weights were read, for messages and `repr`
        self.train(False)

    def train(self, mode: bool = True) -> "WhisperAudioEncoder":
        return super().train(False)  # frozen: a surrounding model.train() leaves it in eval mode

    def extra_repr(self) -> str:
        return f"feature_dim={self.feature_dim}, source={self.source!r}"

    @torch.no_grad()
    def hidden_states(self, wave: torch.Tensor) -> torch.Tensor:
        """Wave ``(B, S)`` -> the encoder's 50 Hz states ``(B, N, D)``, 30 s chunks joined."""
        mel = self.front_end(wave.float())  # (B, M, S // 160)
        chunks = [self.net(mel[:, :, i:i + CHUNK_MEL_FRAMES]) for i in range(0, mel.shape[2], CHUNK_MEL_FRAMES)]
        return torch.cat(chunks, dim=1)

    def forward(self, wave: torch.Tensor, num_frames: int) -> torch.Tensor:
        if wave.dim() != 2:
            raise ValueError(f"expected wave (B, S), got {tuple(wave.shape)}")
        hidden = self.hidden_states(wave)  # (B, N, D)
        feats = F.interpolate(hidden.transpose(1, 2), size=num_frames, mode="linear", align_corners=False)
        return feats.transpose(1, 2)  # (B, T, D)


def load_whisper_encoder(folder: str | Path) -> WhisperAudioEncoder:
    """Build the encoder from a folder holding a CTranslate2 Whisper ``model.bin`` (any size, float or int8)."""
    from dtsdk_whisper.ct2 import read_ct2_header, read_ct2_variables

    folder = Path(folder)
    path = folder / "model.bin"
    if not path.is_file():
        raise file_error(DtsdkError, folder, "no model.bin: not a CTranslate2 (faster-whisper) model folder")
    _, spec, _ = read_ct2_header(path)
    if spec != "WhisperSpec":
        raise file_error(DtsdkError, path, f"a CTranslate2 {spec!r} model, not a Whisper one")
    raw = read_ct2_variables(path, prefix="encoder/")
    w = {k[len("encoder/"):]: v for k, v in raw.items()}
    needed = ["num_heads", "conv1/weight", "conv1/bias", "conv2/weight", "conv2/bias",
              "position_encodings/encodings", "layer_norm/gamma", "layer_norm/beta", "layer_0/ffn/linear_0/weight"]
    missing = [k for k in needed if k not in w]
    if missing:
        raise file_error(DtsdkError, path, f"the Whisper encoder lacks {', '.join('encoder/' + k for k in missing)}")
    num_heads = int(w.pop("num_heads"))
    w = {k: v.float() for k, v in w.items() if v.dim() > 0}  # float16 on disk; CPU matmuls want float32
    return WhisperAudioEncoder(WhisperEncoderNet(w, num_heads), source=str(folder))
