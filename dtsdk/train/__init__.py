"""Training: ``TrainRecipe`` (YAML) -> ``train(recipe)`` -> checkpoints in Hub layout plus trainer state."""
from dtsdk.train.loop import train
from dtsdk.train.recipe import TrainRecipe

__all__ = ["TrainRecipe", "train"]
