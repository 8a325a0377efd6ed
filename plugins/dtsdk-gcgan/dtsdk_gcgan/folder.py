"""Training faces from a folder of images with landmarks: your own photos, or CK+ / Multi-PIE style
data you hold, converted to this layout. A recipe names it as ``data: {folder: faces/}``.

    faces/
      labels.csv        optional: rows ``image,expression`` (the path relative to faces/, a name below)
      anna/             one folder per person: every image in it is the same person
        smile_1.png     its expression: from labels.csv, else from the start of the file name
        smile_1.npy     its landmarks beside it: NAME.npy / NAME.txt / NAME.json (see landmarks.py),
        neutral.jpg     else MediaPipe's face mesh when installed
      ben/
        ...

The expressions are the model's classes, :data:`~dtsdk_gcgan.synthetic.EXPRESSION_NAMES` (neutral,
smile, open_mouth, surprise, squint, disgust); a file name that starts with one (``open_mouth``,
``open_mouth_2``, ``smile-03``) carries its label. Every person needs two images or more: GC-GAN's
reconstruction term draws one image of a person at the landmarks of another of the same person.
Each image is aligned to the model's face frame as any photo is (:func:`landmarks.read_face`).
Hidden files and files that are not images or landmark files are skipped; an image without a label
or landmarks, a label that is not a class, a person with one image: a one-line error naming it.
"""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from dtsdk.errors import DtsdkError, file_error
from dtsdk_gcgan.landmarks import IMAGE_SUFFIXES, border_colour, read_face, sidecar_of
from dtsdk_gcgan.synthetic import EXPRESSION_NAMES, SyntheticSet

LABELS_FILE = "labels.csv"


def read_folder(root: str | os.PathLike, size: int) -> SyntheticSet:
    """Every labelled image under ``root`` (one sub-folder per person) aligned at ``size`` px, in the
    container the synthetic set uses: images, normalised landmarks, labels, identities (folder order)."""
    root = Path(root)
    if not root.is_dir():
        raise file_error(DtsdkError, root, "no such folder of training faces")
    labels = _labels_file(root)
    people = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not people:
        raise file_error(DtsdkError, root, "no person folders in it (one sub-folder of images per person)")
    images, points, classes, identities, backgrounds = [], [], [], [], []
    for identity, person in enumerate(people):
        files = [f for f in sorted(person.iterdir()) if _is_image(f)]
        if len(files) < 2:
            raise file_error(DtsdkError, person, f"{len(files)} image(s); a person needs two or more "
                                                 "(the reconstruction term pairs two images of one person)")
        for path in files:
            classes.append(_label(path, root, labels))  # before reading: a missing label is found fast
            face = read_face(path, size, _landmark_file(path))
            images.append(face.image)
            points.append(face.landmarks)
            identities.append(identity)
            backgrounds.append(border_colour(face.image))
    return SyntheticSet(np.stack(images), np.stack(points).astype(np.float32), np.asarray(classes, np.int64),
                        np.asarray(identities, np.int64), np.asarray(backgrounds, np.uint8))


def _is_image(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES


def _landmark_file(image: Path) -> Path | None:
    """The landmark file beside ``image``; None leaves it to read_face (the generator's sidecar, MediaPipe)."""
    if sidecar_of(image) is not None:
        return None  # the plugin's own normalised sidecar: read_face knows its frame
    for suffix in (".npy", ".txt", ".json"):
        candidate = image.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _labels_file(root: Path) -> dict[str, int]:
    """``labels.csv`` as {relative path: label}; empty when there is none."""
    path = root / LABELS_FILE
    if not path.is_file():
        return {}
    labels = {}
    with open(path, newline="", encoding="utf-8") as f:
        for line, row in enumerate(csv.reader(f), 1):
            if not row or row[0].strip().lower() in ("", "image"):
                continue  # blank lines and the header
            if len(row) != 2:
                raise file_error(DtsdkError, path, f"line {line}: give 'image,expression', got {len(row)} field(s)")
            name, expression = row[0].strip(), row[1].strip().lower()
            if expression not in EXPRESSION_NAMES:
                raise file_error(DtsdkError, path, f"line {line}: '{row[1].strip()}' is not an expression; "
                                                   f"use one of {', '.join(EXPRESSION_NAMES)}")
            labels[Path(name).as_posix()] = EXPRESSION_NAMES.index(expression)
    return labels


def _label(image: Path, root: Path, labels: dict[str, int]) -> int:
    """The expression of ``image``: labels.csv, else the longest class name its file name starts with."""
    relative = image.relative_to(root).as_posix()
    if relative in labels:
        return labels[relative]
    stem = image.stem.lower()
    for name in sorted(EXPRESSION_NAMES, key=len, reverse=True):  # open_mouth before a shorter prefix
        if stem == name or (stem.startswith(name) and not stem[len(name)].isalpha()):
            return EXPRESSION_NAMES.index(name)
    raise file_error(DtsdkError, image, f"no expression label: start its name with one of "
                                        f"{', '.join(EXPRESSION_NAMES)} (e.g. smile_1.png), or list it in "
                                        f"{root / LABELS_FILE}")
