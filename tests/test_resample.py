"""The ``resampled`` system (:mod:`dtsdk.corpus.resample`) on the tiny corpus: the stored inputs are
all the generator needs (a replay with the builder's own generator gives the stored motion back);
two draws differ only in the random parts; a draw scored against itself gives zero; the system
shows up in ``dtsdk eval`` results and tables, with or without a model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dtsdk.rigs.arkit import ARKIT52, arkit_index

# Channels that only the articulation of the phones sets (nonverbal motion adds blinks, brows, gaze).
NONVERBAL = {n for n in ARKIT52 if n.startswith(("eyeBlink", "eyeLook", "browInnerUp", "browOuterUp"))}
MOUTH = [i for i, n in enumerate(ARKIT52) if n.startswith(("jaw", "mouth"))]


@pytest.fixture(scope="module")
def corpus(tiny_corpus):
    return tiny_corpus


@pytest.fixture(scope="module")
def manifest(corpus):
    from dtsdk.corpus.manifest import read_manifest

    return read_manifest(corpus)


def _stored(corpus, clip):
    from dtsdk.animation import Animation

    return Animation.load(corpus / clip["motion"])


def _plans(manifest):
    """The builder's speaker plans, made again from the recipe in the manifest."""
    from dtsdk.corpus.recipe import CorpusRecipe
    from dtsdk.corpus.sentences import load_sentences
    from dtsdk.corpus.splits import plan_speakers, speaker_ids, split_sentences

    recipe = CorpusRecipe.from_dict(manifest["recipe"])
    pools = split_sentences(len(load_sentences()), recipe.test_sentence_fraction, recipe.seed)
    train_ids, heldout_ids = speaker_ids(recipe.train_speakers, recipe.heldout_speakers)
    return plan_speakers(pools, train_ids, heldout_ids, seed=recipe.seed, train_minutes=recipe.train_minutes,
                         test_sentences=recipe.test_sentences, enroll_minutes=recipe.enroll_minutes,
                         heldout_test_sentences=recipe.heldout_test_sentences)


def _builder_generators(manifest):
    """(clip, the generator the builder drew its motion from) for every clip, in manifest order.

    Natural clips: one generator per speaker, drawn in manifest order (``build._speak_speaker``).
    Extra clips: each its own (``extras.speak_extra_clips``: the motion child of
    ``SeedSequence([recipe seed, stream, speaker index, clip number])``).
    """
    from dtsdk.corpus import extras

    streams = {("swapped", "swapped_test"): extras.SWAPPED_TEST_STREAM, ("swapped", "train"):
               extras.SWAPPED_TRAIN_STREAM, ("pause", "train"): extras.PAUSE_TRAIN_STREAM,
               ("pause", "pause_test"): extras.PAUSE_TEST_STREAM}
    plans = _plans(manifest)
    natural = {p.speaker: np.random.default_rng(p.seed) for p in plans}
    index = {p.speaker: i for i, p in enumerate(plans)}
    for clip in manifest["clips"]:
        kind = clip.get("kind", "natural")
        if kind == "natural":
            yield clip, natural[clip["speaker"]]
        else:
            stream = streams[kind, clip["split"]]
            number = int(clip["clip"].rsplit("_", 1)[1])
            root = np.random.SeedSequence([manifest["recipe"]["seed"], stream, index[clip["speaker"]], number])
            yield clip, np.random.default_rng(root.spawn(2)[1])


def test_replay_with_the_builders_generator_gives_the_stored_motion(corpus, manifest):
    """Replaying every clip (natural, swapped, pause) from its stored inputs with the builder's own
    generator gives the stored motion back to within the rounding of the stored phone times
    (0.1 ms) and of the 16-bit audio. So the stored inputs are everything the motion depends on
    besides the generator, and a resampled draw is a true second draw of the generator."""
    from dtsdk.corpus.resample import articulate_clip, clip_inputs
    from dtsdk.corpus.visemes import LIP_OPENING_CHANNELS, PRESS_CHANNELS

    closure = {"jawOpen", "mouthClose", "cheekPuff", *PRESS_CHANNELS, *LIP_OPENING_CHANNELS}
    worst_weight = worst_head = 0.0
    kinds = set()
    for clip, rng in _builder_generators(manifest):
        stored = _stored(corpus, clip)
        replay = articulate_clip(clip_inputs(corpus, clip), rng)
        assert replay.weights.shape == stored.weights.shape and replay.names == stored.names
        diff = np.abs(replay.weights - stored.weights)
        # A rounded phone time can move one closure edge across a frame time (4 frames of the
        # default corpus's 2,976 clips): at most one such frame per clip, in closure channels only.
        edges = np.flatnonzero(diff.max(1) > 1e-3)
        assert len(edges) <= 1, (clip["clip"], edges)
        if len(edges):
            assert {ARKIT52[c] for c in np.flatnonzero(diff[edges[0]] > 1e-3)} <= closure, clip["clip"]
            diff = np.delete(diff, edges, axis=0)
        worst_weight = max(worst_weight, float(diff.max()))
        worst_head = max(worst_head, float(np.abs(replay.head_pose - stored.head_pose).max()))
        kinds.add(clip.get("kind", "natural"))
    # Measured 2.0e-4 (weights) on this recipe; a generator out of step gives ~1.
    assert worst_weight < 1e-3 and worst_head < 1e-4, (worst_weight, worst_head)
    assert "natural" in kinds


