"""ONNX export on a tiny untrained checkpoint: onnxruntime matches ``DiffusionTalker.sample`` within 1e-4
for the same noise (any batch, length and identity), the metadata lists the identities, every sampler's
draws come from the graph's inputs, the log-mel front end equals torch.stft's, and ``dtsdk export``'s bad
inputs are one-line errors. One export (about 15 s); the rest runs the traced module in torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dtsdk.cli import main
from dtsdk.encoders.logmel import LogMelEncoder
from dtsdk.errors import DtsdkError
from dtsdk.export import export_model, read_metadata, sampling_noise
from dtsdk.export.frontend import ConvLogMel
from dtsdk.export.onnx import UnrolledTalker
from dtsdk.model import DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, PersonalizerConfig

ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'dtsdk[onnx]'")
pytest.importorskip("onnxscript", reason="the onnx extra is not installed: pip install 'dtsdk[onnx]'")

SR, FPS = 16000, 30
TINY = dict(encoder_config={"dim": 16, "num_conv_layers": 1, "num_transformer_layers": 1, "num_heads": 2},
            denoiser=DenoiserConfig(d_model=16, num_layers=1, num_heads=2, dropout=0.0),
            personalizer=PersonalizerConfig(identity_dim=8, hidden_dim=16), diffusion_steps=50, default_steps=3)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("ckpt") / "tiny"
    model = DiffusionTalker(DiffusionTalkerConfig(identities=["a", "b"], **TINY))
    for name, param in model.named_parameters():  # FiLM starts at zero; random values stand in for training
        if "film" in name:
            torch.nn.init.normal_(param, std=0.1)
    model.set_motion_stats(torch.full((52,), 0.3), torch.full((52,), 0.2))
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def model(checkpoint):
    return DiffusionTalker.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def exported(checkpoint, tmp_path_factory):
    """The checkpoint's default sampler (ddpm, 3 steps: noise each step) through the CLI."""
    out = tmp_path_factory.mktemp("onnx") / "student.onnx"
    assert main(["export", str(checkpoint), "--format", "onnx", "-o", str(out), "-q"]) == 0
    return out


