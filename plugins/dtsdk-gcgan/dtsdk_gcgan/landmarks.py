"""Landmarks of the faces the portrait commands are given, and expression transfer between faces.

Every landmark set the model sees is 68 (x, y) points in the iBUG-68 order, normalised to the
model's face frame: ``2 * pixel / size - 1``, y down (as :mod:`dtsdk_gcgan.synthetic`). Where they
come from, in this order:

1. a landmark file given with the image (``--face-landmarks``, ...);
2. the sidecar the plugin's own generator writes beside each image (``NAME.json`` beside ``NAME.png``,
   ``dtsdk portrait samples``), which also holds that person's neutral landmarks;
3. MediaPipe's face mesh (the ``mediapipe`` extra, ``mediapipe==0.10.21``), mapped to the 68 points
   by :data:`MEDIAPIPE_TO_IBUG68`.

Landmark files: ``.npy`` or ``.txt`` (68 rows of x y, or 136 numbers) in pixel coordinates of the
image they describe; ``.json`` either a list of 68 ``[x, y]`` pairs (pixels) or an object
``{"landmarks": [[x, y], ...], "space": "pixels" | "normalized", "neutral_landmarks": [...]}``.

A photo (anything without a sidecar) is aligned to the frame the model was trained in: the
similarity transform (scale, rotation, shift) that best maps its stable points onto the synthetic
population's mean neutral face, so the output images are in that aligned crop.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dtsdk.errors import DtsdkError, FormatError, file_error
from dtsdk_gcgan.model import NUM_LANDMARKS

# Points an expression hardly moves: the upper face contour, the nose, the eye corners. Alignment
# and the neutral-to-neutral map are fitted on these, so a smile or an open jaw does not tilt them.
STABLE_POINTS = (0, 1, 2, 14, 15, 16, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 42, 45)

# MediaPipe face mesh vertex (of its 468) for each iBUG-68 point, in the iBUG order. Chosen by
# hand from the mesh's published topology: the face-oval ring for the jaw (0-16, the subject's right
# ear to the left one through the chin, 152), the upper brow ridge (17-26), the nose ridge and tip
# (27-30: 168, 6, 197, 1) and the nostril base (31-35), the eye corners and two points on each lid
# (36-47), the outer (48-59) and inner (60-67) lip contours. The jaw and brows of the mesh and of
# iBUG do not follow the same curves exactly: expect a few pixels of disagreement there.
MEDIAPIPE_TO_IBUG68 = (
    234, 93, 132, 58, 172, 136, 150, 176, 152, 400, 379, 365, 397, 288, 361, 323, 454,  # jaw 0-16
    70, 63, 105, 66, 107,  # right brow 17-21 (outer to inner)
    336, 296, 334, 293, 300,  # left brow 22-26 (inner to outer)
    168, 6, 197, 1,  # nose ridge 27-30
    98, 97, 2, 326, 327,  # nostrils 31-35
    33, 160, 158, 133, 153, 144,  # right eye 36-41
    362, 385, 387, 263, 373, 380,  # left eye 42-47
    61, 40, 37, 0, 267, 270, 291, 321, 314, 17, 84, 91,  # outer lips 48-59
    78, 81, 13, 311, 308, 402, 14, 178,  # inner lips 60-67
)
LANDMARK_SUFFIXES = (".npy", ".txt", ".json")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")


@dataclass
class LandmarkSet:
    """68 points (68, 2) and the space they are in: ``pixels`` of their image or ``normalized`` [-1, 1]."""
    points: np.ndarray
    space: str = "pixels"
    neutral: np.ndarray | None = None  # the same person at rest, in the same space, where known


@dataclass
class Face:
    """A face ready for the model: ``image`` uint8 (S, S, 3) in the model's frame, ``landmarks`` (68, 2)
    normalised, ``neutral`` (68, 2) normalised where known (else None), ``source`` where the landmarks came from."""
    image: np.ndarray
    landmarks: np.ndarray
    neutral: np.ndarray | None
    source: str
    path: str


def _as_points(values, path) -> np.ndarray:
    points = np.asarray(values, np.float32)
    if points.size != NUM_LANDMARKS * 2:
        raise file_error(FormatError, path, f"has {points.size} numbers; landmarks need {NUM_LANDMARKS} (x, y) "
                                            "points in the iBUG-68 order")
    points = points.reshape(NUM_LANDMARKS, 2)
    if not np.isfinite(points).all():
        raise file_error(FormatError, path, "landmarks contain NaN or Inf")
    return points


def read_landmark_file(path: str | os.PathLike) -> LandmarkSet:
    """A ``.npy``, ``.txt`` or ``.json`` landmark file (see the module docstring); errors name the file."""
    text = os.fspath(path)
    if not os.path.isfile(text):
        raise file_error(DtsdkError, text, "no such landmark file")
    suffix = Path(text).suffix.lower()
    try:
        if suffix == ".npy":
            return LandmarkSet(_as_points(np.load(text, allow_pickle=False), text))
        if suffix == ".json":
            with open(text, encoding="utf-8") as f:
                data = json.load(f)
            if isinstance(data, dict):
                if "landmarks" not in data:
                    raise file_error(FormatError, text, "a landmark JSON object needs a 'landmarks' list of 68 [x, y]")
                space = data.get("space", "pixels")
                if space not in ("pixels", "normalized"):
                    raise file_error(FormatError, text, f"'space' must be 'pixels' or 'normalized', got {space!r}")
                neutral = data.get("neutral_landmarks")
                return LandmarkSet(_as_points(data["landmarks"], text), space,
                                   None if neutral is None else _as_points(neutral, text))
            return LandmarkSet(_as_points(data, text))
        return LandmarkSet(_as_points(np.loadtxt(text, ndmin=1), text))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise file_error(FormatError, text, f"not a landmark file of numbers ({' '.join(str(exc).split())[:120]})") \
            from None


def sidecar_of(image_path: str | os.PathLike) -> Path | None:
    """``NAME.json`` beside ``NAME.png`` when it holds landmarks (as ``dtsdk portrait samples`` writes)."""
    candidate = Path(image_path).with_suffix(".json")
    if not candidate.is_file():
        return None
    try:
        with open(candidate, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return candidate if isinstance(data, dict) and "landmarks" in data else None


def mediapipe_available() -> bool:
    try:
        import mediapipe  # noqa: F401
    except Exception:  # not installed, or a broken install (its native libraries): treat as absent
        return False
    return True


def detect_landmarks(image: np.ndarray, path: str | os.PathLike = "image") -> np.ndarray:
    """The 68 landmarks (68, 2) in pixels of an RGB uint8 image (H, W, 3), from MediaPipe's face mesh.

    A :class:`DtsdkError` naming ``path`` when no face is found; :class:`MissingExtraError` without mediapipe.
    """
    from dtsdk.errors import MissingExtraError

    try:
        import mediapipe as mp
    except ImportError:
        raise MissingExtraError("Finding face landmarks in an image needs mediapipe, which is not installed: "
                                "pip install 'dtsdk-gcgan[mediapipe]' (mediapipe==0.10.21)") from None
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False) as mesh:
        result = mesh.process(np.ascontiguousarray(image))
    if not result.multi_face_landmarks:
        raise file_error(DtsdkError, path, "no face found in the image (MediaPipe face mesh); give its landmarks "
                                           "in a file instead, or a picture with a face")
    height, width = image.shape[:2]
    return mesh_to_ibug68(result.multi_face_landmarks[0].landmark, width, height)


def mesh_to_ibug68(mesh_points, width: int, height: int) -> np.ndarray:
    """MediaPipe's face-mesh points (normalised to the image) as the 68 iBUG points (68, 2) in pixels."""
    return np.array([(mesh_points[i].x * width, mesh_points[i].y * height) for i in MEDIAPIPE_TO_IBUG68], np.float32)


