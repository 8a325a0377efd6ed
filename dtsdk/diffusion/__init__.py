"""Diffusion building blocks shared by models and samplers."""
from dtsdk.diffusion.schedule import NoiseSchedule

__all__ = ["NoiseSchedule"]
