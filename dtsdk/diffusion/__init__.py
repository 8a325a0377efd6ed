"""Diffusion building blocks shared by models and samplers: noise schedules and parameterisations."""
from dtsdk.diffusion.parameterization import PARAMETERIZATIONS, clean_estimate
from dtsdk.diffusion.schedule import SCHEDULES, NoiseSchedule, build_schedule

__all__ = ["NoiseSchedule", "SCHEDULES", "build_schedule", "PARAMETERIZATIONS", "clean_estimate"]
