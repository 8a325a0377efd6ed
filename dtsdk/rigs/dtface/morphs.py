"""All 52 ARKit morph targets for dtface, as one (52, V, 3) array in Apple's order.

One-sided shapes (``...Left``, including ``jawLeft`` and ``mouthLeft``) are built for the subject's
left (+X) and mirrored for the right, so the two sides of every pair are exact mirror images.
"""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.arkit import ARKIT52
from dtsdk.rigs.dtface.context import MorphContext
from dtsdk.rigs.dtface.eyes import left_eye_targets
from dtsdk.rigs.dtface.face import face_targets
from dtsdk.rigs.dtface.mesh import MIRROR_X, DtfaceMesh
from dtsdk.rigs.dtface.mouth import mouth_targets


def mirrored(delta: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """The mirror image of a (V, 3) delta field under x -> -x."""
    return delta[mirror] * MIRROR_X


def build_deltas(mesh: DtfaceMesh) -> np.ndarray:
    """(52, V, 3) float32 deltas in mm, ordered as :data:`dtsdk.rigs.arkit.ARKIT52`."""
    ctx = MorphContext.from_mesh(mesh)
    targets = {**left_eye_targets(ctx), **mouth_targets(ctx), **face_targets(ctx)}
    for name, d in targets.items():
        if not name.endswith("Left"):
            # Symmetric shapes: average with the mirror image, removing the small asymmetry of the
            # triangulation (quads are split along one diagonal) from normal-based motions.
            targets[name] = 0.5 * (d + mirrored(d, mesh.mirror))
    for name in list(targets):
        if name.endswith("Left"):
            targets[name[:-4] + "Right"] = mirrored(targets[name], mesh.mirror)
    missing = [n for n in ARKIT52 if n not in targets]
    if missing:
        raise AssertionError(f"dtface builds no target for {missing}")
    return np.stack([targets[n] for n in ARKIT52]).astype(np.float32)
