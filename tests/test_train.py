"""Training: loss falls, checkpoint layout, exact resume, DDP on 2 gloo processes, recipe errors."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from dtsdk.errors import DtsdkError
from dtsdk.train import TrainRecipe, train

REPO = Path(__file__).resolve().parents[1]
TINY_MODEL = {"denoiser": {"d_model": 32, "num_layers": 1, "num_heads": 2, "dropout": 0.0},
              "personalizer": {"identity_dim": 16, "hidden_dim": 32}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from dtsdk.corpus.build import build_corpus
    from dtsdk.corpus.recipe import CorpusRecipe

    out = tmp_path_factory.mktemp("train") / "corpus"
    build_corpus(CorpusRecipe.from_yaml("tiny"), out)
    return out


def tiny_recipe(corpus, **overrides) -> TrainRecipe:
    settings = dict(corpus=str(corpus), model=TINY_MODEL, window_s=1.0, batch_size=4, lr=3e-3, steps=20,
                    warmup_steps=2, checkpoint_every=10, log_every=1, seed=0, device="cpu")
    settings.update(overrides)
    return TrainRecipe(**settings)


def losses(out: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_loss_falls(corpus, tmp_path):
    summary = train(tiny_recipe(corpus, steps=40, checkpoint_every=0), output=tmp_path)
    trajectory = losses(tmp_path)
    assert summary["steps"] == 40 and len(trajectory) == 40
    first, last = sum(trajectory[:8]) / 8, sum(trajectory[-8:]) / 8
    assert last < 0.85 * first, (first, last)
    assert summary["test_loss"] is not None and summary["test_loss"] == summary["test_loss"]  # finite, not NaN


def test_checkpoint_layout_and_exact_resume(corpus, tmp_path):
    from dtsdk.model import DiffusionTalker

    full = train(tiny_recipe(corpus), output=tmp_path / "full")
    ckpt = tmp_path / "full" / "checkpoint-10"
    for name in ("config.json", "model.safetensors", "README.md", "trainer_state.safetensors", "trainer_state.json"):
        assert (ckpt / name).is_file(), name
    assert not any(p.suffix in (".pt", ".bin", ".pkl") for p in ckpt.iterdir())  # no pickles
    assert json.loads((ckpt / "trainer_state.json").read_text())["step"] == 10
    model = DiffusionTalker.from_pretrained(tmp_path / "full" / "final")
    assert model.config.identities == ["t01", "t02", "t03"] and model.config.denoiser.d_model == 32
    assert model.config.train_window_s == tiny_recipe(corpus).window_s  # Talker windows audio like this
    assert float(model.motion_std.min()) > 0 and not torch.allclose(model.motion_mean, torch.zeros(52))

    resumed = train(tiny_recipe(corpus), output=tmp_path / "resumed", resume=ckpt)
    assert resumed["steps_this_run"] == 10
    assert losses(tmp_path / "resumed") == losses(tmp_path / "full")[10:]  # bit-identical trajectory
    assert resumed["weights_sha256_per_rank"] == full["weights_sha256_per_rank"]

    # resuming into the run's own folder rewrites the steps after the checkpoint instead of duplicating them
    train(tiny_recipe(corpus), output=tmp_path / "full", resume=ckpt)
    assert [json.loads(line)["step"] for line in (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()] \
        == list(range(1, 21))


def test_whole_clip_crops_train_and_resume_exactly(corpus, tmp_path):
    recipe = tiny_recipe(corpus, crop="clip", window_s=3.0)
    full = train(recipe, output=tmp_path / "full")
    assert full["test_loss"] == full["test_loss"]  # finite, not NaN
    resumed = train(recipe, output=tmp_path / "resumed", resume=tmp_path / "full" / "checkpoint-10")
    assert losses(tmp_path / "resumed") == losses(tmp_path / "full")[10:]
    assert resumed["weights_sha256_per_rank"] == full["weights_sha256_per_rank"]
    train(tiny_recipe(corpus, window_s=3.0), output=tmp_path / "window")
    assert losses(tmp_path / "full") != losses(tmp_path / "window")  # the crops do change the batches
    span = train(tiny_recipe(corpus, crop="span", window_s=3.0, min_window_s=0.5), output=tmp_path / "span")
    assert losses(tmp_path / "span") != losses(tmp_path / "full")  # shorter crops at random offsets
    assert span["test_loss"] == span["test_loss"]


def test_ddp_two_gloo_processes(corpus, tmp_path):
    recipe = tmp_path / "ddp.yaml"
    import yaml

    recipe.write_text(yaml.safe_dump({"train": {**tiny_recipe(corpus, steps=6, checkpoint_every=3).to_dict(),
                                                "output": str(tmp_path / "out")}}))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
                          "--master_addr=127.0.0.1", f"--master_port={port}", "-m", "dtsdk", "train", str(recipe),
                          "--json"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)  # only rank 0 prints: one JSON document
    assert summary["world_size"] == 2
    digests = summary["weights_sha256_per_rank"]
    assert len(digests) == 2 and digests[0] == digests[1]  # same final weights on both ranks
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint-3", "checkpoint-6"]
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4, 5, 6]
    assert (out / "final" / "model.safetensors").is_file()


def test_bad_recipes(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train:\n  stepz: 10\n")
    with pytest.raises(DtsdkError, match=r"bad\.yaml: unknown setting\(s\) stepz"):
        TrainRecipe.from_yaml(bad)
    bad.write_text("train:\n  model: {denoiser: {d_modl: 8}}\n")
    with pytest.raises(DtsdkError, match=r"bad\.yaml: model: .*d_modl"):
        TrainRecipe.from_yaml(bad)
    bad.write_text("train:\n  steps: 10\n  warmup_steps: 10\n")
    with pytest.raises(DtsdkError, match="bad.yaml: warmup_steps"):
        TrainRecipe.from_yaml(bad)
    bad.write_text("train:\n  crop: sentence\n")
    with pytest.raises(DtsdkError, match="bad.yaml: crop must be one of window, clip, span"):
        TrainRecipe.from_yaml(bad)
    bad.write_text("train:\n  crop: span\n  window_s: 2.0\n  min_window_s: 3.0\n")
    with pytest.raises(DtsdkError, match="bad.yaml: min_window_s must be in"):
        TrainRecipe.from_yaml(bad)
    bad.write_text("train: [1, 2\n")
    with pytest.raises(DtsdkError, match="not valid YAML"):
        TrainRecipe.from_yaml(bad)
    with pytest.raises(DtsdkError, match="no such recipe file"):
        TrainRecipe.from_yaml(tmp_path / "missing.yaml")
    for name in ("teacher", "teacher-tiny", "baseline-generic", "baseline-regression", "regression-whisper"):
        TrainRecipe.from_yaml(name)  # the built-in recipes are valid


def test_cli_errors_on_missing_corpus(tmp_path):
    from dtsdk.cli import main

    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"train:\n  corpus: {tmp_path / 'nope'}\n  steps: 2\n  warmup_steps: 0\n")
    assert main(["train", str(recipe), "-o", str(tmp_path / "out")]) == 2


def test_auto_identity_picks_the_right_speaker_after_training(corpus, tmp_path):
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.inference import Talker

    train(tiny_recipe(corpus, steps=500, checkpoint_every=0, model={**TINY_MODEL, "infonce_weight": 1.0}),
          output=tmp_path)
    talker = Talker(tmp_path / "final", steps=2, device="cpu")
    clips = [c for c in read_manifest(corpus)["clips"] if c["split"] == "test"]  # sentences never trained on
    matched = [talker.animate(corpus / c["wav"], seed=0, identity="auto").meta["identity"] for c in clips]
    assert len(clips) >= 4 and matched == [c["speaker"] for c in clips]


def test_training_on_a_live_link_capture_folder(corpus, tmp_path):
    """Real-capture layout: the tiny corpus's training clips rewritten as Live Link Face takes (CSV at
    60 fps + WAV, a sidecar naming the speaker), trained on with `dtsdk train` and animated."""
    import shutil

    from dtsdk.animation import Animation
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.inference import Talker

    captures = tmp_path / "captures"
    captures.mkdir()
    clips = [c for c in read_manifest(corpus)["clips"] if c["split"] == "train"]
    for c in clips:
        Animation.load(corpus / c["motion"]).save(captures / f"{c['clip']}.csv")
        shutil.copy(corpus / c["wav"], captures / f"{c['clip']}.wav")
        (captures / f"{c['clip']}.align.json").write_text(json.dumps({"speaker": c["speaker"]}))
    summary = train(tiny_recipe(captures, steps=10, checkpoint_every=0), output=tmp_path / "run")
    assert summary["steps"] == 10
    talker = Talker(tmp_path / "run" / "final", steps=2, device="cpu")
    assert talker.identities == sorted({c["speaker"] for c in clips})
    assert (talker.config.rig, talker.config.motion_dim, talker.config.fps) == ("arkit52", 52, 60.0)
    anim = talker.animate(captures / f"{clips[0]['clip']}.wav", seed=0, identity=clips[0]["speaker"])
    assert anim.fps == 60 and anim.names[0] == "eyeBlinkLeft"
    assert abs(anim.num_frames - 60 * clips[0]["duration_s"]) <= 1


def test_training_on_vertex_captures_gives_a_vertex_space_model(corpus, tmp_path, capsys):
    from test_capture_vocaset_biwi import VOCA_SUBJECTS, VOCA_V, make_dataset

    from dtsdk.cli import main
    from dtsdk.eval.harness import evaluate_model
    from dtsdk.inference import Talker

    root = tmp_path / "vocaset"
    make_dataset(root, VOCA_V, {f"{s}_sentence{n:02d}": 60 for s in VOCA_SUBJECTS for n in (1, 2)}, 60, 22050)
    train(tiny_recipe(root, steps=5, batch_size=2, checkpoint_every=0, reader="vocaset"), output=tmp_path / "run")
    talker = Talker(tmp_path / "run" / "final", steps=2, device="cpu")
    assert (talker.config.rig, talker.config.motion_dim, talker.config.fps) == ("flame-5023", 3 * VOCA_V, 30.0)
    anim = talker.animate(root / "wav" / f"{VOCA_SUBJECTS[0]}_sentence01.wav", seed=0, identity=VOCA_SUBJECTS[0])
    assert anim.rig == "flame-5023" and anim.names == () and anim.weights.shape == (30, 3 * VOCA_V)
    # What cannot work with this motion space says so, before anything is written.
    wav = root / "wav" / f"{VOCA_SUBJECTS[0]}_sentence01.wav"
    code = main(["animate", str(wav), "--model", str(tmp_path / "run" / "final"), "--identity", VOCA_SUBJECTS[0],
                 "-o", str(tmp_path / "a.npz"), "-o", str(tmp_path / "a.mp4")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "a.mp4: this model's motion space 'flame-5023'" in err and "\n" not in err
    assert not (tmp_path / "a.npz").exists()
    with pytest.raises(DtsdkError, match="dtsdk eval scores ARKit-52 models"):
        evaluate_model(tmp_path / "run" / "final", corpus)


def test_a_folder_that_is_neither_corpus_nor_captures(tmp_path):
    (tmp_path / "notes.txt").write_text("nothing to train on")
    with pytest.raises(DtsdkError, match="no capture reader recognises.*nor is it a dtsdk corpus"):
        train(tiny_recipe(tmp_path, steps=2))


def test_denoiser_error_by_step_tool(corpus, tmp_path):
    model = {**TINY_MODEL, "objective": "residual", "parameterization": "v"}
    train(tiny_recipe(corpus, steps=5, checkpoint_every=0, model=model), output=tmp_path)
    done = subprocess.run([sys.executable, str(REPO / "tools" / "denoiser_error_by_step.py"), str(tmp_path / "final"),
                           "--corpus", str(corpus), "--clips", "4"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ") and "step" not in line]
    assert [int(r[0]) for r in rows][0] == 0 and int(rows[-1][0]) == 499 and len(rows) == 11
    step0_model, step0_input = float(rows[0][2]), float(rows[0][3])
    assert step0_model < 10 * step0_input + 1e-3  # v: a near-clean input passes through, however untrained


def test_include_heldout_trains_the_heldout_speakers_as_identities(corpus, tmp_path):
    """The enrollment upper bound: held-out speakers' enroll clips join training as identities of their own."""
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.data.sources import training_data
    from dtsdk.inference import Talker

    manifest = read_manifest(corpus)
    heldout = sorted(s["speaker"] for s in manifest["speakers"] if s["role"] == "heldout")
    plain, upper = training_data(corpus), training_data(corpus, include_heldout=True)
    assert heldout and not set(heldout) & set(plain.speakers)
    assert upper.speakers == sorted(plain.speakers + heldout)
    splits = {c["clip"]: c["split"] for c in manifest["clips"]}
    assert {splits[c.name] for c in plain.dataset.clips} == {"train"}
    assert {splits[c.name] for c in upper.dataset.clips} == {"train", "enroll"}
    assert {c.speaker for c in upper.dataset.clips if splits[c.name] == "enroll"} == set(heldout)
    train(tiny_recipe(corpus, steps=3, checkpoint_every=0, include_heldout=True), output=tmp_path)
    assert Talker(tmp_path / "final", steps=2, device="cpu").identities == upper.speakers
    with pytest.raises(DtsdkError, match="include_heldout needs a dtsdk corpus"):
        (tmp_path / "caps").mkdir()
        training_data(tmp_path / "caps", include_heldout=True)


