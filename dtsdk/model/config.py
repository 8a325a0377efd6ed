"""Plain-data configs for the diffusion model; they serialize to the ``config.json`` of a checkpoint.

Recipes override fields by name (``from_dict`` ignores nothing silently: unknown keys raise).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from dtsdk.diffusion import PARAMETERIZATIONS, SCHEDULES
from dtsdk.errors import ConfigError
from dtsdk.model.objectives import OBJECTIVES
from dtsdk.plugins import registry
from dtsdk.utils.config import dataclass_from_dict


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
    # The training crop length (set by `dtsdk train` from the recipe's window_s): the longest sequence the
    # model has seen. Windows of this length give better lips on synthetic clips but worse closures on
    # real speech, so Talker does not use it by default (docs/default-model.md, "What limits the lips").
    train_window_s: float = 2.0
    # The defaults describe the shipped default model (dtsdk/models/default, recipes train/teacher.yaml);
    # every checkpoint's config.json names all of its settings, so older checkpoints load as they were.
    # What the model is trained to do, one module each in dtsdk/model/objectives/: "residual" (a mean
    # network regresses the motion, the diffusion models x0 - mean), "diffusion" (the plain teacher)
    # or "regression" (the deterministic baseline on the same backbone).
    objective: str = "residual"
    # What the denoiser's output means, "x0" or "v" (dtsdk/diffusion/parameterization.py).
    parameterization: str = "v"
    diffusion_steps: int = 500
    schedule: str = "cosine"  # a name in dtsdk.diffusion.SCHEDULES
    identity_dropout: float = 0.1  # probability of training a clip with the null identity
    velocity_weight: float = 1.0
    infonce_weight: float = 0.1
    default_sampler: str = "ddpm"  # a registered sampler (see `dtsdk plugins`)
    default_steps: int = 100
    # Keyword options for the default sampler (e.g. a distilled student's ancestral noise {"eta": 1.0}).
    sampler_options: dict = field(default_factory=dict)
    # The step counts this checkpoint's denoiser was distilled for (`dtsdk distill`); empty for a teacher.
    distilled_steps: list = field(default_factory=list)
    denoiser: DenoiserConfig = field(default_factory=DenoiserConfig)
    personalizer: PersonalizerConfig = field(default_factory=PersonalizerConfig)

    def __post_init__(self):
        """Fail on a bad value when the config is built, before any module is constructed."""
        _check_choice("objective", self.objective, OBJECTIVES)
        _check_choice("parameterization", self.parameterization, PARAMETERIZATIONS)
        _check_choice("schedule", self.schedule, SCHEDULES)
        if self.objective_uses_sampler:  # the regression baseline has no sampler to name
            _check_choice("default_sampler", self.default_sampler, registry("sampler"))
        for name in ("diffusion_steps", "default_steps", "motion_dim"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ConfigError(f"DiffusionTalkerConfig.{name} must be a positive integer, "
                                  f"got {getattr(self, name)!r}")
        if not all(isinstance(k, int) and 1 <= k <= self.diffusion_steps for k in self.distilled_steps):
            raise ConfigError(f"DiffusionTalkerConfig.distilled_steps must list step counts in "
                              f"1..{self.diffusion_steps}, got {self.distilled_steps!r}")
        if self.default_sampler == "distilled" and self.default_steps not in self.distilled_steps:
            raise ConfigError(f"DiffusionTalkerConfig.default_steps {self.default_steps} is not one of the distilled "
                              f"step counts {self.distilled_steps}")
        if not isinstance(self.sampler_options, dict):
            raise ConfigError(f"DiffusionTalkerConfig.sampler_options must be a mapping, got {self.sampler_options!r}")
        if not (isinstance(self.train_window_s, (int, float)) and self.train_window_s > 0):
            raise ConfigError(f"DiffusionTalkerConfig.train_window_s must be a positive number of seconds, "
                              f"got {self.train_window_s!r}")
        if not 0.0 <= self.identity_dropout <= 1.0:
            raise ConfigError(f"DiffusionTalkerConfig.identity_dropout must lie in [0, 1], "
                              f"got {self.identity_dropout!r}")

    @property
    def objective_uses_sampler(self) -> bool:
        return OBJECTIVES[self.objective].uses_sampler

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
        return dataclass_from_dict(cls, data, cls.__name__,
                                   nested={"denoiser": DenoiserConfig, "personalizer": PersonalizerConfig})

    @classmethod
    def from_checkpoint_dict(cls, data: dict) -> "DiffusionTalkerConfig":
        """A checkpoint's config.json: a setting it does not name was written before that setting
        existed, so it takes the value every model had then, not today's default."""
        return cls.from_dict({**SETTINGS_BEFORE_THEY_EXISTED, **data})


# What a checkpoint whose config.json lacks a setting was trained with (the setting did not exist yet).
# Every model trained before train_window_s was recorded used the recipe default of 2 s crops.
SETTINGS_BEFORE_THEY_EXISTED = {"objective": "diffusion", "parameterization": "x0", "train_window_s": 2.0}


def _check_choice(field_name: str, value, choices) -> None:
    if value not in choices:
        raise ConfigError(f"DiffusionTalkerConfig.{field_name} '{value}' is not one of: {', '.join(choices)}")
