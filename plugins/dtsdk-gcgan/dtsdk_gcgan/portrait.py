"""The portrait API the commands call: a trained GC-GAN drawing one face at other faces' expressions.

``Portrait()`` loads the default checkpoint shipped in the package (:mod:`dtsdk_gcgan.shipped`;
``Portrait("portrait-64")`` another shipped one by name, ``Portrait("runs/x")`` a trained folder); every
method takes and returns uint8 RGB images (S, S, 3) and normalised landmarks (68, 2) (see
:mod:`dtsdk_gcgan.landmarks` for where landmarks come from and the frame they are in).

Expression transfer has two modes:

- ``displacement`` (the default): the target is the face's own neutral landmarks plus the
  expression source's displacement from *its* neutral, turned and scaled between the two neutrals
  (:func:`~dtsdk_gcgan.landmarks.transfer_expression`), so the face keeps its shape;
- ``raw``: the source's landmarks are fed as they are (what the paper's official code does), so the
  face takes the other person's jaw, eye spacing and nose along with the expression.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from dtsdk.errors import DtsdkError
from dtsdk_gcgan.shipped import checkpoint_folder
from dtsdk_gcgan.landmarks import Face, LandmarkSet, estimated_neutral, read_expression, read_face, transfer_expression

SHIPPED_CHECKPOINT = checkpoint_folder(None)  # the default one
MODES = ("displacement", "raw")


class Portrait:
    """A loaded portrait model. ``checkpoint``: a folder from ``dtsdk portrait train`` or the name of a
    shipped checkpoint (default: the default shipped one)."""

    def __init__(self, checkpoint: str | os.PathLike | None = None, batch_size: int = 16):
        from dtsdk_gcgan.train import load_checkpoint

        folder = checkpoint_folder(checkpoint)
        if checkpoint is None and not (folder / "model.safetensors").is_file():
            raise DtsdkError(f"{folder}: the shipped portrait checkpoint is missing from this install; "
                             "reinstall dtsdk-gcgan or give --checkpoint")
        self.model = load_checkpoint(folder)
        self.checkpoint = os.fspath(folder)
        self.size = self.model.config.image_size
        self.batch_size = batch_size

    # ---- inputs -------------------------------------------------------------------------------
    def face(self, path, landmarks=None) -> Face:
        """The face image at ``path`` in this model's frame, with its landmarks."""
        return read_face(path, self.size, landmarks)

    def expression(self, path, landmarks=None) -> LandmarkSet:
        """An expression source (an image or a landmark file), normalised to this model's frame."""
        return read_expression(path, self.size, landmarks)

    # ---- drawing -------------------------------------------------------------------------------
    @torch.no_grad()
    def generate(self, image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """``image`` uint8 (S, S, 3) at each of ``landmarks`` (N, 68, 2) or (68, 2): uint8 (N, S, S, 3)
        (or (S, S, 3) for one set)."""
        from dtsdk_gcgan.train import to_tensor

        points = np.asarray(landmarks, np.float32)
        single = points.ndim == 2
        points = points[None] if single else points  # (N, 68, 2)
        source = to_tensor(np.array(image, np.uint8)[None])  # (1, 3, S, S); a copy: torch wants it writable
        out = []
        for start in range(0, len(points), self.batch_size):
            chunk = torch.from_numpy(points[start:start + self.batch_size])  # (b, 68, 2)
            fake = self.model(source.expand(len(chunk), -1, -1, -1), chunk)[0]  # (b, 3, S, S) in [-1, 1]
            out.append(((fake.permute(0, 2, 3, 1) + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).numpy())
        images = np.concatenate(out)  # (N, S, S, 3)
        return images[0] if single else images

    def target_landmarks(self, face: Face, expression: LandmarkSet, mode: str = "displacement") -> np.ndarray:
        """The landmarks (68, 2) ``face`` is drawn at to show ``expression`` (see the module docstring)."""
        if mode not in MODES:
            raise DtsdkError(f"unknown transfer mode '{mode}'; choose one of {', '.join(MODES)}")
        if mode == "raw":
            return expression.points
        face_neutral = face.neutral if face.neutral is not None else face.landmarks  # a face is assumed at rest
        source_neutral = expression.neutral if expression.neutral is not None else estimated_neutral(expression.points)
        return transfer_expression(face_neutral, expression.points, source_neutral)

    def transfer(self, face: Face, expression: LandmarkSet, mode: str = "displacement") -> np.ndarray:
        """``face`` with ``expression``: uint8 (S, S, 3)."""
        return self.generate(face.image, self.target_landmarks(face, expression, mode))

    def interpolate(self, face: Face, start: LandmarkSet | None, end: LandmarkSet, steps: int,
                    mode: str = "displacement") -> np.ndarray:
        """``steps`` images (steps, S, S, 3) of ``face`` going from ``start``'s expression (None: the
        face's own landmarks) to ``end``'s, blending the target landmarks linearly (alpha = i / (steps - 1))."""
        if steps < 2:
            raise DtsdkError(f"--steps must be at least 2, got {steps}")
        first = face.landmarks if start is None else self.target_landmarks(face, start, mode)
        last = self.target_landmarks(face, end, mode)
        alpha = np.linspace(0, 1, steps, dtype=np.float32)[:, None, None]  # (steps, 1, 1)
        return self.generate(face.image, (1 - alpha) * first + alpha * last)


def strip(images: np.ndarray, gap: int = 0) -> np.ndarray:
    """Images (N, S, S, 3) side by side: uint8 (S, N*S + (N-1)*gap, 3), with white gaps."""
    parts = []
    for i, image in enumerate(images):
        if i and gap:
            parts.append(np.full((image.shape[0], gap, 3), 255, np.uint8))
        parts.append(image)
    return np.concatenate(parts, axis=1)


def write_images(images: np.ndarray, output: str | os.PathLike, fps: float = 12.0) -> str:
    """``.png``: one strip of the images side by side; ``.gif``: an animation at ``fps``; else a one-line error."""
    from dtsdk.renderer.video import save_png, write_gif

    suffix = Path(output).suffix.lower()
    if suffix == ".png":
        save_png(strip(images), output)
    elif suffix == ".gif":
        write_gif(list(images), output, fps)
    else:
        raise DtsdkError(f"{os.fspath(output)}: write a .png (a strip) or a .gif (an animation)")
    return os.fspath(output)
