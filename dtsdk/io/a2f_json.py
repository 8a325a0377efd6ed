"""``a2f-json``: NVIDIA Audio2Face's blendshape-weights JSON export.

Layout::

    {"exportFps": 30.0, "trackPath": "", "numPoses": K, "numFrames": T,
     "facsNames": ["eyeBlinkLeft", ...], "weightMat": [[w_0_0, ..., w_0_K-1], ...]}   # T x K

Writing uses the animation's own channel names and order (any blendshape or motion rig); weights are
rounded to 6 decimals and not clipped. ``track_path=`` fills ``trackPath`` (A2F puts the audio track
there; default: ``meta["audio"]`` or empty). Reading checks that the counts, names and matrix agree,
and labels the animation ``rig=`` (default ``arkit52`` when the names are ARKit shapes).
"""
from __future__ import annotations

import json
import os

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, FormatError
from dtsdk.io._common import require_named_channels, rig_name_for
from dtsdk.utils.atomic import atomic_open
from dtsdk.io.base import Exporter

REQUIRED_KEYS = ("exportFps", "numPoses", "numFrames", "facsNames", "weightMat")


class Audio2FaceJson(Exporter):
    name = "a2f-json"
    extensions = (".json",)
    description = "Audio2Face blendshape JSON (exportFps, facsNames, weightMat frames x poses)"
    stores_head_pose = False  # Audio2Face JSON holds blendshape weights only
    stores_meta = False  # except meta["audio"], written as trackPath
    stores_rig_name = False

    def write(self, animation: Animation, path: str | os.PathLike, track_path: str | None = None) -> None:
        require_named_channels(animation, path, self.name)
        document = {
            "exportFps": animation.fps,
            "trackPath": track_path if track_path is not None else str(animation.meta.get("audio", "")),
            "numPoses": len(animation.names),
            "numFrames": animation.num_frames,
            "facsNames": list(animation.names),
            "weightMat": np.round(animation.weights.astype(np.float64), 6).tolist(),
        }
        text = json.dumps(document, indent=None, separators=(", ", ": "))
        with atomic_open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def read(self, path: str | os.PathLike, rig: str | None = None) -> Animation:
        where = os.fspath(path)
        try:
            with open(path, encoding="utf-8-sig") as f:
                document = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise FormatError(f"{where}: not valid JSON ({exc})") from None
        if not isinstance(document, dict):
            raise FormatError(f"{where}: expected a JSON object with {', '.join(REQUIRED_KEYS)}")
        missing = [k for k in REQUIRED_KEYS if k not in document]
        if missing:
            raise FormatError(f"{where}: not an Audio2Face export: missing {', '.join(missing)}")
        names = document["facsNames"]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise FormatError(f"{where}: facsNames must be a list of strings")
        num_poses, num_frames = document["numPoses"], document["numFrames"]
        if len(names) != num_poses:
            raise FormatError(f"{where}: numPoses is {num_poses} but facsNames has {len(names)} names")
        weights = _weight_matrix(document["weightMat"], num_frames, num_poses, where)
        meta = {"source": where, "track_path": document.get("trackPath", "")}
        try:
            return Animation(weights, tuple(names), float(document["exportFps"]), rig_name_for(names, rig), meta=meta)
        except (DtsdkError, TypeError, ValueError) as exc:
            raise FormatError(f"{where}: {exc}") from exc


def _weight_matrix(rows, num_frames, num_poses, where: str) -> np.ndarray:
    if not isinstance(rows, list) or len(rows) != num_frames:
        got = len(rows) if isinstance(rows, list) else type(rows).__name__
        raise FormatError(f"{where}: numFrames is {num_frames} but weightMat has {got} rows")
    for i, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != num_poses:
            got = len(row) if isinstance(row, list) else type(row).__name__
            raise FormatError(f"{where}: weightMat row {i} has {got} values, numPoses is {num_poses}")
    try:
        weights = np.array(rows, dtype=np.float32).reshape(num_frames, num_poses)
    except (TypeError, ValueError):
        raise FormatError(f"{where}: weightMat holds values that are not numbers") from None
    if not np.isfinite(weights).all():
        raise FormatError(f"{where}: weightMat holds NaN or infinite values")
    return weights


A2F_JSON = Audio2FaceJson()
