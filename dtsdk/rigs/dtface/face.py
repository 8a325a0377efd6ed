"""Brow, cheek and nose morph targets (left versions of one-sided shapes; see :mod:`.morphs`)."""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.dtface import proportions as P
from dtsdk.rigs.dtface.context import MorphContext
from dtsdk.rigs.dtface.falloff import ellipse_fade, fade, smoothstep
from dtsdk.rigs.dtface.mesh import brow_centerline_y


def _brow_band(ctx: MorphContext, reach_up_mm: float, reach_down_mm: float) -> np.ndarray:
    """(V,) 1 on the eyebrows, fading up over the forehead and down over the upper lid."""
    dy = ctx.y - brow_centerline_y(ctx.x)
    vertical = np.where(dy > 0, fade(dy, reach_up_mm), fade(dy, reach_down_mm))
    return ctx.face * vertical * (ctx.y > P.EYE_Y - 12.0)


def face_targets(ctx: MorphContext) -> dict[str, np.ndarray]:
    x, y = ctx.x, ctx.y
    ax = np.abs(x)
    out: dict[str, np.ndarray] = {}

    left_brow = smoothstep(2.0, 14.0, x) * (1.0 - smoothstep(52.0, 66.0, x))
    inner = 1.0 - smoothstep(15.0, 45.0, x)
    down = _brow_band(ctx, 14.0, 14.0) * left_brow
    brow_down = ctx.zeros()
    brow_down[:, 0] = -2.5 * down * inner  # the inner brow knits toward the nose
    brow_down[:, 1] = -6.0 * down
    brow_down[:, 2] = 1.5 * down
    out["browDownLeft"] = brow_down

    inner_up = _brow_band(ctx, 40.0, 13.0) * (1.0 - smoothstep(18.0, 42.0, ax))
    brow_inner = ctx.zeros()
    brow_inner[:, 1] = 8.0 * inner_up
    brow_inner[:, 0] = -1.0 * np.sign(x) * inner_up
    out["browInnerUp"] = brow_inner

    outer_up = _brow_band(ctx, 35.0, 13.0) * smoothstep(20.0, 42.0, x) * (1.0 - smoothstep(58.0, 72.0, x))
    brow_outer = ctx.zeros()
    brow_outer[:, 1] = 7.0 * outer_up
    out["browOuterUpLeft"] = brow_outer

    cheeks = ctx.face * ellipse_fade(ax - 42.0, y + 48.0, 26.0, 28.0, core=0.2)
    puff = 8.0 * cheeks[:, None] * ctx.normals
    lips = ctx.face * ellipse_fade(x, y - P.MOUTH_Y, 26.0, 14.0)
    puff[:, 2] += 1.5 * lips
    out["cheekPuff"] = puff

    squint = ctx.face * ellipse_fade(x - 40.0, y + 8.0, 22.0, 15.0, core=0.2)
    cheek_squint = ctx.zeros()
    cheek_squint[:, 1] = 4.0 * squint
    cheek_squint[:, 2] = 1.0 * squint
    out["cheekSquintLeft"] = cheek_squint

    wing = ctx.face * ellipse_fade(x - 12.0, y + 22.0, 11.0, 15.0, core=0.2)
    lip_side = ctx.face * ellipse_fade(x - 10.0, y - P.MOUTH_Y - 12.0, 14.0, 10.0) * (ctx.lip_side > 0)
    knit = ctx.face * ellipse_fade(x - 10.0, y - P.BROW_Y + 2.0, 12.0, 10.0)
    sneer = ctx.zeros()
    sneer[:, 1] = 4.0 * wing + 1.5 * lip_side - 1.5 * knit
    sneer[:, 2] = 1.0 * wing
    out["noseSneerLeft"] = sneer
    return out
