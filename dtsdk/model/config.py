"""Plain-data configs for the diffusion model; they serialize to the ``config.json`` of a checkpoint.

Recipes override fields by name (``from_dict`` ignores nothing silently: unknown keys raise).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field


@dataclass
class DenoiserConfig:
    d_model: int = 128
    num_layers: int = 4
    num_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.1


@dataclass
class PersonalizerConfig:
    identity_dim: int = 64
    hidden_dim: int = 128
    temperature: float = 0.1  # InfoNCE / matching softmax temperature on cosine similarities


@dataclass
class DiffusionTalkerConfig:
    encoder: str = "logmel-conv"  # a registered audio encoder (see `dtsdk plugins`)
    encoder_config: dict = field(default_factory=dict)  # kwargs for that encoder's factory
    motion_dim: int = 52  # arkit52 blendshape weights
    rig: str = "arkit52"
    fps: float = 30.0
    sample_rate: int = 16000
    identities: list = field(default_factory=list)  # training speaker names; index = identity id
    # "diffusion": the plain DiffusionTalker teacher (the denoiser predicts the clean motion x0).
    # "residual": a mean network of the same backbone regresses the motion from audio + identity
    # and the diffusion models only what is left, x0 - mean (residual corrective diffusion, Mardani
    # et al. 2023, arXiv 2309.15214): speech fixes the lips, the residual carries blinks, brows and
    # the rest that speech does not decide. "regression": the deterministic baseline on the SAME
    # backbone (the denoiser sees an all-zero motion input at step 0 and regresses the motion
    # directly, like FaceFormer but not autoregressive); it ignores samplers, steps and seeds.
    objective: str = "diffusion"
    # What the denoiser's output means. "x0": the clean motion itself. "v": the velocity target of
    # Salimans & Ho 2022 (arXiv 2202.00512), x0_hat = sqrt(abar_t) x_t - sqrt(1 - abar_t) v_hat. With
    # "v" a near-clean input passes through (the skip of Karras et al. 2022, arXiv 2206.00364), so the
    # network's own error is damped by sqrt(1 - abar_t) at the last sampling steps instead of landing
    # in the output as it does with "x0" (measured: docs/default-model.md). Samplers see x0_hat either way.
    parameterization: str = "x0"
    diffusion_steps: int = 500
    schedule: str = "cosine"
    identity_dropout: float = 0.1  # probability of training a clip with the null identity
    velocity_weight: float = 1.0
    infonce_weight: float = 0.1
    default_sampler: str = "ddim"
    default_steps: int = 50
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    personalizer: PersonalizerConfig = field(default_factory=PersonalizerConfig)

    @property
    def num_identities(self) -> int:
        return len(self.identities)

    @property
    def is_arkit(self) -> bool:
        """Motion in ARKit-52 weights (0..1, renderable on any mesh rig), not a capture's vertex space."""
        return self.motion_dim == 52

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DiffusionTalkerConfig":
        return _from_dict(cls, data)


def _from_dict(cls, data: dict):
    """Build dataclass ``cls`` from a (nested) dict, rejecting unknown keys so typos in recipes surface."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {', '.join(unknown)}; known: {', '.join(fields)}")
    kwargs = {}
    for name, value in data.items():
        sub = {"denoiser": DenoiserConfig, "personalizer": PersonalizerConfig}.get(name) if cls is DiffusionTalkerConfig else None
        kwargs[name] = _from_dict(sub, value) if sub is not None and isinstance(value, dict) else value
    return cls(**kwargs)
