"""One contract every training objective runs (dtsdk/model/objectives/), and proof that it fails
loudly on wrong ones: an objective that lets padded frames into its loss, one that ignores the
seed, one whose samples do not respond to the identity, one that returns the wrong shape."""
from __future__ import annotations

import pytest
import torch

from dtsdk.errors import DtsdkError
from dtsdk.model import DiffusionTalker, DiffusionTalkerConfig
from dtsdk.model.objectives import OBJECTIVES, DiffusionObjective, RegressionObjective
from tests.test_model import SPEAKERS, TINY, assert_halves, fit_one_batch, tiny_batch


class ObjectiveContract:
    """Set ``objective_name``; ``make_model`` builds a tiny DiffusionTalker with that objective."""

    objective_name = ""

    def make_model(self, seed=0, **overrides) -> DiffusionTalker:
        torch.manual_seed(seed)
        model = DiffusionTalker(DiffusionTalkerConfig(identities=list(SPEAKERS),
                                                      **{**TINY, "objective": self.objective_name, **overrides}))
        for net in (m for m in model.modules() if hasattr(m, "film")):  # identity and step get a say
            torch.nn.init.normal_(net.film.weight, std=0.1)
        return model

    def sample(self, model, identity="s01", seed=0, **kwargs):
        return model.eval().sample(tiny_batch(B=2)["audio"], 12, identity=identity, steps=3,
                                   generator=torch.Generator().manual_seed(seed), **kwargs)

    def test_is_chosen_by_the_config(self):
        model = self.make_model()
        assert type(model.objective) is OBJECTIVES[self.objective_name], "the config's objective is the one used"

    def test_loss_is_a_finite_total_that_reaches_every_module(self):
        model = self.make_model()
        parts = model.training_loss(tiny_batch(), generator=torch.Generator().manual_seed(0))
        assert {"loss", "infonce"} <= set(parts), f"loss parts must include the total and infonce: {sorted(parts)}"
        assert all(v.ndim == 0 and torch.isfinite(v) for v in parts.values()), "every loss part is a finite scalar"
        parts["loss"].backward()
        for name, module in model.named_children():
            grads = [p.grad for p in module.parameters() if p.requires_grad]
            if grads:  # the frozen logmel front end has none
                assert any(g is not None and g.abs().sum() > 0 for g in grads), f"the loss never reaches {name}"

    def test_padded_frames_do_not_enter_the_loss(self):
        model = self.make_model().eval()  # no dropout, so only the padding could differ
        batch = tiny_batch()
        changed = {**batch, "motion": batch["motion"].clone()}
        changed["motion"][~batch["mask"]] += 3.0
        a, b = (model.training_loss(x, generator=torch.Generator().manual_seed(0))["loss"] for x in (batch, changed))
        torch.testing.assert_close(a, b, msg="motion in padded frames (mask False) changed the loss")

    def test_learns_one_batch(self):
        model = self.make_model()
        assert_halves(fit_one_batch(model, tiny_batch(), steps=40, seeds=40))

    def test_samples_have_the_motion_shape_and_repeat_from_a_seed(self):
        model = self.make_model()
        out = self.sample(model)
        assert out.shape == (2, 12, 52) and torch.isfinite(out).all(), f"sample shape {tuple(out.shape)}"
        torch.testing.assert_close(out, self.sample(model), atol=0, rtol=0, msg="the same seed must repeat exactly")
        other = self.sample(model, seed=1)
        if model.objective.uses_sampler:
            assert not torch.allclose(out, other), "a sampling objective ignored the generator"
        else:
            torch.testing.assert_close(out, other, msg="a deterministic objective depends on the seed")

    def test_the_identity_steers_the_samples(self):
        model = self.make_model()
        assert not torch.allclose(self.sample(model, "s01"), self.sample(model, "t03")), "identity is ignored"
        assert not torch.allclose(self.sample(model, "s01"), self.sample(model, None)), "identity = generic"

    def test_guidance_weight_zero_is_the_generic_path(self):
        model = self.make_model()
        if not model.objective.uses_sampler:
            with pytest.raises(DtsdkError, match="guidance"):
                self.sample(model, identity_guidance=2.0)
            pytest.skip("a deterministic objective has no guidance (checked: it refuses)")
        torch.testing.assert_close(self.sample(model, "s01", identity_guidance=0.0), self.sample(model, None),
                                   atol=1e-4, rtol=0, msg="guidance weight 0 must equal the generic model")

    def test_samplers_get_the_cond_the_objective_declares(self):
        model = self.make_model()
        if not model.objective.uses_sampler:
            pytest.skip("a deterministic objective runs no sampler")
        seen = {}

        def spy(denoise, x, schedule, cond, steps=None, generator=None, callback=None):
            seen["keys"] = set(cond)
            x0 = denoise(x, torch.full((x.shape[0],), schedule.num_steps - 1, dtype=torch.long), cond)
            assert x0.shape == x.shape, "denoise must return x0_hat in the sampler's shape"
            return x0

        from dtsdk.plugins import register_plugin, unregister_plugin

        class SpyPlugin:
            from dtsdk.plugins import hookimpl

            @hookimpl
            def register_samplers(self, register):
                register("objective-spy", spy)

        name = register_plugin(SpyPlugin(), "objective-spy-plugin")
        try:
            self.sample(model, sampler="objective-spy")
        finally:
            unregister_plugin(name)
        expected = {"audio", "identity", "mask", *model.objective.cond_keys}
        assert seen["keys"] >= expected, f"cond lacks {expected - seen['keys']}"

    def test_checkpoints_carry_the_objective(self, tmp_path):
        model = self.make_model()
        model.save_pretrained(tmp_path)
        loaded = DiffusionTalker.from_pretrained(tmp_path)
        assert type(loaded.objective) is type(model.objective)
        torch.testing.assert_close(self.sample(loaded), self.sample(model), atol=0, rtol=0)


