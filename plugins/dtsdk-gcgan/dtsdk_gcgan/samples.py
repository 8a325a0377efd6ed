"""Synthetic faces written as files: ``personNNNNN_EXPRESSION.png`` with a sidecar ``.json``.

The sidecar holds what the generator knows: the 68 landmarks normalised to the image
(``"space": "normalized"``), the same person's neutral landmarks, the expression name and the
person's number. :func:`dtsdk_gcgan.landmarks.read_face` reads it, so the portrait commands work on
these images without MediaPipe. Everything here is synthetic (renders of dtface).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dtsdk_gcgan.synthetic import EXPRESSION_NAMES, draw_identity, expression_weights, person_landmarks, render_person


def write_sample(folder: Path, person_id: int, label: int, size: int, seed: int = 0) -> str:
    """One person at one prototype expression: the PNG and its sidecar; returns the PNG's path."""
    from dtsdk.renderer.video import save_png
    from dtsdk.utils.atomic import atomic_open

    person = draw_identity(person_id, seed)
    image, landmarks = render_person(person, expression_weights(label), size)
    neutral = person_landmarks(person, expression_weights(0))
    stem = folder / f"person{person_id:05d}_{EXPRESSION_NAMES[label]}"
    save_png(image, stem.with_suffix(".png"))
    sidecar = {"landmarks": np.round(landmarks, 5).tolist(), "space": "normalized",
               "neutral_landmarks": np.round(neutral, 5).tolist(), "expression": EXPRESSION_NAMES[label],
               "identity": person_id, "seed": seed, "synthetic": True,
               "note": "a render of dtsdk's dtface rig by dtsdk-gcgan; x_norm = 2 * x_px / size - 1, y down"}
    with atomic_open(stem.with_suffix(".json"), "w", encoding="utf-8") as f:
        json.dump(sidecar, f)
    return os.fspath(stem.with_suffix(".png"))


def write_samples(output: str | os.PathLike, identities: int = 2, size: int = 128, first_identity: int = 10000,
                  seed: int = 0, labels=None) -> list[str]:
    """``identities`` people from ``first_identity`` at each prototype in ``labels`` (default: all six)."""
    from dtsdk.errors import DtsdkError

    if identities < 1 or not 16 <= size <= 1024:
        raise DtsdkError("samples need at least one identity and a size of 16-1024 pixels")
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    labels = range(len(EXPRESSION_NAMES)) if labels is None else labels
    return [write_sample(folder, person_id, label, size, seed)
            for person_id in range(first_identity, first_identity + identities) for label in labels]
