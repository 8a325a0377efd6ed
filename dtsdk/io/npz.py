"""``npz``: dtsdk's own lossless animation file (numpy archive, no pickles).

Arrays: ``weights`` (T, D) float32, ``names`` (D,) unicode (empty for vertex rigs), ``fps`` (),
``rig`` () unicode, ``head_pose`` (T, 3) float32 radians when the animation has one, and ``meta``
() unicode holding the meta dict as JSON (values that JSON cannot hold are written as strings).
"""
from __future__ import annotations

import json
import os
import zipfile

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, ExportError, FormatError
from dtsdk.utils.atomic import atomic_path
from dtsdk.io.base import Exporter

FORMAT_VERSION = 1


class NpzExporter(Exporter):
    name = "npz"
    extensions = (".npz",)
    description = "dtsdk animation archive: weights, names, fps, rig, head pose, meta (lossless)"

    def write(self, animation: Animation, path: str | os.PathLike, **options) -> None:
        if options:
            raise ExportError(f"{os.fspath(path)}: the 'npz' format takes no options, got {sorted(options)}")
        arrays = {
            "format_version": np.asarray(FORMAT_VERSION, dtype=np.int32),
            "weights": animation.weights,
            "names": np.asarray(animation.names, dtype=str) if animation.names else np.zeros(0, dtype="<U1"),
            "fps": np.asarray(animation.fps, dtype=np.float64),
            "rig": np.asarray(animation.rig, dtype=str),
            "meta": np.asarray(json.dumps(animation.meta, default=str), dtype=str),
        }
        if animation.head_pose is not None:
            arrays["head_pose"] = animation.head_pose
        with atomic_path(path) as tmp:
            # A file object keeps numpy from appending ".npz" to the temporary name.
            with open(tmp, "wb") as f:
                np.savez_compressed(f, **arrays)

    def read(self, path: str | os.PathLike, **options) -> Animation:
        where = os.fspath(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in ("weights", "names", "fps", "rig") if k not in data.files]
                if missing:
                    raise FormatError(f"{where}: not a dtsdk animation archive (missing {', '.join(missing)})")
                weights = data["weights"]
                names = tuple(str(n) for n in data["names"])
                fps = float(data["fps"])
                rig = str(data["rig"])
                head_pose = data["head_pose"] if "head_pose" in data.files else None
                meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
        except FormatError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, KeyError) as exc:
            raise FormatError(f"{where}: not a readable dtsdk .npz animation ({exc})") from exc
        if not isinstance(meta, dict):
            raise FormatError(f"{where}: 'meta' must hold a JSON object")
        try:
            return Animation(weights, names, fps, rig, head_pose, meta)
        except DtsdkError as exc:
            raise FormatError(f"{where}: {exc}") from exc


NPZ = NpzExporter()
