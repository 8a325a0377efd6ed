"""Pretrained HuBERT / wav2vec 2.0 speech features in plain torch, read from a Hugging Face checkpoint.

Architecture: wav2vec 2.0 (Baevski et al. 2020, arXiv 2006.11477) and HuBERT (Hsu et al. 2021,
arXiv 2106.07447) share the inference network: a 7-layer 1-D conv feature encoder over the raw 16 kHz
wave (320x downsampling: 50 Hz frames), a linear feature projection, a convolutional relative positional
embedding and a transformer. They differ only in pre-training, which is not needed here. Differences in
Hugging Face checkpoints that this module handles:

- ``feat_extract_norm``: ``"group"`` (GroupNorm on the first conv only, base models) or ``"layer"``
  (LayerNorm over channels after every conv, large models);
- ``do_stable_layer_norm``: post-LN transformer (base) or pre-LN with a final LayerNorm (large);
- ``feat_proj_layer_norm``: HuBERT configs may drop the projection's LayerNorm; wav2vec2 always has it;
- ``conv_pos_batch_norm`` (some HuBERT configs): BatchNorm before the positional conv, no weight norm;
- the positional conv's weight norm, saved as ``weight_g/weight_v`` or ``parametrizations``, is folded
  into one plain weight at load time (see :mod:`dtsdk.encoders.hf_checkpoint`);
- task heads (``*ForCTC``) and pre-training tensors (quantizer, masked-frame embedding) are ignored.
Not supported: wav2vec2 adapters (``add_adapter``), Conformer and data2vec variants.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dtsdk.errors import DtsdkError, file_error

_ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu, "swish": F.silu,
                "gelu_new": lambda x: F.gelu(x, approximate="tanh"),
                "gelu_pytorch_tanh": lambda x: F.gelu(x, approximate="tanh")}


@dataclass
class SpeechTransformerConfig:
    """The subset of a HF ``HubertConfig`` / ``Wav2Vec2Config`` that inference needs (defaults: base)."""

    model_type: str = "hubert"
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    layer_norm_eps: float = 1e-5
    conv_dim: tuple = (512,) * 7
    conv_kernel: tuple = (10, 3, 3, 3, 3, 2, 2)
    conv_stride: tuple = (5, 2, 2, 2, 2, 2, 2)
    conv_bias: bool = False
    feat_extract_norm: str = "group"
    feat_extract_activation: str = "gelu"
    feat_proj_layer_norm: bool = True
    num_conv_pos_embeddings: int = 128
    num_conv_pos_embedding_groups: int = 16
    conv_pos_batch_norm: bool = False
    do_stable_layer_norm: bool = False

    @classmethod
    def from_hf(cls, config: dict, where: str | Path = "config.json") -> "SpeechTransformerConfig":
        if config.get("model_type") not in ("hubert", "wav2vec2"):
            raise file_error(DtsdkError, where,
                             f"model_type {config.get('model_type')!r} is not 'hubert' or 'wav2vec2'")
        if config.get("add_adapter"):
            raise file_error(DtsdkError, where, "wav2vec2 adapters (add_adapter) are not supported")
        cfg = cls(**{f.name: config[f.name] for f in fields(cls) if f.name in config})
        for act in (cfg.hidden_act, cfg.feat_extract_activation):
            if act not in _ACTIVATIONS:
                raise file_error(DtsdkError, where, f"activation {act!r} is not supported")
        if cfg.feat_extract_norm not in ("group", "layer"):
            raise file_error(DtsdkError, where,
                             f"feat_extract_norm {cfg.feat_extract_norm!r} is not 'group' or 'layer'")
        return cfg


class ConvLayer(nn.Module):
    def __init__(self, cfg: SpeechTransformerConfig, i: int):
        super().__init__()
        c_in = 1 if i == 0 else cfg.conv_dim[i - 1]
        c_out = cfg.conv_dim[i]
        self.conv = nn.Conv1d(c_in, c_out, cfg.conv_kernel[i], stride=cfg.conv_stride[i], bias=cfg.conv_bias)
        self.norm_kind = cfg.feat_extract_norm if (cfg.feat_extract_norm == "layer" or i == 0) else None
        if self.norm_kind == "group":  # one group per channel: normalises each channel over time
            self.layer_norm = nn.GroupNorm(c_out, c_out, affine=True)
        elif self.norm_kind == "layer":
            self.layer_norm = nn.LayerNorm(c_out)
        self.act = _ACTIVATIONS[cfg.feat_extract_activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)  # (B, C, N)
        if self.norm_kind == "group":
            x = self.layer_norm(x)
        elif self.norm_kind == "layer":  # LayerNorm normalises the last dim: channels
            x = self.layer_norm(x.transpose(1, 2)).transpose(1, 2)
        return self.act(x)


class ConvFeatureEncoder(nn.Module):
    """Raw wave ``(B, S)`` -> conv features ``(B, C, N)``; N = about S / prod(conv_stride)."""

    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        self.conv_layers = nn.ModuleList(ConvLayer(cfg, i) for i in range(len(cfg.conv_dim)))

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        x = wave[:, None]  # (B, 1, S)
        for layer in self.conv_layers:
            x = layer(x)
        return x


class FeatureProjection(nn.Module):
    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        self.layer_norm = nn.LayerNorm(cfg.conv_dim[-1], eps=cfg.layer_norm_eps) if cfg.feat_proj_layer_norm else None
        self.projection = nn.Linear(cfg.conv_dim[-1], cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layer_norm is not None:
            x = self.layer_norm(x)
        return self.projection(x)  # (B, N, D)


class PositionalConvEmbedding(nn.Module):
    """Grouped conv over time as a relative position signal (wav2vec 2.0 sec. 2); weight norm pre-folded."""

    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        k = cfg.num_conv_pos_embeddings
        self.batch_norm = nn.BatchNorm1d(cfg.hidden_size) if cfg.conv_pos_batch_norm else None
        self.conv = nn.Conv1d(cfg.hidden_size, cfg.hidden_size, k, padding=k // 2,
                              groups=cfg.num_conv_pos_embedding_groups)
        self.trim = 1 if k % 2 == 0 else 0  # an even kernel with k//2 padding yields one extra frame
        self.act = _ACTIVATIONS[cfg.feat_extract_activation]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[1]
        x = x.transpose(1, 2)  # (B, D, N)
        if self.batch_norm is not None:
            x = self.batch_norm(x)
        x = self.conv(x)[:, :, :n]  # (B, D, N)
        return self.act(x).transpose(1, 2)  # (B, N, D)


class SelfAttention(nn.Module):
    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        d = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (p(x).view(b, n, self.heads, d // self.heads).transpose(1, 2)  # (B, H, N, d/H)
                   for p in (self.q_proj, self.k_proj, self.v_proj))
        y = F.scaled_dot_product_attention(q, k, v)  # (B, H, N, d/H); scale 1/sqrt(d/H)
        return self.out_proj(y.transpose(1, 2).reshape(b, n, d))


class FeedForward(nn.Module):
    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        self.intermediate_dense = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.output_dense = nn.Linear(cfg.intermediate_size, cfg.hidden_size)
        self.act = _ACTIVATIONS[cfg.hidden_act]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output_dense(self.act(self.intermediate_dense(x)))


class EncoderLayer(nn.Module):
    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        self.pre_ln = cfg.do_stable_layer_norm
        self.attention = SelfAttention(cfg)
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.feed_forward = FeedForward(cfg)
        self.final_layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pre_ln:  # large models: pre-LN keeps deep stacks trainable ("stable layer norm")
            x = x + self.attention(self.layer_norm(x))
            return x + self.feed_forward(self.final_layer_norm(x))
        x = self.layer_norm(x + self.attention(x))  # base models: post-LN, as in BERT
        return self.final_layer_norm(x + self.feed_forward(x))


class TransformerEncoder(nn.Module):
    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        self.pre_ln = cfg.do_stable_layer_norm
        self.pos_conv_embed = PositionalConvEmbedding(cfg)
        self.layer_norm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.num_hidden_layers))

    def forward(self, x: torch.Tensor, upto: int) -> list[torch.Tensor]:
        """Hidden states ``0..upto`` (each ``(B, N, D)``), numbered like HF's ``output_hidden_states``.

        State 0 enters the first layer; state i leaves layer i. With pre-LN the last state (only) also
        passes the final LayerNorm: HF's ``last_hidden_state`` (transformers 4 also ended
        ``hidden_states`` with it; 5 ends them with the un-normalised last layer output).
        """
        x = x + self.pos_conv_embed(x)
        if not self.pre_ln:
            x = self.layer_norm(x)
        states = [x]
        for layer in self.layers[:upto]:
            states.append(layer(states[-1]))
        if self.pre_ln and upto == len(self.layers):
            states[-1] = self.layer_norm(states[-1])
        return states


class SpeechTransformer(nn.Module):
    """The HuBERT/wav2vec2 network; parameter names match HF ``HubertModel``/``Wav2Vec2Model``."""

    def __init__(self, cfg: SpeechTransformerConfig):
        super().__init__()
        self.config = cfg
        self.feature_extractor = ConvFeatureEncoder(cfg)
        self.feature_projection = FeatureProjection(cfg)
        self.encoder = TransformerEncoder(cfg)

    def receptive_field(self) -> int:
        """Samples one output frame sees (400 for the standard stack): the shortest usable wave."""
        r = 1
        for k, s in zip(reversed(self.config.conv_kernel), reversed(self.config.conv_stride)):
            r = (r - 1) * s + k
        return r

    def forward(self, wave: torch.Tensor, layer: int = -1) -> torch.Tensor:
        """Wave ``(B, S)`` -> hidden state ``layer`` ``(B, N, D)`` (0 = input to the transformer, -1 = last)."""
        total = self.config.num_hidden_layers
        index = layer % (total + 1)
        feats = self.feature_extractor(wave).transpose(1, 2)  # (B, N, C)
        x = self.feature_projection(feats)  # (B, N, D)
        return self.encoder(x, upto=index)[index]


class HubertEncoder(nn.Module):
    """dtsdk audio encoder: pretrained HuBERT/wav2vec2 hidden states, resampled to the motion frame rate.

    ``forward(wave (B, S) at sample_rate Hz, num_frames) -> (B, num_frames, feature_dim)``. Each
    utterance is normalised to zero mean and unit variance when the checkpoint's feature extractor does
    (``do_normalize``), the 50 Hz hidden states of ``layer`` are computed, and then linearly interpolated
    to ``num_frames``, as FaceFormer and FaceDiffuser resample HuBERT features to the motion fps.
    """

    def __init__(self, backbone: SpeechTransformer, layer: int = -1, normalize: bool = True, sample_rate: int = 16000):
        super().__init__()
        total = backbone.config.num_hidden_layers
        if not -(total + 1) <= layer <= total:
            raise DtsdkError(f"layer {layer} is out of range for a model with {total} transformer layers")
        self.model = backbone
        self.layer = layer
        self.normalize = normalize
        self.sample_rate = sample_rate
        self.feature_dim = backbone.config.hidden_size
        self.frame_rate_hz = sample_rate / math.prod(backbone.config.conv_stride)

    def forward(self, wave: torch.Tensor, num_frames: int) -> torch.Tensor:
        if wave.dim() != 2:
            raise ValueError(f"expected wave (B, S), got {tuple(wave.shape)}")
        wave = wave.float()
        if self.normalize:  # the HF feature extractor's per-utterance standardisation (population variance)
            mean = wave.mean(dim=1, keepdim=True)
            var = wave.var(dim=1, keepdim=True, unbiased=False)
            wave = (wave - mean) / torch.sqrt(var + 1e-7)
        short = self.model.receptive_field() - wave.shape[1]
        if short > 0:  # too short for one conv frame: pad with silence, as HF pads a batch
            wave = F.pad(wave, (0, short))
        hidden = self.model(wave, self.layer)  # (B, N, D), about 50 Hz
        feats = F.interpolate(hidden.transpose(1, 2), size=num_frames, mode="linear", align_corners=False)
        return feats.transpose(1, 2)  # (B, T, D)


def load_hubert(model: str | Path, layer: int = -1, normalize: bool | None = None,
                cache_dir: str | Path | None = None, revision: str | None = None) -> HubertEncoder:
    """Build :class:`HubertEncoder` from a local folder or a repo id already in the local HF cache.

    ``normalize=None`` follows ``do_normalize`` in the checkpoint's ``preprocessor_config.json``
    (True when that file is absent, as for the common HuBERT/wav2vec2 checkpoints). Never downloads.
    """
    from dtsdk.encoders.hf_checkpoint import read_config, read_state_dict, resolve_model_dir, to_backbone_state_dict

    folder = resolve_model_dir(model, cache_dir=cache_dir, revision=revision)
    config, preprocessor = read_config(folder)
    cfg = SpeechTransformerConfig.from_hf(config, folder / "config.json")
    backbone = SpeechTransformer(cfg)
    state = to_backbone_state_dict(read_state_dict(folder), cfg.model_type)
    expected = backbone.state_dict()
    missing = sorted(k for k in expected if k not in state)
    if missing:
        raise file_error(DtsdkError, folder,
                         f"weights lack {len(missing)} tensors of a {cfg.model_type} model, e.g. {missing[:3]}")
    bad = [k for k in expected if state[k].shape != expected[k].shape]
    if bad:
        raise file_error(DtsdkError, folder, f"weights do not match config.json, e.g. {bad[0]}: "
                         f"{tuple(state[bad[0]].shape)} vs {tuple(expected[bad[0]].shape)}")
    backbone.load_state_dict({k: state[k] for k in expected})
    if normalize is None:
        normalize = bool(preprocessor.get("do_normalize", True))
    sample_rate = int(preprocessor.get("sampling_rate", 16000))
    return HubertEncoder(backbone, layer=layer, normalize=normalize, sample_rate=sample_rate).eval()
