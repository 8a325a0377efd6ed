"""The diffusion model modules: encoder, personalizer, denoiser, DiffusionTalker, checkpoints."""
from __future__ import annotations

import math

import pytest
import torch

from dtsdk.errors import DtsdkError
from dtsdk.identities import identity_embeddings, resolve_identity
from dtsdk.model import (Denoiser, DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, Personalizer,
                         PersonalizerConfig)

SPEAKERS = ["s01", "s02", "t03"]
# The tests name the objective they exercise; the config's defaults describe the shipped model.
TINY = dict(objective="diffusion", parameterization="x0", default_sampler="ddim", default_steps=50,
            encoder_config={"dim": 32, "num_conv_layers": 1, "num_transformer_layers": 1, "num_heads": 2},
            denoiser=DenoiserConfig(d_model=32, num_layers=2, num_heads=2, dropout=0.0),
            personalizer=PersonalizerConfig(identity_dim=16, hidden_dim=32), diffusion_steps=100)


def tiny_model(seed=0, **overrides) -> DiffusionTalker:
    torch.manual_seed(seed)
    return DiffusionTalker(DiffusionTalkerConfig(identities=list(SPEAKERS), **{**TINY, **overrides}))


def tiny_batch(B=3, T=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    samples = int(round(T / 30 * 16000))
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[-1, T // 2:] = False
    return {"audio": 0.1 * torch.randn(B, samples, generator=g), "motion": torch.rand(B, T, 52, generator=g),
            "mask": mask, "speaker": torch.arange(B) % len(SPEAKERS)}


def fit_one_batch(model, batch, steps=30, seeds=3) -> list[dict]:
    """Adam on one batch; returns every step's loss parts as floats. The generator cycles through
    ``seeds`` seeds, so the same t and noise come back and the loss curve reflects learning."""
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    history = []
    for step in range(steps):
        parts = model.training_loss(batch, generator=torch.Generator().manual_seed(step % seeds))
        opt.zero_grad()
        parts["loss"].backward()
        opt.step()
        history.append({k: float(v.detach()) for k, v in parts.items()})
    return history


def assert_halves(history, key="loss"):
    values = [h[key] for h in history]
    assert sum(values[-5:]) / 5 < 0.5 * sum(values[:5]) / 5, values


def test_config_round_trips_through_a_dict():
    cfg = DiffusionTalkerConfig(identities=list(SPEAKERS), **TINY)
    again = DiffusionTalkerConfig.from_dict(cfg.to_dict())
    assert again == cfg and isinstance(again.denoiser, DenoiserConfig)
    assert cfg.num_identities == 3 and cfg.diffusion_steps == 100 and DiffusionTalkerConfig().schedule == "cosine"
    with pytest.raises(ValueError, match="unknown"):
        DiffusionTalkerConfig.from_dict({"identites": []})


def test_denoiser_shapes_and_padding_does_not_leak():
    torch.manual_seed(0)
    den = Denoiser(52, 20, 8, DenoiserConfig(d_model=32, num_layers=2, num_heads=2, dropout=0.0)).eval()
    x, audio, ident = torch.randn(2, 10, 52), torch.randn(2, 10, 20), torch.randn(2, 8)
    t = torch.tensor([0, 99])
    mask = torch.ones(2, 10, dtype=torch.bool)
    mask[:, 6:] = False
    out = den(x, t, audio, ident, mask)
    assert out.shape == (2, 10, 52)
    x2, audio2 = x.clone(), audio.clone()
    x2[:, 6:] += 5.0
    audio2[:, 6:] -= 3.0
    out2 = den(x2, t, audio2, ident, mask)
    torch.testing.assert_close(out[:, :6], out2[:, :6], atol=1e-5, rtol=1e-5)
    # FiLM starts at zero (a plain transformer); once it has weights, step and identity matter
    for block in den.blocks:
        torch.nn.init.normal_(block.film.weight, std=0.1)
    out = den(x, t, audio, ident, mask)
    assert not torch.allclose(out, den(x, t, audio, torch.randn(2, 8), mask))
    assert not torch.allclose(out, den(x, torch.tensor([50, 10]), audio, ident, mask))


def test_personalizer_shapes_match_and_masking():
    torch.manual_seed(0)
    per = Personalizer(20, 5, PersonalizerConfig(identity_dim=8, hidden_dim=16))
    feats = torch.randn(3, 10, 20)
    mask = torch.ones(3, 10, dtype=torch.bool)
    mask[:, 7:] = False
    q = per.query(feats, mask)
    assert q.shape == (3, 8) and per.logits(q).shape == (3, 5)
    feats2 = feats.clone()
    feats2[:, 7:] = 100.0
    torch.testing.assert_close(per.query(feats2, mask), q)
    index, probs = per.match(feats, mask)
    assert index.shape == (3,) and probs.shape == (3, 5)
    torch.testing.assert_close(probs.sum(-1), torch.ones(3))
    assert per.embed(torch.tensor([0, -1, 4]), 3).shape == (3, 8)
    torch.testing.assert_close(per.embed(torch.tensor([-1]), 1)[0], per.null_identity)


def test_identity_dropout_uses_the_null_identity():
    per = Personalizer(20, 4, PersonalizerConfig(identity_dim=8))
    emb = per.embed(torch.arange(4).repeat(16), 64)
    dropped_all, flags = per.drop_identity(emb, 1.0)
    assert flags.all() and torch.equal(dropped_all, per.null_identity.expand(64, -1))
    kept, flags = per.drop_identity(emb, 0.0)
    assert not flags.any() and torch.equal(kept, emb)
    half, flags = per.drop_identity(emb, 0.5, torch.Generator().manual_seed(0))
    assert 0 < int(flags.sum()) < 64
    assert torch.equal(half[flags], per.null_identity.expand(int(flags.sum()), -1))
    assert torch.equal(half[~flags], emb[~flags])


def test_infonce_starts_near_chance_and_falls_on_clusters():
    torch.manual_seed(0)
    N, T, D = 6, 8, 16
    per = Personalizer(D, N, PersonalizerConfig(identity_dim=64, hidden_dim=64, temperature=0.1))
    centres = 2.0 * torch.randn(N, D)
    speaker = torch.arange(N).repeat(2)  # two clips per speaker

    def clips():
        return centres[speaker][:, None] + torch.randn(len(speaker), T, D)  # (B, T, D)

    with torch.no_grad():
        start = float(per.infonce(per.query(clips()), speaker))
    # chance: log N against the bank, log(#other-speaker clips + 1) against the batch
    chance = 0.5 * (math.log(N) + math.log(len(speaker) - 2 + 1))
    assert abs(start - chance) < 0.6 * chance, (start, chance)
    opt = torch.optim.Adam(per.parameters(), lr=1e-2)
    for _ in range(40):
        loss = per.infonce(per.query(clips()), speaker)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        feats = clips()
        end = float(per.infonce(per.query(feats), speaker))
        index, _ = per.match(feats)
    assert end < 0.3 * start, (start, end)
    assert torch.equal(index, speaker)


def test_training_loss_parts_and_overfitting_one_batch():
    model = tiny_model()
    batch = tiny_batch()
    parts = model.training_loss(batch)
    assert set(parts) == {"loss", "recon", "velocity", "infonce"}
    assert all(v.dim() == 0 and torch.isfinite(v) for v in parts.values())
    assert_halves(fit_one_batch(model, batch))


def test_sampling_shapes_identities_and_seeds():
    model = tiny_model().eval()
    for block in model.denoiser.blocks:  # FiLM starts at zero; give identity a say, as training would
        torch.nn.init.normal_(block.film.weight, std=0.1)
    audio = tiny_batch(B=2)["audio"]

    def run(identity, seed=0, sampler="ddim"):
        return model.sample(audio, 12, identity=identity, sampler=sampler, steps=4,
                            generator=torch.Generator().manual_seed(seed), return_info=True)

    out, info = run("t03")
    assert out.shape == (2, 12, 52) and info["identity_names"] == ["t03", "t03"]
    torch.testing.assert_close(out, run("t03")[0], atol=0, rtol=0)
    assert not torch.allclose(out, run("t03", seed=1)[0])
    assert not torch.allclose(out, run("s01")[0])
    generic, info = run(None)
    assert info["identity_index"].tolist() == [-1, -1] and info["identity_names"] == [None, None]
    auto, info = run("auto")
    assert all(n in SPEAKERS for n in info["identity_names"])
    assert all(r.source == "auto" and 0 < r.confidence <= 1 for r in info["identities"])
    ddpm = run(1, sampler="ddpm")[0]
    torch.testing.assert_close(ddpm, run(1, sampler="ddpm")[0], atol=0, rtol=0)
    with pytest.raises(DtsdkError, match="unknown identity 'nobody'.*t03"):
        run("nobody")


def test_save_and_load_round_trip(tmp_path):
    model = tiny_model(seed=1)
    model.set_motion_stats(torch.full((52,), 0.3), torch.full((52,), 0.2))
    model.eval()
    model.save_pretrained(tmp_path / "ckpt")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["README.md", "config.json", "model.safetensors"]
    loaded = DiffusionTalker.from_pretrained(tmp_path / "ckpt")
    assert loaded.config == model.config and loaded.config.identities == SPEAKERS
    audio = tiny_batch(B=1)["audio"]
    a = model.sample(audio, 12, identity="t03", steps=3, generator=torch.Generator().manual_seed(0))
    b = loaded.sample(audio, 12, identity="t03", steps=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_pickle_only_checkpoints_are_refused(tmp_path):
    model = tiny_model()
    model.save_pretrained(tmp_path)
    (tmp_path / "model.safetensors").unlink()
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    with pytest.raises(DtsdkError, match="pytorch_model.bin.*never loaded"):
        DiffusionTalker.from_pretrained(tmp_path)


def test_missing_identities_and_paths_are_clear_errors(tmp_path):
    with pytest.raises(DtsdkError, match="identities is empty"):
        DiffusionTalker(DiffusionTalkerConfig(**TINY))
    with pytest.raises(DtsdkError, match="not a checkpoint directory"):
        DiffusionTalker.from_pretrained(tmp_path / "no" / "such" / "dir")


def test_regression_objective_learns_and_ignores_seeds():
    model = tiny_model(objective="regression")
    batch = tiny_batch()
    assert_halves(fit_one_batch(model, batch, seeds=30))
    model.eval()
    audio = batch["audio"]
    a = model.sample(audio, 12, identity="s01", generator=torch.Generator().manual_seed(0))
    b = model.sample(audio, 12, identity="s01", generator=torch.Generator().manual_seed(1), sampler="ddpm", steps=7)
    torch.testing.assert_close(a, b, atol=0, rtol=0)  # no noise anywhere: one deterministic pass
    # the regression is exactly the denoiser at step 0 on a zero motion input, de-normalised
    features = model.encoder(audio, 12)
    identity = identity_embeddings(model, resolve_identity(model, "s01", 3))
    direct = model.denoiser(torch.zeros(3, 12, 52), torch.zeros(3, dtype=torch.long), features, identity)
    torch.testing.assert_close(a, direct * model.motion_std + model.motion_mean)


def test_generic_model_refuses_identities_and_unknown_objectives():
    model = tiny_model(identity_dropout=1.0).eval()
    audio = tiny_batch(B=1)["audio"]
    assert model.sample(audio, 12, identity=None, steps=2).shape == (1, 12, 52)
    for identity in ("s01", "auto", 0):
        with pytest.raises(DtsdkError, match="trained without identities"):
            model.sample(audio, 12, identity=identity, steps=2)
    with pytest.raises(DtsdkError, match="objective 'flow' is not one of: diffusion, residual, regression"):
        tiny_model(objective="flow")


def test_half_precision_checkpoint_loads_as_float32(tmp_path):
    from safetensors.torch import load_file

    model = tiny_model(seed=2).eval()
    model.save_pretrained(tmp_path / "full")
    model.save_pretrained(tmp_path / "half", dtype=torch.float16)
    stored = load_file(str(tmp_path / "half" / "model.safetensors"))
    assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
    full, half = (tmp_path / n / "model.safetensors" for n in ("full", "half"))
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded = DiffusionTalker.from_pretrained(tmp_path / "half")
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    audio = tiny_batch(B=1)["audio"]
    a = model.sample(audio, 12, identity="s01", steps=3, generator=torch.Generator().manual_seed(0))
    b = loaded.sample(audio, 12, identity="s01", steps=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(a, b, atol=5e-2, rtol=0)  # rounding of the weights only


def test_identity_guidance_interpolates_between_generic_and_identity():
    model = tiny_model(seed=3).eval()
    for block in model.denoiser.blocks:  # give the identity a say, as training would
        torch.nn.init.normal_(block.film.weight, std=0.1)
    audio = tiny_batch(B=2)["audio"]

    def run(identity, w):
        return model.sample(audio, 12, identity=identity, steps=4, identity_guidance=w,
                            generator=torch.Generator().manual_seed(0))

    torch.testing.assert_close(run("s01", 1.0), model.sample(audio, 12, identity="s01", steps=4,
                                                             generator=torch.Generator().manual_seed(0)))
    torch.testing.assert_close(run("s01", 0.0), run(None, 1.0), atol=1e-5, rtol=0)  # w = 0: the generic model
    assert not torch.allclose(run("s01", 2.0), run("s01", 1.0))
    torch.testing.assert_close(run(None, 3.0), run(None, 1.0))  # nothing to guide toward: plain generic
    with pytest.raises(DtsdkError, match="identity guidance needs a diffusion model"):
        tiny_model(objective="regression").eval().sample(audio, 12, identity="s01", identity_guidance=2.0)


def test_residual_objective_trains_mean_and_residual_and_samples_around_the_mean():
    model = tiny_model(objective="residual")
    batch = tiny_batch()
    parts = model.training_loss(batch, generator=torch.Generator().manual_seed(0))
    assert set(parts) == {"loss", "recon", "velocity", "infonce", "mean_recon", "mean_velocity"}
    expected = (parts["recon"] + parts["velocity"] + 0.1 * parts["infonce"] + parts["mean_recon"]
                + parts["mean_velocity"])
    torch.testing.assert_close(parts["loss"], expected)
    # The diffusion target is x0 - mean with the mean detached: the residual loss alone moves no mean weight.
    parts["recon"].backward()
    assert all(p.grad is None or not p.grad.any() for p in model.mean_net.parameters())
    assert any(p.grad is not None and p.grad.any() for p in model.denoiser.parameters())

    model = tiny_model(objective="residual")
    assert_halves(fit_one_batch(model, batch, steps=40), key="mean_recon")

    model.eval()
    audio = batch["audio"]
    features = model.encoder(audio, 12)
    identity = identity_embeddings(model, resolve_identity(model, "s01", 3))
    with torch.no_grad():
        mean = model.objective.mean({"audio": features, "identity": identity, "mask": None})
        mean = mean * model.motion_std + model.motion_mean  # (B, T, D)
    seen = []

    def spy(model_fn, x, schedule, cond, **kwargs):  # a sampler that records what it is given
        from dtsdk.samplers.ddim import sample_ddim
        seen.append(cond)
        return sample_ddim(model_fn, x, schedule, cond, **kwargs)

    from dtsdk.testing import temporary_plugin
    from dtsdk import hookimpl

    class SpyPlugin:
        @hookimpl
        def register_samplers(self, register):
            register("spy", spy)

    with temporary_plugin(SpyPlugin(), name="spy-sampler"):
        a = model.sample(audio, 12, identity="s01", sampler="spy", steps=3, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(seen[0]["mean"] * model.motion_std + model.motion_mean, mean)
    b = model.sample(audio, 12, identity="s01", steps=3, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(a, b)  # the residual is sampled: seeds differ
    # the samples scatter around the mean network's motion, as the residual's size allows
    assert float((a - mean).abs().mean()) < float((a - a.mean()).abs().mean())


def test_v_parameterization_passes_a_clean_input_through_and_learns():
    model = tiny_model(parameterization="v", seed=4).eval()
    for block in model.denoiser.blocks:
        torch.nn.init.normal_(block.film.weight, std=0.1)
    batch = tiny_batch()
    features = model.encoder(batch["audio"], 12)
    cond = {"audio": features, "identity": model.personalizer.embed(None, 3), "mask": None}
    x_t = torch.randn(3, 12, 52)
    abar = model.schedule.alphas_cumprod.float()
    for step in (0, 50, 99):
        t = torch.full((3,), step)
        v_hat = model.denoiser(x_t, t, features, cond["identity"])
        expected = abar[step].sqrt() * x_t - (1 - abar[step]).sqrt() * v_hat
        torch.testing.assert_close(model.denoise(x_t, t, cond), expected)
    # Nearly clean (sqrt(1 - abar_0) = 0.025 for 100 cosine steps): the network gets a 2.5% say, the input the rest.
    step0 = torch.zeros(3, dtype=torch.long)
    network = model.denoiser(x_t, step0, features, cond["identity"]).detach()  # (B, T, D)
    near_clean = model.denoise(x_t, step0, cond).detach()
    assert float((near_clean - x_t).abs().max()) < 0.03 * float(network.abs().max()) + 1e-3 * float(x_t.abs().max())
    plain = tiny_model(parameterization="x0", seed=4).eval()
    plain.load_state_dict(model.state_dict())
    torch.testing.assert_close(plain.denoise(x_t, step0, cond), network)  # "x0": the network's output as it is

    model = tiny_model(parameterization="v", objective="residual")
    assert_halves(fit_one_batch(model, batch))
    with pytest.raises(DtsdkError, match="parameterization 'eps' is not one of: x0, v"):
        tiny_model(parameterization="eps")


def test_identity_guidance_on_the_residual_objective_reaches_the_generic_path_at_zero():
    model = tiny_model(seed=5, objective="residual", parameterization="v").eval()
    for net in (model.denoiser, model.mean_net):  # give the identity a say, as training would
        for block in net.blocks:
            torch.nn.init.normal_(block.film.weight, std=0.1)
    audio = tiny_batch(B=2)["audio"]

    def run(identity, w, sampler="ddpm"):
        return model.sample(audio, 12, identity=identity, steps=5, identity_guidance=w, sampler=sampler,
                            generator=torch.Generator().manual_seed(0))

    for sampler in ("ddpm", "ddim"):
        torch.testing.assert_close(run("s01", 0.0, sampler), run(None, 1.0, sampler), atol=1e-3, rtol=0)
    assert not torch.allclose(run("s01", 2.0), run("s01", 1.0))
    assert not torch.allclose(run("s01", 1.0), run(None, 1.0))
