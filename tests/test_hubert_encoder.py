"""The "hubert" encoder against transformers as an oracle, on tiny random checkpoints saved in the Hub layout.

transformers is a test-only dependency (the ``dev`` extra); dtsdk's own code never imports it.
"""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import torch

from dtsdk.encoders import build_encoder
from dtsdk.encoders.hubert import load_hubert
from dtsdk.errors import DtsdkError

transformers = pytest.importorskip("transformers", reason="transformers (dev extra) is the oracle for these tests")

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
            conv_dim=(16,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=4)
VARIANTS = [("hubert", "group", False), ("hubert", "layer", True),
            ("wav2vec2", "group", False), ("wav2vec2", "layer", True)]


def tiny_model(model_type: str, norm: str, stable: bool, conv_bias: bool = False, seed: int = 0):
    """A tiny randomly initialised HF model; the init is perturbed so LayerNorms/biases are not trivial."""
    cls_config, cls_model = {"hubert": (transformers.HubertConfig, transformers.HubertModel),
                             "wav2vec2": (transformers.Wav2Vec2Config, transformers.Wav2Vec2Model)}[model_type]
    config = cls_config(**TINY, feat_extract_norm=norm, do_stable_layer_norm=stable, conv_bias=conv_bias)
    torch.manual_seed(seed)
    model = cls_model(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model


def oracle_states(model, wave: torch.Tensor) -> list[torch.Tensor]:
    """transformers' hidden states on the standardised wave (what its feature extractor would feed it)."""
    x = (wave - wave.mean(1, keepdim=True)) / torch.sqrt(wave.var(1, keepdim=True, unbiased=False) + 1e-7)
    with torch.no_grad():
        out = model(x, output_hidden_states=True)
    states = list(out.hidden_states)  # input to layer 1, then each layer's output
    assert len(states) == model.config.num_hidden_layers + 1
    # transformers 4 ended hidden_states with last_hidden_state; 5 ends with the last layer's output,
    # before the pre-LN models' final LayerNorm. dtsdk's last layer is last_hidden_state, as in 4.
    states[-1] = out.last_hidden_state
    return states


def wave(batch=2, seconds=0.5, seed=1):
    return 0.1 * torch.randn(batch, int(16000 * seconds), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("model_type,norm,stable", VARIANTS)
def test_hidden_states_match_transformers(tmp_path, model_type, norm, stable):
    model = tiny_model(model_type, norm, stable, conv_bias=norm == "layer")
    model.save_pretrained(tmp_path)  # model.safetensors + config.json
    assert (tmp_path / "model.safetensors").is_file()
    w = wave()
    expected = oracle_states(model, w)
    for layer in range(-1, TINY["num_hidden_layers"] + 1):
        enc = load_hubert(tmp_path, layer=layer)
        n = expected[layer].shape[1]  # at the native frame count the interpolation is the identity
        with torch.no_grad():
            got = enc(w, n)
        torch.testing.assert_close(got, expected[layer], atol=1e-4, rtol=1e-4)
    assert enc.frame_rate_hz == 50.0 and enc.feature_dim == 32


def test_old_weight_norm_names_and_bin_weights_load(tmp_path):
    """Checkpoints from older torch store weight_g/weight_v; ``pytorch_model.bin`` loads weights-only."""
    model = tiny_model("hubert", "group", False)
    model.save_pretrained(tmp_path)
    from safetensors.torch import load_file

    state = load_file(tmp_path / "model.safetensors")
    prefix = "encoder.pos_conv_embed.conv."
    renamed = {k.replace("parametrizations.weight.original0", "weight_g")
                .replace("parametrizations.weight.original1", "weight_v"): v
               for k, v in state.items()}
    assert prefix + "weight_g" in renamed, sorted(state)
    renamed = {"hubert." + k: v for k, v in renamed.items()}  # as saved by HubertForCTC
    (tmp_path / "model.safetensors").unlink()
    torch.save(renamed, tmp_path / "pytorch_model.bin")
    w = wave(batch=1)
    expected = oracle_states(model, w)[-1]
    got = load_hubert(tmp_path)(w, expected.shape[1])
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("extra", [dict(conv_pos_batch_norm=True), dict(num_conv_pos_embeddings=15),
                                   dict(feat_proj_layer_norm=False)])
def test_hubert_config_variants_match_transformers(tmp_path, extra):
    """BatchNorm before the positional conv, an odd positional kernel, no projection LayerNorm."""
    config = transformers.HubertConfig(**{**TINY, **extra})
    torch.manual_seed(0)
    model = transformers.HubertModel(config).eval()
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean") or name.endswith("running_var"):
                buf.copy_(torch.rand_like(buf) + 0.5)  # non-trivial BatchNorm statistics
    model.save_pretrained(tmp_path)
    w = wave(batch=1)
    expected = oracle_states(model, w)[-1]
    with torch.no_grad():
        torch.testing.assert_close(load_hubert(tmp_path)(w, expected.shape[1]), expected, atol=1e-4, rtol=1e-4)


def test_do_normalize_false_feeds_the_raw_wave(tmp_path):
    model = tiny_model("wav2vec2", "group", False)
    model.save_pretrained(tmp_path)
    (tmp_path / "preprocessor_config.json").write_text('{"do_normalize": false, "sampling_rate": 16000}')
    w = wave(batch=1)
    with torch.no_grad():
        expected = model(w).last_hidden_state
        torch.testing.assert_close(load_hubert(tmp_path)(w, expected.shape[1]), expected, atol=1e-4, rtol=1e-4)


def test_unsupported_model_type_is_a_clear_error(tmp_path):
    tiny_model("hubert", "group", False).save_pretrained(tmp_path)
    config = (tmp_path / "config.json").read_text().replace('"model_type": "hubert"', '"model_type": "whisper"')
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(DtsdkError, match="whisper"):
        load_hubert(tmp_path)


def test_runtime_code_does_not_import_transformers(tmp_path):
    tiny_model("hubert", "group", False).save_pretrained(tmp_path)
    code = ("import sys, torch; from dtsdk.encoders import build_encoder; "
            f"enc = build_encoder('hubert', model={str(tmp_path)!r}); enc(torch.zeros(1, 16000), 25); "
            "assert 'transformers' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def fake_hub_cache(cache, repo_id: str, source) -> None:
    """Lay ``source``'s files out as huggingface_hub's cache does: blobs, snapshots/<hash>, refs/main."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for f in source.iterdir():
        shutil.copy(f, snapshot / f.name)


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    import huggingface_hub.constants as hf_constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))  # read once at import time
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    return cache


def test_loads_by_repo_id_from_the_local_cache(tmp_path, offline_cache):
    model = tiny_model("wav2vec2", "layer", True)
    model.save_pretrained(tmp_path / "saved")
    fake_hub_cache(offline_cache, "tiny-org/tiny-wav2vec2", tmp_path / "saved")
    enc = build_encoder("hubert", model="tiny-org/tiny-wav2vec2")
    w = wave(batch=1)
    expected = oracle_states(model, w)[-1]
    with torch.no_grad():
        torch.testing.assert_close(enc(w, expected.shape[1]), expected, atol=1e-4, rtol=1e-4)
        assert enc(w, 30).shape == (1, 30, 32)


def test_missing_model_is_a_clear_error(offline_cache):
    with pytest.raises(DtsdkError, match="nobody/not-a-model") as err:
        build_encoder("hubert", model="nobody/not-a-model")
    assert "hf download" in str(err.value) and "cache" in str(err.value)


def test_folder_without_config_and_bad_layer(tmp_path):
    with pytest.raises(DtsdkError, match="config.json"):
        load_hubert(tmp_path)
    tiny_model("hubert", "group", False).save_pretrained(tmp_path / "m")
    with pytest.raises(DtsdkError, match="layer 5"):
        load_hubert(tmp_path / "m", layer=5)