def _speech(batch: int, samples: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / SR
    buzz = 0.2 * torch.sin(2 * torch.pi * 140 * t) * (1 + torch.sin(2 * torch.pi * 3 * t))  # (S,)
    return (buzz + 0.05 * torch.randn(batch, samples, generator=g)).float()  # (B, S)


def _parity(session, model, step_draws, batch, samples, identity, sampler=None, steps=None, **options) -> float:
    frames = round(samples / SR * FPS)
    audio = _speech(batch, samples, seed=batch)
    noise = sampling_noise(model, step_draws, batch, frames, torch.Generator().manual_seed(7))
    reference = model.sample(audio, frames, identity=identity, sampler=sampler, steps=steps,
                             generator=torch.Generator().manual_seed(7), **options)  # (B, T, D)
    embedding = model.personalizer.embed(identity, batch).detach()
    feeds = {"audio": audio.numpy(), "identity": embedding.numpy(), **{k: v.numpy() for k, v in noise.items()}}
    motion, weights = session.run(["motion", "weights"], feeds)
    assert motion.shape == (batch, frames, 52) and motion.dtype == np.float32
    np.testing.assert_array_equal(weights, np.clip(motion, 0, 1))
    return float(np.abs(motion - reference.numpy()).max())


def test_onnxruntime_matches_torch_for_the_same_noise(exported, model):
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    meta = read_metadata(session)
    assert meta["sampler"] == "ddpm" and meta["steps"] == 3 and meta["step_draws"] == 2
    assert [i.name for i in session.get_inputs()] == ["audio", "identity", "noise", "step_noise"]
    # Dynamic batch, audio length and frame count; a bank identity, the null identity, a mix of both.
    assert _parity(session, model, 2, 1, SR, torch.tensor([1])) < 1e-4
    assert _parity(session, model, 2, 3, 41000, torch.tensor([0, -1, 1])) < 1e-4


def test_metadata_lists_identities_and_shapes(exported, model):
    meta = read_metadata(exported)  # the sidecar JSON
    assert meta == read_metadata(ort.InferenceSession(str(exported)))  # the same as the graph's own metadata
    bank = model.personalizer.bank.detach()
    assert meta["identities"]["names"] == ["a", "b"]
    np.testing.assert_allclose(meta["identities"]["embeddings"], bank.numpy(), atol=1e-6)
    np.testing.assert_allclose(meta["identities"]["null"], model.personalizer.null_identity.detach(), atol=1e-6)
    assert meta["sample_rate"] == SR and meta["fps"] == FPS and len(meta["channels"]) == 52
    assert meta["inputs"]["step_noise"] == [2, "B", "T", 52] and meta["outputs"]["weights"] == ["B", "T", 52]


@pytest.mark.parametrize("sampler,steps,options,draws", [("ddim", 2, {}, 0), ("ddim", 3, {"eta": 1.0}, 2),
                                                         ("ddpm", 3, {}, 2)])
def test_graph_takes_each_draw_of_the_sampler_from_its_inputs(model, sampler, steps, options, draws):
    """The traced module in torch (no export: fast): it counts the sampler's draws, and with the noise
    drawn as torch draws it, equals model.sample; a deterministic sampler takes no step_noise."""
    graph = UnrolledTalker(model, sampler, steps, **options).eval()
    assert graph.count_step_draws() == draws
    audio, identity = _speech(2, 24000, seed=1), torch.tensor([1, -1])
    noise = sampling_noise(model, draws, 2, 45, torch.Generator().manual_seed(3))
    with torch.no_grad():
        motion, weights = graph(audio, model.personalizer.embed(identity, 2), noise["noise"], noise.get("step_noise"))
    reference = model.sample(audio, 45, identity=identity, sampler=sampler, steps=steps,
                             generator=torch.Generator().manual_seed(3), **options)
    torch.testing.assert_close(motion, reference, atol=1e-6, rtol=0)


def test_a_distilled_student_exports_with_its_own_sampler():
    """The distilled sampler (its own grid, ancestral eta) goes through the same path, and keeps its refusal."""
    torch.manual_seed(1)
    student = DiffusionTalker(DiffusionTalkerConfig(identities=["a", "b"], distilled_steps=[1, 2], **TINY)).eval()
    graph = UnrolledTalker(student, "distilled", 2, eta=1.0).eval()
    assert graph.count_step_draws() == 1
    audio, identity = _speech(1, 16000, seed=2), torch.tensor([0])
    noise = sampling_noise(student, 1, 1, 30, torch.Generator().manual_seed(4))
    with torch.no_grad():
        motion, _ = graph(audio, student.personalizer.embed(identity, 1), noise["noise"], noise["step_noise"])
    reference = student.sample(audio, 30, identity=identity, sampler="distilled", steps=2, eta=1.0,
                               generator=torch.Generator().manual_seed(4))
    torch.testing.assert_close(motion, reference, atol=1e-6, rtol=0)
    with pytest.raises(DtsdkError, match="distilled for 1, 2 step"):
        UnrolledTalker(student, "distilled", 4).count_step_draws()


def test_conv_logmel_equals_torch_stft():
    torch.manual_seed(0)
    logmel = LogMelEncoder()
    wave = _speech(2, 20000, seed=3)
    np.testing.assert_allclose(ConvLogMel(logmel)(wave, 125).numpy(), logmel(wave, 125).numpy(), atol=2e-3)


def test_bad_inputs_are_one_line_errors(checkpoint, tmp_path, capsys):
    def error(argv) -> str:
        assert main(argv) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dtsdk: error: ")
        return lines[0]

    assert "unknown export format 'tflite'; choose onnx" in error(
        ["export", str(checkpoint), "--format", "tflite", "-o", str(tmp_path / "a.onnx")])
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    assert "cannot create its folder" in error(["export", str(checkpoint), "-o", str(blocker / "a.onnx")])
    assert "is a folder" in error(["export", str(checkpoint), "-o", str(tmp_path)])
    assert "missing: not a checkpoint directory" in error(["export", str(tmp_path / "missing"),
                                                           "-o", str(tmp_path / "b.onnx")])
    assert "sampler" in error(["export", str(checkpoint), "--sampler", "nope", "-o", str(tmp_path / "c.onnx")])
    with pytest.raises(DtsdkError, match="distilled"):
        export_model(checkpoint, tmp_path / "d.onnx", sampler="distilled", steps=3)
    assert not any(tmp_path.glob("*.onnx"))
