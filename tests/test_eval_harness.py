"""``evaluate_model`` and ``dtsdk eval`` on the tiny corpus with a tiny untrained checkpoint: keys and
units, finite values, sample diversity vs the static baseline, retrieval range, CLI output and errors."""
from __future__ import annotations

import json
import math

import pytest
import torch

from dtsdk.cli import main

TINY = dict(encoder_config={"dim": 16, "num_conv_layers": 1, "num_transformer_layers": 1, "num_heads": 2},
            diffusion_steps=50, default_steps=2)
METRIC_KEYS = ("lve_max_l2_mm", "lve_max_sq_mm2", "mve_mm", "fdd_signed_mm2", "fdd_abs_mm2", "diversity_mm",
               "blinks_per_min", "gt_blinks_per_min",
               "style_error", "style_error_per_speaker", "num_sequences", "num_frames")


@pytest.fixture(scope="module")
def corpus(tiny_corpus):
    return tiny_corpus


@pytest.fixture(scope="module")
def checkpoint(corpus, tmp_path_factory):
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.model import DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, PersonalizerConfig

    speakers = sorted({c["speaker"] for c in read_manifest(corpus)["clips"] if c["split"] == "train"})
    torch.manual_seed(0)
    model = DiffusionTalker(DiffusionTalkerConfig(
        identities=speakers, denoiser=DenoiserConfig(d_model=16, num_layers=1, num_heads=2, dropout=0.0),
        personalizer=PersonalizerConfig(identity_dim=8, hidden_dim=16), **TINY))
    directory = tmp_path_factory.mktemp("eval-ckpt") / "tiny"
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def results(checkpoint, corpus):
    from dtsdk.eval.harness import evaluate_model

    return evaluate_model(checkpoint, corpus, split="test", num_samples=2, steps=2, limit=3, seed=0, device="cpu")


def test_keys_units_and_ranges(results):
    assert results["num_clips"] == 3 and results["split"] == "test" and results["num_samples"] == 2
    assert results["steps"] == 2 and results["seconds"] >= 0 and results["num_frames"] > 0
    systems = results["systems"]
    assert set(systems) == {"identity", "auto", "generic", "resampled", "static_mean_face"}
    for name, metrics in systems.items():
        for key in METRIC_KEYS:
            assert key in metrics, (name, key)
        for key in ("lve_max_l2_mm", "lve_max_sq_mm2", "mve_mm", "fdd_abs_mm2", "diversity_mm", "style_error"):
            assert math.isfinite(metrics[key]) and metrics[key] >= 0, (name, key, metrics[key])
        assert math.isfinite(metrics["fdd_signed_mm2"])
        assert metrics["num_sequences"] == 3
        assert set(metrics["style_error_per_speaker"]) <= set(results["speakers"])
        assert all(v >= 0 for v in metrics["style_error_per_speaker"].values())
    json.dumps(results, allow_nan=False)  # JSON-able, no NaN


def test_diversity_retrieval_and_static_floor(results):
    systems = results["systems"]
    for name in ("identity", "auto", "generic", "resampled"):
        assert systems[name]["diversity_mm"] > 0, name  # seeds differ
    assert systems["static_mean_face"]["diversity_mm"] == 0.0
    assert 0.0 <= systems["auto"]["identity_top1"] <= 1.0
    assert systems["auto"]["num_retrieval_queries"] == 3


def test_results_table(results):
    from dtsdk.eval.harness import results_table

    table = results_table(results)
    assert table.count("\n") == 7 and "LVE max-L2 (mm)" in table and "| static_mean_face |" in table
    assert "| resampled |" in table and "LVE x floor" in table  # every score also against the floor


def _tiny_variant(corpus, directory, **overrides):
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.model import DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, PersonalizerConfig

    speakers = sorted({c["speaker"] for c in read_manifest(corpus)["clips"] if c["split"] == "train"})
    torch.manual_seed(1)
    model = DiffusionTalker(DiffusionTalkerConfig(
        identities=speakers, denoiser=DenoiserConfig(d_model=16, num_layers=1, num_heads=2, dropout=0.0),
        personalizer=PersonalizerConfig(identity_dim=8, hidden_dim=16), **{**TINY, **overrides}))
    model.save_pretrained(directory)
    return directory


