"""Training data: aligned audio and motion windows from the corpus or from capture readers."""
from dtsdk.data.dataset import Clip, LengthBatchSampler, TalkingFaceDataset
from dtsdk.data.sources import TrainingData, training_data

__all__ = ["Clip", "LengthBatchSampler", "TalkingFaceDataset", "TrainingData", "training_data"]