@pytest.mark.parametrize("name", sorted(OBJECTIVES))
def test_every_objective_runs_the_contract(name):
    """The classes below run the contract; this fails when an objective is added without one."""
    assert name in CONTRACTED, f"objective '{name}' has no ObjectiveContract class in this file"


class TestDiffusion(ObjectiveContract):
    objective_name = "diffusion"


class TestDiffusionV(ObjectiveContract):
    objective_name = "diffusion"

    def make_model(self, seed=0, **overrides):
        return super().make_model(seed, **{"parameterization": "v", **overrides})


class TestResidual(ObjectiveContract):
    objective_name = "residual"


class TestRegression(ObjectiveContract):
    objective_name = "regression"


CONTRACTED = {"diffusion", "residual", "regression"}


# ---- the contract fails loudly on wrong objectives ------------------------------------------------
class LeaksPadding(DiffusionObjective):
    name = "wrong-leaks-padding"

    def training_loss(self, x0, cond, generator):
        return super().training_loss(x0, {**cond, "mask": torch.ones_like(cond["mask"])}, generator)


class IgnoresTheSeed(DiffusionObjective):
    name = "wrong-ignores-seed"

    def generate(self, cond, sampler, steps, generator, guidance=1.0, **kwargs):
        return super().generate(cond, sampler, steps, torch.Generator().manual_seed(0), guidance, **kwargs)


class IgnoresTheIdentity(RegressionObjective):
    name = "wrong-ignores-identity"

    def predict(self, cond):
        return super().predict({**cond, "identity": torch.zeros_like(cond["identity"])})


class WrongShape(RegressionObjective):
    name = "wrong-shape"

    def predict(self, cond):
        return super().predict(cond)[:, :-1]


@pytest.mark.parametrize("wrong, check", [
    (LeaksPadding, "test_padded_frames_do_not_enter_the_loss"),
    (IgnoresTheSeed, "test_samples_have_the_motion_shape_and_repeat_from_a_seed"),
    (IgnoresTheIdentity, "test_the_identity_steers_the_samples"),
    (WrongShape, "test_samples_have_the_motion_shape_and_repeat_from_a_seed"),
])
def test_the_contract_catches_a_wrong_objective(monkeypatch, wrong, check):
    monkeypatch.setitem(OBJECTIVES, wrong.name, wrong)
    contract = type("Contract", (ObjectiveContract,), {"objective_name": wrong.name})()
    with pytest.raises(AssertionError):
        getattr(contract, check)()


def test_a_bad_config_value_fails_before_any_module_is_built():
    for field, value, choices in (("objective", "flow", "diffusion, residual, regression"),
                                  ("parameterization", "eps", "x0, v"), ("schedule", "sigmoid", "cosine, linear")):
        with pytest.raises(DtsdkError, match=f"{field} '{value}' is not one of: {choices}"):
            DiffusionTalkerConfig(identities=["a"], **{field: value})
    with pytest.raises(DtsdkError, match="default_sampler 'euler' is not one of: .*ddim"):
        DiffusionTalkerConfig(identities=["a"], default_sampler="euler")
    DiffusionTalkerConfig(identities=["a"], objective="regression", default_sampler="none")  # no sampler to name


def test_config_defaults_describe_the_shipped_model():
    import json

    from dtsdk.inference.talker import DEFAULT_MODEL_DIR

    shipped = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    shipped.pop("format")
    defaults = DiffusionTalkerConfig(identities=shipped["identities"]).to_dict()
    assert defaults == shipped, {k: (defaults[k], shipped[k]) for k in shipped if defaults[k] != shipped[k]}


def test_a_checkpoint_from_before_objectives_and_parameterizations_loads_as_it_was_trained(tmp_path):
    """config.json files written before ``objective`` / ``parameterization`` existed lack them: they load
    as the plain x0 diffusion they were, not as today's default (residual, v)."""
    import json

    old = DiffusionTalker(DiffusionTalkerConfig(identities=list(SPEAKERS), **TINY))  # diffusion, x0
    old.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["objective"], config["parameterization"], config["train_window_s"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    loaded = DiffusionTalker.from_pretrained(tmp_path)
    assert (loaded.config.objective, loaded.config.parameterization) == ("diffusion", "x0")
    assert loaded.config.train_window_s == 2.0  # every model before the setting trained on 2 s crops
    audio = tiny_batch(B=1)["audio"]
    a, b = (m.eval().sample(audio, 12, identity="s01", steps=3, generator=torch.Generator().manual_seed(0))
            for m in (old, loaded))
    torch.testing.assert_close(a, b, atol=0, rtol=0)
