"""GC-GAN model: shapes at 64 and 128 px, the contrastive loss and its pair rule, bad inputs."""
import numpy as np
import pytest
import torch

from dtsdk.errors import DtsdkError
from dtsdk_gcgan.model import (GCGAN, GCGANConfig, GeometryEncoder, contrastive_loss, contrastive_pairs,
                               gradient_penalty)


@pytest.mark.parametrize("size", [64, 128])
def test_shapes(size):
    config = GCGANConfig(image_size=size, channels=8, appearance_dim=16)
    model = GCGAN(config)
    image, landmarks = torch.rand(2, 3, size, size) * 2 - 1, torch.rand(2, 68, 2) * 2 - 1
    fake, code = model(image, landmarks)
    assert fake.shape == (2, 3, size, size) and code.shape == (2, config.geometry_dim)
    assert fake.abs().max() <= 1
    score, logits, features = model.discriminator(fake)
    assert score.shape == (2,) and logits.shape == (2, config.num_expressions) and features.shape[-2:] == (4, 4)
    assert torch.isfinite(gradient_penalty(model.discriminator, image, fake.detach()))


def test_config_refuses_sizes_that_are_not_powers_of_two():
    with pytest.raises(DtsdkError, match="power of two"):
        GCGANConfig(image_size=96)


def test_contrastive_loss_orders_same_and_different_pairs():
    near = torch.zeros(4, 32), torch.full((4, 32), 0.05)  # d^2 = 0.08, well inside the margin
    far = torch.zeros(4, 32), torch.full((4, 32), 1.0)  # d^2 = 32, beyond the margin of 5
    same, different = torch.ones(4, dtype=torch.bool), torch.zeros(4, dtype=torch.bool)
    # Close codes cost little as a same-expression pair and a lot as a different-expression pair...
    assert contrastive_loss(*near, same, 5.0) < contrastive_loss(*near, different, 5.0)
    # ...and far codes the other way round; past the margin a different pair costs nothing.
    assert contrastive_loss(*far, different, 5.0) == 0 < contrastive_loss(*far, same, 5.0)


def test_pair_rule_pairs_everyone_with_someone_else():
    labels = torch.tensor([0, 0, 1, 2, 1, 0, 3, 3])
    partner, same = contrastive_pairs(labels, torch.Generator().manual_seed(0))
    assert (partner != torch.arange(8)).all() and sorted(partner.tolist()) == list(range(8))
    assert torch.equal(same, labels == labels[partner])


def test_trained_geometry_codes_put_same_expressions_closer(small_set):
    """A geometry encoder trained with the contrastive loss alone: on people it did not see,
    same-expression codes are nearer each other than different-expression codes."""
    torch.manual_seed(0)
    train_idx, held_out = small_set.identities < 3, small_set.identities == 3
    landmarks = torch.from_numpy(small_set.landmarks)
    labels = torch.from_numpy(small_set.labels)
    encoder = GeometryEncoder(GCGANConfig())
    opt = torch.optim.Adam(encoder.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    x, y = landmarks[train_idx], labels[train_idx]
    for _ in range(150):
        code = encoder(x)
        partner, same = contrastive_pairs(y, generator)
        loss = contrastive_loss(code, code[partner], same, 5.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
    encoder.eval()
    with torch.no_grad():
        code = encoder(landmarks[held_out])  # (8, G)
    d2 = torch.cdist(code, code).pow(2).numpy()
    lab = small_set.labels[held_out]
    same = (lab[:, None] == lab[None, :]) & ~np.eye(len(lab), dtype=bool)
    different = lab[:, None] != lab[None, :]
    assert d2[same].mean() < d2[different].mean()


@pytest.mark.parametrize("shape", [(1, 67, 2), (68, 3), (136,), (2, 5, 68, 2)])
def test_wrong_landmark_counts_are_one_line_errors(shape):
    model = GCGAN(GCGANConfig(channels=8, appearance_dim=16)).eval()
    with pytest.raises(DtsdkError, match="68") as err:
        model(torch.zeros(1, 3, 64, 64), torch.zeros(shape))
    assert "\n" not in str(err.value)


def test_wrong_image_size_is_a_one_line_error():
    model = GCGAN(GCGANConfig(channels=8, appearance_dim=16)).eval()
    with pytest.raises(DtsdkError, match="64, 64") as err:
        model(torch.zeros(1, 3, 32, 32), torch.zeros(1, 68, 2))
    assert "\n" not in str(err.value)
