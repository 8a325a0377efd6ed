"""Face landmarks found in a picture or a video with MediaPipe, written as a landmark file.

``dtsdk portrait landmarks IN -o OUT``: IN is an image (one set of 68 points) or a video (one set per
frame, MediaPipe's face mesh in tracking mode); OUT is

- ``.npy``: (68, 2) for an image, (T, 68, 2) for a video, pixels of IN;
- ``.txt``: 68 rows of ``x y`` (an image only);
- ``.json``: ``{"landmarks": ..., "space": "pixels", "size": [W, H], "fps": ..., "missing": [...]}``.

An image's file is a landmark file every portrait command reads (``--face-landmarks``,
``--expression-from``, a training folder). Video frames where no face is found take the nearest
found frame's points and are listed in ``missing``; a video with no face in any frame is an error.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from dtsdk.errors import DtsdkError, file_error
from dtsdk_gcgan.landmarks import IMAGE_SUFFIXES, _open_rgb, detect_landmarks, mesh_to_ibug68

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")
OUTPUT_SUFFIXES = (".npy", ".txt", ".json")


def find_landmarks(path: str | os.PathLike) -> dict:
    """The landmarks of the face in ``path`` (an image or a video): ``landmarks`` float32 (68, 2) or
    (T, 68, 2) in its pixels, ``size`` (W, H), ``fps`` (None for an image), ``missing`` frame indices."""
    text = os.fspath(path)
    suffix = Path(text).suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        image = _open_rgb(text)
        return {"landmarks": detect_landmarks(image, text), "size": [image.shape[1], image.shape[0]],
                "fps": None, "missing": []}
    if suffix in VIDEO_SUFFIXES:
        return _video_landmarks(text)
    raise file_error(DtsdkError, text, f"neither an image ({', '.join(IMAGE_SUFFIXES)}) nor a video "
                                       f"({', '.join(VIDEO_SUFFIXES)})")


def _video_frames(path: str):
    """(meta, iterator of uint8 (H, W, 3) frames) of a video, through imageio-ffmpeg."""
    from dtsdk._optional import require

    if not os.path.isfile(path):
        raise file_error(DtsdkError, path, "no such video file")
    imageio_ffmpeg = require("imageio_ffmpeg", "render", "Reading video")
    reader = imageio_ffmpeg.read_frames(path)
    try:
        meta = next(reader)
    except (RuntimeError, OSError, StopIteration) as exc:
        raise file_error(DtsdkError, path, f"cannot be read as a video ({' '.join(str(exc).split())[-120:]})") \
            from None
    width, height = meta["size"]
    return meta, (np.frombuffer(raw, np.uint8).reshape(height, width, 3) for raw in reader)


def _video_landmarks(path: str) -> dict:
    from dtsdk.errors import MissingExtraError

    try:
        import mediapipe as mp
    except ImportError:
        raise MissingExtraError(f"{path}: finding face landmarks in a video needs mediapipe, which is not "
                                "installed: pip install 'dtsdk-gcgan[mediapipe]' (mediapipe==0.10.21)") from None
    meta, frames = _video_frames(path)
    width, height = meta["size"]
    found: list[np.ndarray | None] = []
    with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1) as mesh:
        for frame in frames:
            result = mesh.process(np.ascontiguousarray(frame))
            if not result.multi_face_landmarks:
                found.append(None)
                continue
            found.append(mesh_to_ibug68(result.multi_face_landmarks[0].landmark, width, height))
    hits = [i for i, f in enumerate(found) if f is not None]
    if not hits:
        raise file_error(DtsdkError, path, f"no face found in any of its {len(found)} frames (MediaPipe face mesh)")
    track = np.stack([found[min(hits, key=lambda h: abs(h - i))] if f is None else f for i, f in enumerate(found)])
    return {"landmarks": track, "size": [width, height], "fps": float(meta.get("fps") or 0) or None,
            "missing": [i for i, f in enumerate(found) if f is None]}


def write_landmarks(found: dict, output: str | os.PathLike) -> None:
    """``found`` (:func:`find_landmarks`) into ``output`` by its extension, atomically."""
    from dtsdk.utils.atomic import atomic_open, atomic_path

    text = os.fspath(output)
    suffix = Path(text).suffix.lower()
    points = np.asarray(found["landmarks"], np.float32)
    if suffix not in OUTPUT_SUFFIXES:
        raise file_error(DtsdkError, text, f"write landmarks as {', '.join(OUTPUT_SUFFIXES)}")
    if suffix == ".txt" and points.ndim == 3:
        raise file_error(DtsdkError, text, "a video's landmarks (one set per frame) go to .npy or .json, not .txt")
    if suffix == ".npy":
        with atomic_path(text) as tmp, open(tmp, "wb") as f:
            np.save(f, points)
    elif suffix == ".txt":
        with atomic_open(text, "w", encoding="utf-8") as f:
            np.savetxt(f, points, fmt="%.3f")
    else:
        with atomic_open(text, "w", encoding="utf-8") as f:
            json.dump({"landmarks": np.round(points, 3).tolist(), "space": "pixels", "size": found["size"],
                       "fps": found["fps"], "missing": found["missing"]}, f)
