"""Training: a tiny model trains, its reconstruction loss drops on one batch, checkpoints are safetensors."""
import json

import numpy as np
import pytest
import torch

from dtsdk.errors import ConfigError, DtsdkError
from dtsdk_gcgan.model import GCGAN, GCGANConfig
from dtsdk_gcgan.train import (LossWeights, PortraitRecipe, generator_losses, load_checkpoint, sample_pairs,
                               to_tensor, train)


def _tiny_recipe(**overrides):
    recipe = PortraitRecipe.from_yaml("tiny")
    for key, value in overrides.items():
        setattr(recipe, key, value)
    return recipe


def test_tiny_recipe_trains_with_finite_losses_and_saves_safetensors(small_set, tmp_path):
    summary = train(_tiny_recipe(), output=tmp_path / "ckpt", data=small_set)
    assert summary["steps"] == 3
    assert all(np.isfinite(v) for v in summary["last"].values())
    files = sorted(p.name for p in (tmp_path / "ckpt").iterdir())
    assert files == ["config.json", "model.safetensors"]  # weights as safetensors only, no pickle
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    assert config["model"]["image_size"] == 64 and config["recipe"]["steps"] == 3


def test_training_is_seeded(small_set, tmp_path):
    first = train(_tiny_recipe(steps=2), output=tmp_path / "a", data=small_set)
    second = train(_tiny_recipe(steps=2), output=tmp_path / "b", data=small_set)
    assert first["last"] == second["last"]


def test_checkpoint_round_trip_gives_the_same_images(small_set, tmp_path):
    train(_tiny_recipe(steps=1), output=tmp_path / "ckpt", data=small_set)
    model = load_checkpoint(tmp_path / "ckpt")
    again = load_checkpoint(tmp_path / "ckpt")
    image, landmarks = to_tensor(small_set.images[:2]), torch.from_numpy(small_set.landmarks[:2])
    with torch.no_grad():
        assert torch.equal(model(image, landmarks)[0], again(image, landmarks)[0])


def test_reconstruction_loss_drops_on_one_batch(small_set):
    torch.manual_seed(0)
    model = GCGAN(GCGANConfig(channels=8, appearance_dim=32))
    source_idx, target_idx = sample_pairs(small_set, 8, np.random.default_rng(0))
    images = to_tensor(small_set.images)
    batch = (images[source_idx], images[target_idx], torch.from_numpy(small_set.landmarks[target_idx]),
             torch.from_numpy(small_set.labels[target_idx]))
    opt = torch.optim.Adam(model.generator_parameters(), lr=1e-3, betas=(0.5, 0.999))
    history = []
    for _ in range(25):
        terms = generator_losses(model, LossWeights(), *batch)
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        history.append(float(terms["reconstruction"].detach()))
    assert all(np.isfinite(history))
    assert history[-1] < 0.7 * history[0], history


def test_recipe_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("portrait:\n  stepz: 3\n")
    with pytest.raises(ConfigError, match="stepz") as err:
        PortraitRecipe.from_yaml(bad)
    assert "\n" not in str(err.value)
    small = tmp_path / "small.yaml"
    small.write_text("portrait:\n  batch_size: 1\n")
    with pytest.raises(DtsdkError, match="small.yaml: batch_size must be at least 2"):
        PortraitRecipe.from_yaml(small)
    shipped = "default, shipped, shipped-128, shipped-no-contrastive, shipped-speech, tiny"
    with pytest.raises(DtsdkError, match=f"shipped: {shipped}"):
        PortraitRecipe.from_yaml("nonesuch")


def test_a_checkpoint_that_does_not_fit_is_a_one_line_error(small_set, tmp_path):
    train(_tiny_recipe(steps=1), output=tmp_path / "ckpt", data=small_set)
    config = json.loads((tmp_path / "ckpt" / "config.json").read_text())
    config["model"]["channels"] = 16  # another width than the weights have
    (tmp_path / "ckpt" / "config.json").write_text(json.dumps(config))
    with pytest.raises(DtsdkError, match="weights do not fit") as err:
        load_checkpoint(tmp_path / "ckpt")
    assert "\n" not in str(err.value)
    with pytest.raises(DtsdkError, match="not a portrait checkpoint"):
        load_checkpoint(tmp_path)


def test_unlabelled_samples_train_the_image_terms_only(small_set):
    """Speech frames carry no expression label: the classifier and the contrastive pairs skip them,
    the image terms do not; an all-unlabelled batch still gives finite losses."""
    from dtsdk_gcgan.synthetic import UNLABELLED
    from dtsdk_gcgan.train import critic_losses, labelled_cross_entropy

    torch.manual_seed(0)
    recipe = _tiny_recipe()
    model = GCGAN(recipe.model)
    images = to_tensor(small_set.images[:8])
    points = torch.from_numpy(small_set.landmarks[:8])
    labels = torch.from_numpy(small_set.labels[:8]).clone()
    logits = torch.randn(8, 6)
    mixed = labels.clone()
    mixed[4:] = UNLABELLED
    expected = torch.nn.functional.cross_entropy(logits[:4], labels[:4])
    assert torch.isclose(labelled_cross_entropy(logits, mixed), expected)
    none = torch.full_like(labels, UNLABELLED)
    assert float(labelled_cross_entropy(logits, none)) == 0.0
    for batch_labels in (mixed, none):
        g = generator_losses(model, recipe.losses, images, images, points, batch_labels)
        d = critic_losses(model, recipe.losses, images, images, points, batch_labels)
        assert all(torch.isfinite(v) for v in [*g.values(), *d.values()])
        assert float(g["reconstruction"].detach()) > 0
    g = generator_losses(model, recipe.losses, images, images, points, none)
    assert float(g["classification"]) == 0.0 and float(g["contrastive"]) == 0.0