def border_colour(image: np.ndarray) -> tuple[int, int, int]:
    """The median colour of an image's (H, W, 3) outermost pixels: what fills around a warped face."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])  # (2H + 2W, 3)
    return tuple(int(c) for c in np.median(border, axis=0))


def similarity(source: np.ndarray, target: np.ndarray, points=STABLE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """The scale-rotation-shift that maps ``source`` (68, 2) onto ``target`` (68, 2) best on ``points``
    (least squares, Umeyama 1991): returns (matrix (2, 2), shift (2,)) with ``target ~ source @ M.T + t``."""
    src, dst = source[list(points)].astype(np.float64), target[list(points)].astype(np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    a, b = src - src_mean, dst - dst_mean
    u, sigma, vt = np.linalg.svd(b.T @ a)
    d = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])  # no reflections
    rotation = u @ d @ vt
    var = (a ** 2).sum()
    if var < 1e-12:
        raise DtsdkError("the landmarks are degenerate (all at one point); they do not describe a face")
    scale = float(np.trace(np.diag(sigma) @ d) / var)
    matrix = scale * rotation
    return matrix, dst_mean - src_mean @ matrix.T


def _apply(matrix: np.ndarray, shift: np.ndarray, points: np.ndarray | None) -> np.ndarray | None:
    return None if points is None else (points @ matrix.T + shift).astype(np.float32)


def _open_rgb(path: str) -> np.ndarray:
    """The image at ``path`` as uint8 RGB (H, W, 3) at its own size; errors name the file."""
    from dtsdk._optional import require

    pil = require("PIL.Image", "render", "Reading portrait images")
    if not os.path.isfile(path):
        raise file_error(DtsdkError, path, "no such image file")
    try:
        with pil.open(path) as im:
            return np.asarray(im.convert("RGB"), np.uint8)
    except (pil.UnidentifiedImageError, OSError, ValueError) as exc:
        raise file_error(FormatError, path, f"not an image Pillow can read ({type(exc).__name__}); "
                                            "give a PNG or JPEG") from None


def _warp(image: np.ndarray, matrix: np.ndarray, shift: np.ndarray, size: int) -> np.ndarray:
    """``image`` (H, W, 3) resampled so its pixel p lands at ``M p + t`` in a (size, size) crop."""
    from PIL import Image

    inverse = np.linalg.inv(matrix)
    offset = -inverse @ shift
    fill = border_colour(image)
    data = (inverse[0, 0], inverse[0, 1], offset[0], inverse[1, 0], inverse[1, 1], offset[1])
    out = Image.fromarray(image).transform((size, size), Image.AFFINE, data, resample=Image.BILINEAR, fillcolor=fill)
    return np.asarray(out, np.uint8)


def _check_face_like(points_px: np.ndarray, width: int, height: int, path: str) -> None:
    """Landmarks mostly outside their image, or squashed to a line, are not this image's face."""
    inside = ((points_px[:, 0] >= -0.1 * width) & (points_px[:, 0] <= 1.1 * width)
              & (points_px[:, 1] >= -0.1 * height) & (points_px[:, 1] <= 1.1 * height))
    span = np.ptp(points_px, axis=0)
    if inside.mean() < 0.9 or span.min() < 4:
        (x0, y0), (x1, y1) = points_px.min(0), points_px.max(0)
        raise file_error(DtsdkError, path, f"its landmarks (x {x0:.0f}..{x1:.0f}, y {y0:.0f}..{y1:.0f} px) do not "
                                           f"lie on the {width}x{height} image; are they this image's, in pixels?")