def test_precomputed_features_of_a_frozen_encoder(corpus, tmp_path, caplog):
    """precompute_features: the clips encoded once, whole; items carry their slice; a rerun reuses them."""
    import logging

    from dtsdk.data.features import FEATURES_FILE
    from dtsdk.model import DiffusionTalker

    recipe = tiny_recipe(corpus, crop="clip", window_s=3.0, precompute_features=True,
                         model={**TINY_MODEL, "encoder": "logmel", "encoder_config": {}})
    with caplog.at_level(logging.INFO, logger="dtsdk.train"):
        first = train(recipe, output=tmp_path / "run")
    stored = tmp_path / "run" / FEATURES_FILE
    assert stored.is_file() and "encoding" in caplog.text
    caplog.clear()
    stamp = stored.stat().st_mtime_ns
    with caplog.at_level(logging.INFO, logger="dtsdk.train"):
        again = train(recipe, output=tmp_path / "run")
    assert "reusing the encoder features" in caplog.text and stored.stat().st_mtime_ns == stamp
    assert again["weights_sha256_per_rank"] == first["weights_sha256_per_rank"]

    # the stored features are the encoder's output on each whole clip, and items slice them in step with the motion
    from dtsdk.data.dataset import TalkingFaceDataset
    from dtsdk.data.features import cached_features

    model = DiffusionTalker.from_pretrained(tmp_path / "run" / "final")
    data = TalkingFaceDataset.from_corpus(corpus, "train", window_s=3.0)
    data.features = cached_features(data, model, tmp_path / "run", torch.device("cpu"), write=False)
    audio, motion = data.clip_arrays(0)
    whole = model.encoder(torch.from_numpy(audio)[None], motion.shape[0])[0]  # (T, D)
    assert torch.allclose(torch.from_numpy(data.features[0]).float(), whole, atol=2e-2, rtol=1e-2)  # float16
    frames = motion.shape[0] - 5
    item = data[(0, frames)]
    assert item["features"].shape == (frames, whole.shape[1]) and item["audio"].shape == (round(frames / 30 * 16000),)
    start = next(s for s in range(6) if torch.equal(item["motion"], torch.from_numpy(motion[s:s + frames])))
    assert torch.equal(item["features"], torch.from_numpy(data.features[0][start:start + frames]).float())

    # another encoder's features are not reused
    (tmp_path / "other").mkdir()
    stored.rename(tmp_path / "other" / FEATURES_FILE)
    other = DiffusionTalker(tiny_recipe(corpus, model={**TINY_MODEL, "encoder": "logmel",
                                                       "encoder_config": {"n_mels": 40}}).model_config(
        ["t01", "t02", "t03"], 30.0))
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dtsdk.train"):
        fresh = cached_features(data, other, tmp_path / "other", torch.device("cpu"), write=False)
    assert "reusing" not in caplog.text and fresh[0].shape[1] == 40


def test_precomputed_features_need_a_frozen_encoder(corpus, tmp_path):
    recipe = tiny_recipe(corpus, precompute_features=True)  # the trainable logmel-conv encoder
    with pytest.raises(DtsdkError, match="precompute_features needs a frozen encoder; 'logmel-conv'"):
        train(recipe, output=tmp_path / "run")
    assert not (tmp_path / "run" / "encoder-features.safetensors").exists()
