"""GC-GAN (Qiao et al., arXiv 1802.01822) in plain torch: one file, read top to bottom.

Given a face image and target landmarks, the generator draws that face with the target
expression. Pieces, in the order the data meets them:

- :class:`GeometryEncoder`: normalised 68-point landmarks (B, 68, 2) -> geometry code (B, G), with a
  decoder back to landmarks (the paper's L_gr keeps the code from collapsing).
- :func:`contrastive_loss`: pairs of geometry codes; same expression label pulled together, different
  ones pushed apart until their squared distance reaches a margin.
- :class:`ImageEncoder`: image (B, 3, S, S) -> appearance code (B, A) plus feature maps for the skips.
- :class:`Generator`: both codes -> image, with additive U-Net skips from the image encoder.
- :class:`Discriminator`: image -> WGAN critic score, expression logits, and features (feature matching).

Written fresh from the paper and its description (docs in ``../shared/reference`` of the project); the
official TensorFlow code is not used. Normalisation: batch norm in the encoders and generator as in
the paper; none in the critic, because WGAN-GP's per-sample gradient penalty is wrong under batch norm.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from dtsdk.errors import ConfigError, DtsdkError

NUM_LANDMARKS = 68


@dataclass
class GCGANConfig:
    image_size: int = 64  # 64 for tests, 128 for a real model; a power of two >= 16
    geometry_dim: int = 32  # z_g, as the paper
    appearance_dim: int = 128  # z_i, as the paper
    appearance_hidden: int = 512  # the image encoder's FC layer before z_i (the paper's is 1024)
    channels: int = 64  # width of the first conv; doubles per level up to 4x
    num_expressions: int = 6  # classes of the discriminator's classifier head
    contrastive_margin: float = 5.0  # on the squared code distance, as the paper's code

    def __post_init__(self):
        size = self.image_size
        if size < 16 or size & (size - 1):
            raise ConfigError(f"GCGANConfig: image_size must be a power of two >= 16, got {size}")
        for name in ("geometry_dim", "appearance_dim", "appearance_hidden", "channels", "num_expressions"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"GCGANConfig: {name} must be a positive integer, got {getattr(self, name)}")

    @property
    def levels(self) -> int:
        """Stride-2 convs from the image size down to 8x8 (3 for 64 px, 4 for 128 px)."""
        return int(math.log2(self.image_size)) - 3

    def widths(self) -> list[int]:
        """Channels of each encoder level, from the full-resolution one down."""
        return [self.channels * min(2 ** i, 4) for i in range(self.levels)]

    def to_dict(self) -> dict:
        return asdict(self)


def check_landmarks(landmarks: torch.Tensor) -> torch.Tensor:
    """``landmarks`` as float (B, 68, 2); a one-line DtsdkError for any other count or shape."""
    landmarks = torch.as_tensor(landmarks, dtype=torch.float32)
    if landmarks.ndim == 2:
        landmarks = landmarks[None]
    if landmarks.ndim != 3 or landmarks.shape[1:] != (NUM_LANDMARKS, 2):
        raise DtsdkError(f"landmarks must be {NUM_LANDMARKS} (x, y) points in the iBUG-68 order, shaped "
                         f"(B, 68, 2) or (68, 2); got {tuple(landmarks.shape)}")
    if not torch.isfinite(landmarks).all():
        raise DtsdkError("landmarks contain NaN or Inf")
    return landmarks


class GeometryEncoder(nn.Module):
    """MLP 136 -> 128 -> 64 -> G (the paper's E_enc) and back (E_dec)."""

    def __init__(self, config: GCGANConfig):
        super().__init__()
        flat = NUM_LANDMARKS * 2
        self.encode = nn.Sequential(nn.Linear(flat, 128), nn.BatchNorm1d(128), nn.ReLU(),
                                    nn.Linear(128, 64), nn.BatchNorm1d(64), nn.ReLU(),
                                    nn.Linear(64, config.geometry_dim))
        self.decode = nn.Sequential(nn.Linear(config.geometry_dim, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU(),
                                    nn.Linear(128, flat), nn.Tanh())

    def forward(self, landmarks: torch.Tensor) -> torch.Tensor:
        landmarks = check_landmarks(landmarks)  # (B, 68, 2) in [-1, 1]
        return self.encode(landmarks.flatten(1))  # (B, G)

    def reconstruct(self, code: torch.Tensor) -> torch.Tensor:
        return self.decode(code).view(-1, NUM_LANDMARKS, 2)  # (B, 68, 2)


def contrastive_loss(code_a: torch.Tensor, code_b: torch.Tensor, same: torch.Tensor, margin: float) -> torch.Tensor:
    """Hadsell-style contrastive loss on geometry-code pairs (B, G), (B, G); ``same`` (B,) bool.

    A pair with the same expression label costs ``0.5 d^2``; a pair with different labels costs
    ``0.5 max(0, margin - d^2)``, so different expressions are pushed apart until their squared
    distance reaches ``margin`` (the paper's code puts the margin on d^2, and found 1 too small).
    """
    d2 = (code_a - code_b).pow(2).sum(1)  # (B,)
    same = same.to(d2.dtype)
    return (same * 0.5 * d2 + (1 - same) * 0.5 * F.relu(margin - d2)).mean()


def contrastive_pairs(labels: torch.Tensor,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The pair rule: each sample is paired with a batch-mate drawn by a random derangement (a
    shuffled order shifted by one, so nobody is paired with itself); a pair is "same" when the two
    expression labels are equal. Returns (partner index (B,), same (B,) bool)."""
    order = torch.randperm(len(labels), generator=generator)
    partner = torch.empty_like(order)
    partner[order] = order.roll(1)
    return partner, labels == labels[partner]


def _down(cin: int, cout: int, norm: bool = True) -> nn.Sequential:
    """5x5 stride-2 conv (halves the size), as the paper's encoder."""
    layers = [nn.Conv2d(cin, cout, 5, 2, 2)]
    layers += [nn.BatchNorm2d(cout), nn.ReLU()] if norm else [nn.LeakyReLU(0.2)]
    return nn.Sequential(*layers)


def _up(cin: int, cout: int) -> nn.Sequential:
    """Double the size: nearest upsampling then a 3x3 conv. A stride-2 transposed conv (the paper's)
    paints a checkerboard early in training (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts")."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, 1, 1),
                         nn.BatchNorm2d(cout), nn.ReLU())


class ImageEncoder(nn.Module):
    """Image (B, 3, S, S) in [-1, 1] -> appearance code (B, A) and the feature maps of every level."""

    def __init__(self, config: GCGANConfig):
        super().__init__()
        widths = config.widths()
        self.convs = nn.ModuleList(_down(cin, cout) for cin, cout in zip([3, *widths[:-1]], widths))
        hidden = config.appearance_hidden
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(widths[-1] * 8 * 8, hidden), nn.BatchNorm1d(hidden),
                                nn.ReLU(), nn.Linear(hidden, config.appearance_dim))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        features = []
        x = image  # (B, 3, S, S)
        for conv in self.convs:
            x = conv(x)  # (B, C_l, S / 2^(l+1), S / 2^(l+1))
            features.append(x)
        return self.fc(x), features  # (B, A), [(B, C_0, S/2, S/2), ..., (B, C_L, 8, 8)]


class Generator(nn.Module):
    """(appearance (B, A), geometry (B, G), encoder features) -> image (B, 3, S, S) in [-1, 1].

    An FC layer makes a 4x4 map, upsampling convs double it up to S; at each size the image
    encoder also produced, its features are added (the paper's additive U-Net skips), so identity
    detail need not squeeze through the appearance code.
    """

    def __init__(self, config: GCGANConfig):
        super().__init__()
        widths = config.widths()  # encoder widths, full resolution first
        self.top = widths[-1]
        self.fc = nn.Linear(config.appearance_dim + config.geometry_dim, self.top * 4 * 4)
        # 4 -> 8 (no skip yet), then one up per encoder level; the last lands on S.
        outs = [*reversed(widths), widths[0]]  # channels after each up, 8 px first: those of the skip there
        ins = [self.top, *outs[:-1]]
        self.ups = nn.ModuleList(_up(cin, cout) for cin, cout in zip(ins, outs))
        self.to_rgb = nn.Conv2d(outs[-1], 3, 3, 1, 1)

    def forward(self, appearance: torch.Tensor, geometry: torch.Tensor, features: list[torch.Tensor]) -> torch.Tensor:
        x = self.fc(torch.cat([appearance, geometry], 1)).view(-1, self.top, 4, 4)  # (B, C, 4, 4)
        skips = {f.shape[-1]: f for f in features}  # by size: 8 .. S/2 px
        for up in self.ups:
            x = up(x)  # (B, C', 2h, 2w)
            skip = skips.get(x.shape[-1])
            if skip is not None:
                x = x + skip  # (B, C', 2h, 2w)
        return torch.tanh(self.to_rgb(x))  # (B, 3, S, S)


class Discriminator(nn.Module):
    """Image (B, 3, S, S) -> (critic score (B,), expression logits (B, E), features (B, C, 4, 4)).

    Convs halve the size to 4x4; the critic is a 1-channel conv averaged over the patch map, the
    classifier a linear layer on the same features (AC-GAN style), and feature matching compares
    those features between real and generated images.
    """

    def __init__(self, config: GCGANConfig):
        super().__init__()
        widths = [*config.widths(), config.widths()[-1]]  # one more level: down to 4x4
        self.convs = nn.Sequential(*[_down(cin, cout, norm=False) for cin, cout in zip([3, *widths[:-1]], widths)])
        self.critic = nn.Conv2d(widths[-1], 1, 3, 1, 1)
        self.classify = nn.Linear(widths[-1] * 4 * 4, config.num_expressions)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.convs(image)  # (B, C, 4, 4)
        score = self.critic(features).mean((1, 2, 3))  # (B,)
        return score, self.classify(features.flatten(1)), features  # (B,), (B, E), (B, C, 4, 4)


class GCGAN(nn.Module):
    """The generator side (both encoders and the generator) and the discriminator, in one module so
    one safetensors file holds them all (keys ``geometry.*``, ``image_encoder.*``, ``generator.*``,
    ``discriminator.*``)."""

    def __init__(self, config: GCGANConfig):
        super().__init__()
        self.config = config
        self.geometry = GeometryEncoder(config)
        self.image_encoder = ImageEncoder(config)
        self.generator = Generator(config)
        self.discriminator = Discriminator(config)

    def generator_parameters(self):
        for part in (self.geometry, self.image_encoder, self.generator):
            yield from part.parameters()

    def check_image(self, image: torch.Tensor) -> torch.Tensor:
        size = self.config.image_size
        if image.ndim != 4 or tuple(image.shape[1:]) != (3, size, size):
            raise DtsdkError(f"images must be (B, 3, {size}, {size}) for this model, got {tuple(image.shape)}")
        return image

    def forward(self, image: torch.Tensor, landmarks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Face ``image`` (B, 3, S, S) in [-1, 1] with the expression of ``landmarks`` (B, 68, 2):
        returns (generated image (B, 3, S, S), geometry code (B, G))."""
        appearance, features = self.image_encoder(self.check_image(image))  # (B, A), [...]
        geometry = self.geometry(landmarks)  # (B, G)
        return self.generator(appearance, geometry, features), geometry


def gradient_penalty(discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): (||grad D(x_hat)|| - 1)^2 on random blends of real and fake."""
    alpha = torch.rand(len(real), 1, 1, 1, generator=generator, device=real.device)
    blend = (alpha * real + (1 - alpha) * fake).requires_grad_(True)  # (B, 3, S, S)
    score = discriminator(blend)[0]
    (grad,) = torch.autograd.grad(score.sum(), blend, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()
