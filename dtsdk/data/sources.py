"""Where training data comes from: a dtsdk corpus or a folder of real captures.

A dtsdk corpus (a folder with ``manifest.yaml``, built by ``dtsdk corpus build``) gives its train
split in ARKit-52. A capture folder gives every clip its capture reader finds (``reader`` names one,
else it is detected), in the reader's motion space (ARKit-52 for Live Link Face, vertex offsets in
mm for VOCASET/BIWI), with the speakers the reader names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dtsdk.capture import find_capture_reader
from dtsdk.corpus.manifest import MANIFEST_NAME, read_manifest
from dtsdk.data.dataset import TalkingFaceDataset
from dtsdk.errors import DtsdkError


@dataclass
class TrainingData:
    """The training dataset and what the data decides about the model."""

    dataset: TalkingFaceDataset
    speakers: list[str]  # the identities, in the model's order
    fps: float
    # {} for a dtsdk corpus (the model's ARKit-52 defaults); ``motion_dim`` and ``rig`` for captures
    motion_space: dict = field(default_factory=dict)


def is_corpus(folder: str | os.PathLike) -> bool:
    """True for a folder built by ``dtsdk corpus build`` (it holds the manifest)."""
    return (Path(folder) / MANIFEST_NAME).is_file()


def corpus_training_speakers(manifest: dict, include_heldout: bool = False) -> list[str]:
    """The corpus speakers whose role is ``train`` (and ``heldout`` too with ``include_heldout``),
    sorted: the model's identity order."""
    roles = ("train", "heldout") if include_heldout else ("train",)
    return sorted(s["speaker"] for s in manifest["speakers"] if s["role"] in roles)


def training_data(folder: str | os.PathLike, reader: str = "", window_s: float = 2.0, seed: int = 0,
                  include_heldout: bool = False) -> TrainingData:
    """The training data in ``folder``: a dtsdk corpus's train split, or every clip of a capture folder.

    ``include_heldout`` (a corpus only) adds the held-out speakers' ``enroll`` clips as identities of
    their own: a model that has seen those speakers, the upper bound that enrollment is measured against.
    """
    if is_corpus(folder) or not Path(folder).exists():  # a missing folder fails in read_manifest, naming it
        return _corpus_data(folder, window_s, seed, include_heldout)
    if include_heldout:
        raise DtsdkError(f"{folder}: include_heldout needs a dtsdk corpus (its held-out speakers' enroll split)")
    return _capture_data(folder, reader, window_s, seed)


def _corpus_data(folder, window_s: float, seed: int, include_heldout: bool = False) -> TrainingData:
    manifest = read_manifest(folder)
    speakers = corpus_training_speakers(manifest, include_heldout)
    splits = ("train", "enroll") if include_heldout else ("train",)
    dataset = TalkingFaceDataset.from_corpus(folder, splits, window_s=window_s, seed=seed, speakers=speakers)
    return TrainingData(dataset, speakers, manifest["fps"])


def _capture_data(folder, reader: str, window_s: float, seed: int) -> TrainingData:
    if not reader:
        try:
            reader = find_capture_reader(folder)
        except DtsdkError as exc:
            raise DtsdkError(f"{exc}; nor is it a dtsdk corpus (no {MANIFEST_NAME})") from None
    dataset = TalkingFaceDataset.from_captures(folder, reader=reader, window_s=window_s, seed=seed)
    if len(dataset) == 0:
        raise DtsdkError(f"{folder}: the capture reader found no clips to train on")
    first = dataset.clips[0].load()[1]  # an Animation: its width and rig are the model's motion space
    return TrainingData(dataset, dataset.speakers, dataset.fps,
                        {"motion_dim": first.weights.shape[1], "rig": first.rig})


__all__ = ["TrainingData", "training_data", "is_corpus", "corpus_training_speakers"]
