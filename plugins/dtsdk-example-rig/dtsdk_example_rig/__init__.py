"""An example dtsdk rig plugin: a low-poly mask with seven shapes of its own, driven from ARKit-52.

Everything a rig plugin needs is here: build a :class:`dtsdk.rigs.Rig`, say how ARKit-52 weights
map onto your shapes (``arkit_map``), name the vertex regions metrics use, and register it through
the ``register_rigs`` hook. The entry point in pyproject.toml makes dtsdk find this module.
"""
from __future__ import annotations

import numpy as np

import dtsdk
from dtsdk.rigs import ARKIT52, Rig
from dtsdk.rigs.base import PART_BROW, PART_LIPS, PART_SKIN

__version__ = "0.1.0"

SHAPES = ("MouthOpen", "MouthWide", "MouthRound", "Smile", "BlinkL", "BlinkR", "BrowsUp")

# How much of each ARKit shape feeds each of ours (rows: our shapes, columns: ARKit names).
ARKIT_TO_SHAPES = {
    "MouthOpen": {"jawOpen": 1.0, "mouthLowerDownLeft": 0.15, "mouthLowerDownRight": 0.15, "mouthClose": -0.5},
    "MouthWide": {"mouthStretchLeft": 0.5, "mouthStretchRight": 0.5},
    "MouthRound": {"mouthPucker": 0.7, "mouthFunnel": 0.6},
    "Smile": {"mouthSmileLeft": 0.5, "mouthSmileRight": 0.5},
    "BlinkL": {"eyeBlinkLeft": 1.0},
    "BlinkR": {"eyeBlinkRight": 1.0},
    "BrowsUp": {"browInnerUp": 0.5, "browOuterUpLeft": 0.25, "browOuterUpRight": 0.25},
}

COLS, ROWS = 21, 27
WIDTH_MM, HEIGHT_MM, DEPTH_MM = 140.0, 190.0, 60.0


def _grid() -> tuple[np.ndarray, np.ndarray]:
    """A front-facing curved grid (a mask), +Y up, looking toward +Z; (V, 3) mm and (F, 3) faces."""
    u = np.linspace(-1, 1, COLS)
    v = np.linspace(-1, 1, ROWS)
    uu, vv = np.meshgrid(u, v)  # (ROWS, COLS)
    x = uu * WIDTH_MM / 2
    y = vv * HEIGHT_MM / 2
    z = DEPTH_MM * np.sqrt(np.clip(1 - 0.7 * uu**2 - 0.4 * vv**2, 0, None))  # bulge toward the viewer
    verts = np.stack([x, y, z], -1).reshape(-1, 3).astype(np.float32)
    idx = np.arange(ROWS * COLS).reshape(ROWS, COLS)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    # Counter-clockwise seen from +Z.
    faces = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    return verts, faces.astype(np.int32)


def _bump(verts: np.ndarray, center_mm, radius_mm: float) -> np.ndarray:
    """Smooth falloff weight (V,) around a point on the mask, 1 at the centre."""
    d2 = ((verts[:, :2] - np.asarray(center_mm, np.float32)) ** 2).sum(1)
    return np.exp(-d2 / (2 * radius_mm**2)).astype(np.float32)


def _deltas(verts: np.ndarray) -> np.ndarray:
    mouth, eye_l, eye_r = (0.0, -45.0), (30.0, 25.0), (-30.0, 25.0)
    x = verts[:, 0]
    d = np.zeros((len(SHAPES), len(verts), 3), np.float32)
    below_mouth = _bump(verts, (0, -70), 35) * (verts[:, 1] < mouth[1] + 3)
    d[0, :, 1] = -15 * below_mouth                                  # MouthOpen: chin and lower lip drop
    m = _bump(verts, mouth, 14)
    d[1, :, 0] = 8 * m * np.tanh(x / 10)                             # MouthWide: corners out
    d[2, :, 0] = -6 * m * np.tanh(x / 10)                            # MouthRound: corners in...
    d[2, :, 2] = 8 * m                                               # ...lips forward
    d[3, :, 0] = 5 * m * np.tanh(x / 10)                             # Smile: corners out...
    d[3, :, 1] = 6 * m * np.abs(np.tanh(x / 10))                     # ...and up
    d[4, :, 1] = -8 * _bump(verts, (eye_l[0], eye_l[1] + 5), 10)     # BlinkL: upper lid down (+X = left)
    d[5, :, 1] = -8 * _bump(verts, (eye_r[0], eye_r[1] + 5), 10)     # BlinkR
    d[6, :, 1] = 8 * (_bump(verts, (30, 45), 18) + _bump(verts, (-30, 45), 18))  # BrowsUp
    return d


def _arkit_map() -> np.ndarray:
    m = np.zeros((len(SHAPES), 52), np.float32)
    for row, shape in enumerate(SHAPES):
        for arkit_name, gain in ARKIT_TO_SHAPES[shape].items():
            m[row, ARKIT52.index(arkit_name)] = gain
    return m


def build_mask_rig() -> Rig:
    verts, faces = _grid()
    lips = np.flatnonzero(_bump(verts, (0, -45), 12) > 0.3)
    upper = np.flatnonzero(verts[:, 1] > 10)
    parts = np.full(len(verts), PART_SKIN, np.uint8)
    parts[lips] = PART_LIPS
    parts[np.flatnonzero((_bump(verts, (30, 45), 8) + _bump(verts, (-30, 45), 8)) > 0.5)] = PART_BROW
    return Rig(
        name="example-mask", kind="blendshape", shape_names=SHAPES, template_mm=verts, faces=faces,
        deltas_mm=_deltas(verts), regions={"lips": lips, "upper_face": upper}, arkit_map=_arkit_map(),
        part_ids=parts, description="Low-poly example mask (dtsdk-example-rig)",
    )


@dtsdk.hookimpl
def register_rigs(register):
    register("example-mask", build_mask_rig, description="Low-poly mask with 7 shapes, from the example plugin")