def read_face(path: str | os.PathLike, size: int, landmarks: str | os.PathLike | None = None) -> Face:
    """The image at ``path`` with its landmarks, in the model's frame at ``size`` px (see the module docstring)."""
    from dtsdk_gcgan.synthetic import mean_neutral_landmarks

    text = os.fspath(path)
    if Path(text).suffix.lower() in LANDMARK_SUFFIXES:
        raise file_error(DtsdkError, text, "is a landmark file; a face image is needed here (PNG or JPEG)")
    image = _open_rgb(text)
    height, width = image.shape[:2]
    sidecar = sidecar_of(text) if landmarks is None else None
    if landmarks is not None:
        found, source = read_landmark_file(landmarks), os.fspath(landmarks)
    elif sidecar is not None:
        found, source = read_landmark_file(sidecar), "sidecar"
    elif mediapipe_available():
        found, source = LandmarkSet(detect_landmarks(image, text)), "mediapipe"
    else:
        raise file_error(DtsdkError, text, "no landmarks for this image: give a landmark file (.npy/.txt/.json), "
                                           "or pip install 'dtsdk-gcgan[mediapipe]' to find them")
    if found.space == "normalized" and sidecar is not None and width == height:
        # Rendered by the plugin's generator: already in the model's frame; only the size changes.
        from PIL import Image

        resized = np.asarray(Image.fromarray(image).resize((size, size), Image.BILINEAR), np.uint8)
        return Face(resized, found.points, found.neutral, source, text)
    if found.space == "normalized":  # normalised to this image: back to its pixels
        scale = np.array([width, height], np.float32) / 2
        found = LandmarkSet((found.points + 1) * scale, "pixels", None if found.neutral is None
                            else (found.neutral + 1) * scale)
    _check_face_like(found.points, width, height, text)
    template_px = (mean_neutral_landmarks() + 1) / 2 * size  # (68, 2) where the model expects a face
    matrix, shift = similarity(found.points, template_px)
    to_norm = 2.0 / size
    points = _apply(matrix, shift, found.points) * to_norm - 1
    neutral = _apply(matrix, shift, found.neutral)
    return Face(_warp(image, matrix, shift, size), points, None if neutral is None else neutral * to_norm - 1,
                source, text)


