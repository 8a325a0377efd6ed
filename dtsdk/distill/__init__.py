"""Distillation of a diffusion teacher into few-step students (``dtsdk distill RECIPE``)."""
from dtsdk.distill.loop import distill
from dtsdk.distill.recipe import DistillRecipe

__all__ = ["distill", "DistillRecipe"]