def test_regression_baseline_is_deterministic(corpus, tmp_path):
    from dtsdk.eval.harness import evaluate_model

    model = _tiny_variant(corpus, tmp_path / "regression", objective="regression")
    results = evaluate_model(model, corpus, num_samples=2, limit=2, device="cpu", systems=["identity"])
    assert list(results["systems"]) == ["identity"]
    assert results["objective"] == "regression" and results["sampler"] == "regression" and results["steps"] == 1
    assert results["systems"]["identity"]["diversity_mm"] == 0.0  # seeds cannot change a regression


def test_generic_model_scores_only_generic(corpus, tmp_path):
    from dtsdk.errors import DtsdkError
    from dtsdk.eval.harness import evaluate_model

    model = _tiny_variant(corpus, tmp_path / "generic", identity_dropout=1.0)
    results = evaluate_model(model, corpus, num_samples=1, steps=2, limit=1, device="cpu")
    assert set(results["systems"]) == {"generic", "resampled", "static_mean_face"}
    with pytest.raises(DtsdkError, match="cannot be scored for this model"):
        evaluate_model(model, corpus, num_samples=1, steps=2, limit=1, device="cpu", systems=["identity"])


def test_cli_writes_json(checkpoint, corpus, tmp_path, capsys):
    out = tmp_path / "sub" / "results.json"
    argv = ["eval", str(checkpoint), "--corpus", str(corpus), "--limit", "1", "--samples", "2", "--steps", "2",
            "--device", "cpu", "-o", str(out), "--json"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    written = json.loads(out.read_text())
    assert written["num_clips"] == 1 and printed["systems"].keys() == written["systems"].keys()


def test_cli_systems_subset(checkpoint, corpus, capsys):
    argv = ["eval", str(checkpoint), "--corpus", str(corpus), "--limit", "1", "--samples", "1", "--steps", "2",
            "--device", "cpu", "--systems", "generic,static_mean_face", "--json"]
    assert main(argv) == 0
    assert list(json.loads(capsys.readouterr().out)["systems"]) == ["generic", "static_mean_face"]


@pytest.mark.parametrize("extra, message", [(["--split", "train"], "unknown evaluation split 'train'"),
                                            (["--split", "bogus"], "unknown evaluation split")])
def test_cli_unknown_split_exit_2(checkpoint, corpus, capsys, extra, message):
    assert main(["eval", str(checkpoint), "--corpus", str(corpus), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err


def test_cli_missing_corpus_exit_2(checkpoint, tmp_path, capsys):
    assert main(["eval", str(checkpoint), "--corpus", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert "nope" in err and "\n" not in err


def test_every_nth_clip_keeps_all_speakers(checkpoint, corpus):
    from dtsdk.errors import DtsdkError
    from dtsdk.eval.harness import evaluate_model

    full = evaluate_model(checkpoint, corpus, num_samples=1, steps=2, device="cpu", systems=["generic"])
    half = evaluate_model(checkpoint, corpus, num_samples=1, steps=2, device="cpu", systems=["generic"], every=2)
    assert half["num_clips"] == (full["num_clips"] + 1) // 2 and half["speakers"] == full["speakers"]
    with pytest.raises(DtsdkError, match="--every must be at least 1"):
        evaluate_model(checkpoint, corpus, every=0)


def test_the_static_face_is_the_mean_of_the_natural_training_clips(corpus):
    """The tiny corpus has pause clips in its train split; the static baseline leaves them out."""
    import numpy as np

    from dtsdk.animation import Animation
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.eval.harness import mean_training_pose

    manifest = read_manifest(corpus)
    train = [c for c in manifest["clips"] if c["split"] == "train"]
    assert {c["kind"] for c in train} >= {"natural", "pause"}
    natural = np.concatenate([Animation.load(corpus / c["motion"]).arkit_weights()
                              for c in train if c["kind"] == "natural"])
    np.testing.assert_allclose(mean_training_pose(corpus, manifest), natural.mean(0), atol=1e-6)


# ---- swapped_test and pause_test ---------------------------------------------------------------------
def test_style_transfer_error_of_the_style_ground_truth_is_zero(corpus):
    """A swapped clip's ground truth (B's style) scored as a prediction: 0 against B, > 0 against A's
    own motion of the same audio (A's natural clip), and closer to B on every clip."""
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.eval import style_transfer_error
    from dtsdk.eval.harness import _weights, clip_truth

    manifest = read_manifest(corpus)
    by_name = {c["clip"]: c for c in manifest["clips"]}
    items = []
    for clip in (c for c in manifest["clips"] if c["split"] == "swapped_test"):
        gt = _weights(corpus, clip)
        truth = clip_truth(corpus, clip, len(gt), float(manifest["fps"]), by_name, {})
        natural = by_name[clip["natural_clip"]]
        assert truth.voice_speaker == clip["voice_speaker"] == natural["speaker"] != clip["speaker"]
        assert (corpus / natural["wav"]).read_bytes() == (corpus / clip["wav"]).read_bytes()  # the same audio
        assert (truth.voice_gt == _weights(corpus, natural)).all()
        items.append((gt, gt, truth.voice_gt, clip["speaker"], truth.voice_speaker))
    out = style_transfer_error(items)
    assert out["style_error_vs_style"] == 0.0 and out["style_error_vs_voice"] > 0.01
    assert out["style_closer_share"] == 1.0 and out["num_clips"] == len(items) > 0


def test_voice_ground_truth_without_a_natural_clip_is_the_clip_in_the_voices_style(corpus):
    """With no natural clip to take, A's motion of the audio is re-articulated in A's style; the
    corpus generator run again on A's natural clip's own inputs agrees with it on the jaw."""
    import numpy as np

    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.eval.harness import _weights, clip_truth
    from dtsdk.rigs.arkit import ARKIT52

    manifest = read_manifest(corpus)
    by_name = {c["clip"]: c for c in manifest["clips"]}
    clip = next(c for c in manifest["clips"] if c["split"] == "swapped_test")
    orphan = {**clip, "natural_clip": None}
    gt = _weights(corpus, clip)
    voice_gt = clip_truth(corpus, orphan, len(gt), float(manifest["fps"]), by_name, {}).voice_gt
    natural = _weights(corpus, by_name[clip["natural_clip"]])
    jaw = ARKIT52.index("jawOpen")
    assert voice_gt.shape == natural.shape
    assert np.abs(voice_gt[:, jaw] - natural[:, jaw]).mean() < 0.5 * np.abs(gt[:, jaw] - natural[:, jaw]).mean()


def record_identities(monkeypatch) -> list:
    """Every (audio, identity) that Talker.animate is asked for, from now on, in a list."""
    from dtsdk.inference import Talker

    asked = []
    animate = Talker.animate

    def recording(self, audio, *args, identity=..., **kwargs):
        asked.append((audio, identity))
        return animate(self, audio, *args, identity=identity, **kwargs)

    monkeypatch.setattr(Talker, "animate", recording)
    return asked


def test_swapped_test_animates_the_label_and_retrieves_the_voice(checkpoint, corpus, monkeypatch):
    """On swapped_test the identity system animates with the clip's label (B, the style speaker), as
    the manifest says, and auto's retrieval is scored against the voice (A)."""
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.eval.harness import evaluate_model

    swapped = [c for c in read_manifest(corpus)["clips"] if c["split"] == "swapped_test"]
    asked = record_identities(monkeypatch)
    results = evaluate_model(checkpoint, corpus, split="swapped_test", num_samples=1, steps=2, device="cpu",
                             systems=["identity", "auto"])
    by_wav = {str(corpus / c["wav"]): c for c in swapped}
    labelled = [(by_wav[audio], identity) for audio, identity in asked if identity != "auto"]
    assert len(labelled) == len(swapped) == results["num_clips"]
    for clip, identity in labelled:
        assert identity == clip["speaker"] == clip["style_speaker"] != clip["voice_speaker"]
    assert results["speakers"] == sorted({c["style_speaker"] for c in swapped})
    assert results["voice_speakers"] == sorted({c["voice_speaker"] for c in swapped})
    for name in ("identity", "auto"):
        metrics = results["systems"][name]
        assert metrics["style_error_vs_style"] == pytest.approx(metrics["style_error"])
        assert metrics["style_error_vs_voice"] > 0 and 0 <= metrics["style_closer_share"] <= 1
    assert results["systems"]["auto"]["num_retrieval_queries"] == len(swapped)


def test_pause_test_scores_the_face_at_rest(corpus):
    """The corpus drawn again rests like the ground truth: jaw and brows within 0.05 of the rest pose."""
    from dtsdk.eval.harness import evaluate_model

    results = evaluate_model(None, corpus, split="pause_test", num_samples=1)
    for name, metrics in results["systems"].items():
        assert metrics["silence_s"] > 0 and metrics["silence_style_blinks_per_min"] > 0, name
        assert metrics["silence_gt_jaw_error"] < 0.01 and metrics["silence_gt_brow_error"] < 0.05
    floor, static = results["systems"]["resampled"], results["systems"]["static_mean_face"]
    assert floor["silence_jaw_error"] < 0.05 and floor["silence_brow_error"] < 0.05
    assert static["silence_jaw_error"] > 0.05 and static["silence_blinks_per_min"] == 0


def test_windows_are_recorded_and_change_the_animation(checkpoint, corpus, results):
    from dtsdk.eval.harness import evaluate_model

    short = evaluate_model(checkpoint, corpus, split="test", num_samples=2, steps=2, limit=3, seed=0, device="cpu",
                           windows=(0.5, 0.1))
    assert results["windows_s"] == [10.0, 1.0] and short["windows_s"] == [0.5, 0.1]
    lve = [r["systems"]["identity"]["lve_max_l2_mm"] for r in (results, short)]
    assert lve[0] != pytest.approx(lve[1], rel=1e-6)


@pytest.mark.parametrize("windows", ["2", "2,x", "1,1", "1,-0.5"])
def test_cli_bad_windows_exit_2(checkpoint, corpus, capsys, windows):
    with pytest.raises(SystemExit) as exited:  # argparse rejects the value before any work
        main(["eval", str(checkpoint), "--corpus", str(corpus), "--windows", windows])
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--windows" in err and f"'{windows}'" in err


def test_heldout_speakers_scored_with_the_identities_given_for_them(checkpoint, corpus, monkeypatch):
    """``identities`` animates a speaker the model has no identity of (an enrolled one) with the one
    named; ``speakers`` scores only that speaker's clips."""
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.eval.harness import evaluate_model

    clips = read_manifest(corpus)["clips"]
    heldout = sorted({c["speaker"] for c in clips if c["split"] == "heldout_test"})[0]
    own = [str(corpus / c["wav"]) for c in clips if c["split"] == "heldout_test" and c["speaker"] == heldout]
    stand_in = sorted({c["speaker"] for c in clips if c["split"] == "train"})[0]
    asked = record_identities(monkeypatch)

    def score(identities):
        asked.clear()
        return evaluate_model(checkpoint, corpus, "heldout_test", systems=["identity"], steps=2, num_samples=1,
                              seed=0, device="cpu", identities=identities, speakers=[heldout])

    unnamed = score(None)
    assert unnamed["num_clips"] == len(own) and unnamed["speakers"] == [heldout]
    assert unnamed["systems"]["identity"] is None and asked == []  # the model has no identity of a held-out speaker
    named = score({heldout: stand_in})
    assert sorted(asked) == sorted((wav, stand_in) for wav in own)
    assert named["systems"]["identity"]["num_sequences"] == len(own)
    assert named["enrolled_identities"] == {heldout: stand_in}
    with pytest.raises(Exception, match="no clips of speakers nobody"):
        evaluate_model(checkpoint, corpus, "heldout_test", steps=2, device="cpu", speakers=["nobody"])
