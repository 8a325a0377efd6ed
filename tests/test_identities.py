"""The one identity resolver (dtsdk.identities): every way a user names an identity, what it
reports, and that Talker matches "auto" once per clip through it."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from dtsdk.errors import DtsdkError
from dtsdk.identities import GENERIC, ResolvedIdentity, check_identity, identity_embeddings, resolve_identity
from dtsdk.inference import Talker
from tests.test_model import SPEAKERS, tiny_model


@pytest.fixture(scope="module")
def model():
    model = tiny_model(seed=0).eval()
    for name, param in model.named_parameters():
        if "film" in name:  # FiLM starts at zero; random values give the identity a say, as training would
            torch.nn.init.normal_(param, std=0.1)
    return model


def test_names_indices_and_none(model):
    assert resolve_identity(model, "t03") == [ResolvedIdentity("t03", 2, "library")]
    assert resolve_identity(model, 1, batch_size=2) == [ResolvedIdentity("s02", 1, "library")] * 2
    assert resolve_identity(model, "0") == [ResolvedIdentity("s01", 0, "library")]  # an index typed in a shell
    assert resolve_identity(model, None) == [GENERIC] and GENERIC.is_generic
    per_clip = resolve_identity(model, torch.tensor([2, -1]), batch_size=2)
    assert [r.name for r in per_clip] == ["t03", None]
    chosen = ResolvedIdentity("s02", 1, "library")
    assert resolve_identity(model, chosen, batch_size=3) == [chosen] * 3  # already resolved: passes through


def test_embeddings_are_the_bank_rows_and_the_null_identity(model):
    rows = identity_embeddings(model, resolve_identity(model, torch.tensor([2, -1]), batch_size=2))
    torch.testing.assert_close(rows[0], model.personalizer.bank[2])
    torch.testing.assert_close(rows[1], model.personalizer.null_identity)


def test_auto_matches_each_clip_and_reports_its_confidence(model):
    features = model.encoder(0.1 * torch.randn(2, 8000, generator=torch.Generator().manual_seed(0)), 15)
    chosen = resolve_identity(model, "auto", batch_size=2, features=features)
    _, probs = model.personalizer.match(features)
    for row, r in enumerate(chosen):
        assert r.source == "auto" and r.name in SPEAKERS and r.index == SPEAKERS.index(r.name)
        assert r.confidence == pytest.approx(float(probs[row].max()))
        assert r.describe() == f"{r.name} (auto, confidence {r.confidence:.2f})"
    with pytest.raises(DtsdkError, match="needs the clip's audio"):
        resolve_identity(model, "auto")


@pytest.mark.parametrize("identity, message", [
    ("nobody", "unknown identity 'nobody'; this model knows: s01, s02, t03"),
    (7, "identity index 7 is out of range; this model has 3 identities"),
    (2.5, "identity must be a name, an index, 'auto' or None"),
])
def test_bad_requests_fail_before_any_audio(model, identity, message):
    with pytest.raises(DtsdkError, match=message):
        check_identity(model, identity)


def test_a_generic_model_takes_only_none():
    generic = tiny_model(identity_dropout=1.0)
    assert check_identity(generic, None) is None
    for identity in ("s01", "auto", 0):
        with pytest.raises(DtsdkError, match="trained without identities"):
            check_identity(generic, identity)


def test_talker_matches_auto_once_per_clip_and_reports_the_choice(model, monkeypatch):
    """A 25 s clip in many windows: one match for the whole clip, reported in meta."""
    calls = []
    match = model.personalizer.match
    monkeypatch.setattr(model.personalizer, "match", lambda *a, **k: calls.append(1) or match(*a, **k))
    talker = Talker(model, device="cpu", steps=1)
    wave = (0.1 * np.random.default_rng(0).standard_normal(25 * 16000)).astype(np.float32)
    anim = talker.animate(wave, sr=16000, seed=0, identity="auto")
    assert anim.meta["windows"] > 1 and len(calls) == 1
    assert anim.meta["identity"] in SPEAKERS and 0 < anim.meta["identity_confidence"] <= 1
    named = talker.animate(wave[:16000], sr=16000, seed=0, identity="s02")
    assert named.meta["identity"] == "s02" and named.meta["identity_confidence"] is None and len(calls) == 1


def test_an_identity_from_outside_the_bank_brings_its_own_embedding(model):
    """The room the identity store uses: a ResolvedIdentity with an embedding and no bank row."""
    own = ResolvedIdentity("me", source="store", embedding=model.personalizer.bank[1].detach() * 0.5)
    assert not own.is_generic
    rows = identity_embeddings(model, [own, GENERIC])
    torch.testing.assert_close(rows[0], own.embedding)
    torch.testing.assert_close(rows[1], model.personalizer.null_identity)
    audio = 0.1 * torch.randn(1, 8000, generator=torch.Generator().manual_seed(0))
    motion, info = model.sample(audio, 15, identity=own, steps=2, generator=torch.Generator().manual_seed(0),
                                return_info=True)
    assert info["identity_names"] == ["me"] and info["identity_index"].tolist() == [-1]
    assert not torch.allclose(motion, model.sample(audio, 15, identity=None, steps=2,
                                                   generator=torch.Generator().manual_seed(0)))


def test_a_mix_is_the_weighted_mean_of_its_embeddings(model):
    bank = model.personalizer.bank.detach()
    for request in ({"s01": 0.7, "t03": 0.3}, "s01:0.7,t03:0.3", {"s01": 7, 2: 3}):
        (mixed,) = resolve_identity(model, request)
        assert mixed.source == "mix" and mixed.name == "s01:0.7,t03:0.3" and not mixed.is_generic
        torch.testing.assert_close(mixed.embedding, 0.7 * bank[0] + 0.3 * bank[2])


@pytest.mark.parametrize("request_, message", [
    ("s01:0.7,nobody:0.3", "unknown identity 'nobody'"),
    ("s01:0.7,t03", "write NAME:WEIGHT pairs joined by commas"),
    ({"s01": "lots"}, "the weight of 's01' is 'lots', not a number"),
    ({"s01": -1.0, "t03": 2.0}, "weights must be >= 0"),
    ({"s01": 0.0}, "the weights sum to 0"),
    ({}, "identity mix is empty"),
])
def test_bad_mixes_fail_early(model, request_, message):
    with pytest.raises(DtsdkError, match=message):
        check_identity(model, request_)


def test_a_mix_moves_the_style_between_its_identities():
    """On the shipped model, whose identities steer the style: the style statistics of a t05/t12 mix lie
    on the way from t05's to t12's, further along as t12's weight grows (same audio, same seed)."""
    import dtsdk
    from dtsdk.eval.identity import style_statistics
    from tests.test_default_model import _buzz_wave

    talker, wave = dtsdk.Talker(device="cpu", steps=20), _buzz_wave()

    def style(identity) -> np.ndarray:
        stats = style_statistics(talker.animate(wave, sr=16000, seed=0, identity=identity).arkit_weights())
        return np.concatenate([stats[k].ravel() for k in ("mean", "jaw_amplitude", "asymmetry", "corner_rest")])

    a, b = style("t05"), style("t12")
    along = []
    for w in (0.2, 0.5, 0.8):
        offset = style(f"t05:{1 - w},t12:{w}") - a
        t = float(offset @ (b - a) / ((b - a) @ (b - a)))  # 0 at t05's style, 1 at t12's
        off_line = float(np.linalg.norm(offset - t * (b - a)) / np.linalg.norm(b - a))
        along.append(t)
        assert off_line < 0.2, (w, t, off_line)
    assert along == sorted(along) and 0.2 < along[1] < 0.8, along