def read_expression(path: str | os.PathLike, size: int, landmarks: str | os.PathLike | None = None) -> LandmarkSet:
    """An expression source: an image (its landmarks, as :func:`read_face`) or a landmark file.

    Returns normalised points in the model's frame, with the source's neutral where known.
    """
    from dtsdk_gcgan.synthetic import mean_neutral_landmarks

    text = os.fspath(path)
    if Path(text).suffix.lower() not in LANDMARK_SUFFIXES:
        face = read_face(text, size, landmarks)
        return LandmarkSet(face.landmarks, "normalized", face.neutral)
    found = read_landmark_file(text)
    matrix, shift = similarity(found.points, mean_neutral_landmarks())  # into the model's frame
    return LandmarkSet(_apply(matrix, shift, found.points), "normalized", _apply(matrix, shift, found.neutral))


def estimated_neutral(points: np.ndarray) -> np.ndarray:
    """A neutral for landmarks whose own is not known: the population's mean neutral face, moved onto
    ``points`` (68, 2) by the similarity fitted on the stable points. It carries the mean face shape,
    so the displacement from it also holds that person's shape; give the real neutral where you have it."""
    from dtsdk_gcgan.synthetic import mean_neutral_landmarks

    template = mean_neutral_landmarks()
    matrix, shift = similarity(template, points)
    return _apply(matrix, shift, template)


def transfer_expression(face_neutral: np.ndarray, expression: np.ndarray,
                        expression_neutral: np.ndarray) -> np.ndarray:
    """Target landmarks (68, 2): ``expression``'s displacement from its own neutral, carried onto
    ``face_neutral``. The displacement is turned and scaled by the similarity from the expression's
    neutral to the face's (fitted on the stable points), so a smaller or tilted face gets a
    proportionally smaller, tilted smile; the face keeps its own shape (jaw, eye spacing, nose)."""
    matrix, _ = similarity(expression_neutral, face_neutral)
    return (face_neutral + (expression - expression_neutral) @ matrix.T).astype(np.float32)