def test_replay_from_the_tts_is_exact(corpus, manifest):
    """With the TTS's own float audio and unrounded phones (the text spoken again with the
    speaker's voice), the replay of natural clips is bit-identical: nothing but the inputs and the
    generator enters a clip's motion."""
    import yaml

    from dtsdk.corpus.articulation import motion_for_utterance
    from dtsdk.corpus.resample import speaker_style
    from dtsdk.corpus.tts import Voice, synthesize

    speaker = _plans(manifest)[0].speaker
    voice = Voice(**yaml.safe_load((corpus / "speakers" / speaker / "speaker.yaml").read_text())["voice"])
    style = speaker_style(corpus, speaker)
    for clip, rng in _builder_generators(manifest):
        if clip["speaker"] != speaker or clip.get("kind", "natural") != "natural":
            continue
        utt = synthesize(clip["text"], voice)
        anim = motion_for_utterance(utt.phones, utt.audio, utt.sample_rate, manifest["fps"], style, rng)
        np.testing.assert_array_equal(anim.weights, _stored(corpus, clip).weights)


def test_two_draws_differ_only_in_the_random_parts(corpus, manifest):
    from dtsdk.corpus.resample import articulate_clip, clip_inputs, resample_generator

    clip = next(c for c in manifest["clips"] if c["split"] == "test")
    inputs = clip_inputs(corpus, clip)
    a, b = (articulate_clip(inputs, resample_generator(clip["clip"], 0, k)) for k in (0, 1))
    stored = _stored(corpus, clip)
    assert a.num_frames == b.num_frames == stored.num_frames
    # Random parts: blinks, brows, gaze and head differ between draws.
    nonverbal = [arkit_index(n) for n in sorted(NONVERBAL)]
    assert not np.array_equal(a.weights[:, nonverbal], b.weights[:, nonverbal])
    assert not np.allclose(a.head_pose, b.head_pose)
    # The mouth follows the phones: only the per-token target jitter (style.target_jitter) moves it.
    mouth_a, mouth_b = a.weights[:, MOUTH], b.weights[:, MOUTH]
    assert np.corrcoef(mouth_a.ravel(), mouth_b.ravel())[0, 1] > 0.95
    assert np.abs(mouth_a - mouth_b).mean() < 0.2 * np.abs(mouth_a - mouth_a.mean(0)).mean()
    # With no jitter the mouth is identical, and every other difference lies in nonverbal channels.
    from dataclasses import replace

    still = replace(inputs, style=replace(inputs.style, target_jitter=0.0))
    c, d = (articulate_clip(still, resample_generator(clip["clip"], 0, k)) for k in (0, 1))
    differs = {ARKIT52[i] for i in np.flatnonzero(np.abs(c.weights - d.weights).max(0) > 0)}
    assert differs and differs <= NONVERBAL, differs - NONVERBAL


def test_draws_are_reproducible_and_seeded(corpus, manifest):
    from dtsdk.corpus.resample import resample_clip

    clip = next(c for c in manifest["clips"] if c["split"] == "test")
    first, second = resample_clip(corpus, clip, seed=0, draws=2)
    again = resample_clip(corpus, clip, seed=0, draws=1)[0]
    other_seed = resample_clip(corpus, clip, seed=1, draws=1)[0]
    assert first.dtype == np.float32 and first.shape == (clip["frames"], 52)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, second) and not np.array_equal(first, other_seed)


def test_a_draw_scored_against_itself_is_zero(corpus, manifest):
    from dtsdk.corpus.resample import resample_clip
    from dtsdk.eval import evaluate_sequences

    clips = [c for c in manifest["clips"] if c["split"] == "test"]
    pairs = []
    for clip in clips:
        draw = resample_clip(corpus, clip, seed=3)[0]
        pairs.append((draw, draw.copy(), clip["speaker"]))
    out = evaluate_sequences(pairs)
    for key in ("lve_max_l2_mm", "lve_max_sq_mm2", "mve_mm", "fdd_signed_mm2", "fdd_abs_mm2", "style_error"):
        assert out[key] == 0.0, key


def test_resampled_in_eval_results_and_tables(corpus, capsys):
    """No model needed: ``evaluate_model(None, ...)`` and ``dtsdk eval --corpus DIR``."""
    from dtsdk.cli import main
    from dtsdk.errors import DtsdkError
    from dtsdk.eval.harness import evaluate_model, results_table

    res = evaluate_model(None, corpus, split="test", num_samples=2, seed=0)
    assert list(res["systems"]) == ["resampled", "static_mean_face"] and res["model"] is None
    floor = res["systems"]["resampled"]
    assert floor["num_sequences"] == res["num_clips"]
    assert 0 < floor["lve_max_l2_mm"] < res["systems"]["static_mean_face"]["lve_max_l2_mm"]
    assert floor["diversity_mm"] > 0 and floor["blinks_per_min"] > 0 and floor["style_error"] > 0
    table = results_table(res)
    assert "| resampled |" in table and "LVE x floor" in table
    row = next(line for line in table.splitlines() if line.startswith("| resampled |"))
    assert row.rstrip(" |").endswith("| 1 | 1 | 1 | 1")  # the floor is 1x itself
    with pytest.raises(DtsdkError, match="cannot be scored without a model"):
        evaluate_model(None, corpus, systems=["identity"])
    assert main(["eval", "--corpus", str(corpus), "--split", "heldout_test", "--systems", "resampled",
                 "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed["systems"]) == ["resampled"] and printed["split"] == "heldout_test"
