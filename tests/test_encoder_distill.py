"""Encoder distillation: a small logmel-conv encoder learns a frozen encoder's features; the rest of the
model is copied untouched and the result runs without the large encoder."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dtsdk.distill.encoder import EncoderDistillSettings, distill_encoder, feature_agreement
from dtsdk.errors import DtsdkError
from dtsdk.inference import Talker
from dtsdk.model import DiffusionTalker


@pytest.fixture(scope="module")
def frozen_teacher(tiny_corpus, tmp_path_factory):
    """A tiny teacher on the parameter-free `logmel` encoder (frozen: no weights), a few dozen steps."""
    from dtsdk.train import TrainRecipe, train

    out = tmp_path_factory.mktemp("frozen-teacher")
    recipe = TrainRecipe.from_yaml("teacher-tiny")
    recipe.corpus, recipe.steps, recipe.checkpoint_every, recipe.log_every = str(tiny_corpus), 30, 0, 10
    recipe.model = {**recipe.model, "encoder": "logmel", "encoder_config": {}}
    recipe.precompute_features = True
    train(recipe, output=str(out))
    return out / "final"


SMALL = {"dim": 32, "num_conv_layers": 2, "num_transformer_layers": 1, "num_heads": 2}


def test_the_small_encoder_learns_the_frozen_features_and_the_rest_is_copied(frozen_teacher, tiny_corpus, tmp_path):
    frozen_teacher = DiffusionTalker.from_pretrained(frozen_teacher)
    settings = EncoderDistillSettings(encoder_config=SMALL, steps=150, batch_size=4, window_s=1.0, lr=3e-3,
                                      warmup_steps=5, log_every=10)
    small, last = distill_encoder(frozen_teacher, tiny_corpus, settings, tmp_path, torch.device("cpu"))
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["step"] == 150 and rows[-1]["loss"] < 0.5 * rows[0]["loss"], (rows[0], rows[-1])

    # everything but the encoder is the teacher's, bit for bit; the encoder is the small trainable one
    teacher_state = frozen_teacher.state_dict()
    for key, value in small.state_dict().items():
        if not key.startswith("encoder."):
            assert torch.equal(value, teacher_state[key]), key
    assert small.config.encoder == "logmel-conv" and small.config.encoder_config["out_dim"] == 80
    assert sum(p.numel() for p in small.encoder.parameters()) > 0

    # it agrees with the frozen encoder on clips it never trained on far better than an untrained one does
    from dtsdk.data.dataset import TalkingFaceDataset
    from dtsdk.distill.encoder import small_encoder_model

    test = TalkingFaceDataset.from_corpus(tiny_corpus, "test")
    waves = [test.clip_arrays(i)[0] for i in range(min(4, len(test)))]
    untrained = small_encoder_model(frozen_teacher, SMALL).eval()
    trained = feature_agreement(small, frozen_teacher, waves, 30.0, 16000)
    assert trained > feature_agreement(untrained, frozen_teacher, waves, 30.0, 16000) + 0.1 and trained > 0.8

    # saved, it loads and animates without the large encoder
    small.save_pretrained(tmp_path / "small")
    motion = Talker(model=str(tmp_path / "small")).animate(np.asarray(waves[0]), sr=16000)
    assert motion.weights.shape[1] == 52 and np.isfinite(motion.weights).all()


def test_a_trainable_encoder_is_refused(tiny_corpus, tmp_path):
    from dtsdk.model.config import DiffusionTalkerConfig

    model = DiffusionTalker(DiffusionTalkerConfig.from_dict({"identities": ["t01"]}))  # logmel-conv: trainable
    with pytest.raises(DtsdkError, match="encoder distillation replaces a frozen encoder; 'logmel-conv'"):
        distill_encoder(model, tiny_corpus, EncoderDistillSettings(steps=2, warmup_steps=0), tmp_path,
                        torch.device("cpu"))


def test_settings_are_checked():
    with pytest.raises(DtsdkError, match="r.yaml: encoder.noise_share must be in"):
        EncoderDistillSettings.from_dict({"noise_share": 2}, "r.yaml")
    with pytest.raises(DtsdkError, match="out_dim is the large encoder's width"):
        EncoderDistillSettings.from_dict({"encoder_config": {"out_dim": 8}}, "r.yaml")


def test_a_distill_recipe_with_an_encoder_section_distils_students_that_need_no_frozen_encoder(
        frozen_teacher, tiny_corpus, tmp_path):
    from dtsdk.distill import DistillRecipe, distill

    recipe = DistillRecipe.from_dict({
        "teacher": str(frozen_teacher), "corpus": str(tiny_corpus), "teacher_steps": 2, "final_steps": 1,
        "steps_per_round": 3, "warmup_steps": 0, "window_s": 1.0, "batch_size": 2, "device": "cpu",
        "encoder": {"encoder_config": SMALL, "steps": 4, "warmup_steps": 0, "batch_size": 2, "window_s": 1.0}})
    distill(recipe, output=str(tmp_path / "out"))
    middle = DiffusionTalker.from_pretrained(tmp_path / "out" / "teacher-small-encoder")
    student = DiffusionTalker.from_pretrained(tmp_path / "out" / "student-1")
    for model in (middle, student):
        assert model.config.encoder == "logmel-conv" and model.config.encoder_config["out_dim"] == 80
    # the student's encoder is the distilled small one, copied like every round copies its teacher's
    for key, value in middle.encoder.state_dict().items():
        assert torch.equal(value, student.encoder.state_dict()[key]), key
    stamp = (tmp_path / "out" / "teacher-small-encoder" / "model.safetensors").stat().st_mtime_ns
    distill(recipe, output=str(tmp_path / "out"))  # a rerun reuses the finished small-encoder teacher
    assert (tmp_path / "out" / "teacher-small-encoder" / "model.safetensors").stat().st_mtime_ns == stamp
