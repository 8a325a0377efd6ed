"""The diffusion model: audio encoder + personalizer (identity bank) + denoiser + noise schedule.

Separate short modules: :mod:`config` (dataclasses -> config.json), :mod:`personalizer`,
:mod:`denoiser`, :mod:`diffusion_talker` (the combination) and :mod:`hub` (checkpoint layout).
"""
from dtsdk.model.config import DenoiserConfig, DiffusionTalkerConfig, PersonalizerConfig
from dtsdk.model.denoiser import Denoiser
from dtsdk.model.diffusion_talker import DiffusionTalker
from dtsdk.model.personalizer import Personalizer

__all__ = ["DenoiserConfig", "DiffusionTalkerConfig", "PersonalizerConfig", "Denoiser", "DiffusionTalker",
           "Personalizer"]
