"""Training data: aligned audio and motion windows from the corpus or from capture readers."""
from dtsdk.data.dataset import Clip, TalkingFaceDataset

__all__ = ["Clip", "TalkingFaceDataset"]
