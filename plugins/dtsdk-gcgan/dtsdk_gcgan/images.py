"""Reading face images and landmark files for the portrait model (Pillow via the ``render`` extra)."""
from __future__ import annotations

import os

import numpy as np

from dtsdk.errors import DtsdkError, FormatError, file_error
from dtsdk_gcgan.model import NUM_LANDMARKS


def load_image(path: str | os.PathLike, size: int) -> np.ndarray:
    """The image at ``path`` as uint8 RGB (size, size, 3), centre-cropped to a square and resized.

    A file that is not an image is a one-line :class:`FormatError` naming it.
    """
    from dtsdk._optional import require

    image_module = require("PIL.Image", "render", "Reading portrait images")
    if not os.path.isfile(path):
        raise file_error(DtsdkError, path, "no such image file")
    try:
        with image_module.open(path) as im:
            im = im.convert("RGB")
    except (image_module.UnidentifiedImageError, OSError, ValueError) as exc:
        raise file_error(FormatError, path, f"not an image Pillow can read ({type(exc).__name__}); "
                                            "give a PNG or JPEG") from None
    side = min(im.size)
    left, top = (im.width - side) // 2, (im.height - side) // 2
    im = im.crop((left, top, left + side, top + side)).resize((size, size), image_module.BILINEAR)
    return np.asarray(im, np.uint8)


def load_landmarks(path: str | os.PathLike) -> np.ndarray:
    """68 (x, y) points from a text file (one point per line, or 136 numbers) or a ``.npy`` file."""
    try:
        points = np.load(path) if os.fspath(path).endswith(".npy") else np.loadtxt(path, ndmin=1)
    except FileNotFoundError:
        raise file_error(DtsdkError, path, "no such landmark file") from None
    except ValueError as exc:
        raise file_error(FormatError, path, f"not a landmark file of numbers ({' '.join(str(exc).split())})") from None
    points = np.asarray(points, np.float32)
    if points.size != NUM_LANDMARKS * 2:
        raise file_error(FormatError, path, f"has {points.size} numbers; landmarks need {NUM_LANDMARKS} (x, y) "
                                            "points in the iBUG-68 order")
    return points.reshape(NUM_LANDMARKS, 2)
