"""Jaw, mouth and tongue morph targets.

Symmetric shapes are built whole; one-sided shapes are built for the subject's LEFT (+X) side
and mirrored by :mod:`.morphs`. Lip weights use the design coordinates (before the lips were
parted), and which side of the slit a vertex is on, so the upper and lower lip can move apart.
"""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.dtface import proportions as P
from dtsdk.rigs.dtface.context import MorphContext
from dtsdk.rigs.dtface.falloff import ellipse_fade, fade, rotate_x, smoothstep
from dtsdk.rigs.dtface.mesh import lower_lip_height_mm, upper_lip_height_mm

JAW_FORWARD_MM, JAW_SIDE_MM = 6.0, 7.0


class Mouth:
    def __init__(self, ctx: MorphContext):
        self.ctx = ctx
        x, y, side = ctx.x, ctx.y, ctx.lip_side
        corner_x = ctx.mesh.head.mouth.x_mm[-1]
        self.up = ctx.skin & (side > 0)
        self.low = ctx.skin & (side < 0)
        self.dy_up = np.where(self.up, y - P.MOUTH_Y, 0.0)  # >= 0 above the slit
        self.dy_low = np.where(self.low, P.MOUTH_Y - y, 0.0)  # >= 0 below it
        self.opening = np.sqrt(np.clip(1.0 - (x / corner_x) ** 2, 0.0, None))  # 1 mid-mouth, 0 at the corners
        lateral = fade(x, 34.0)
        # Lip weights: 1 on the red of the lip, fading over a few mm of skin beyond it.
        above_upper_red = np.maximum(self.dy_up - upper_lip_height_mm(x), 0.0)  # mm of skin beyond the red
        below_lower_red = np.maximum(self.dy_low - lower_lip_height_mm(x), 0.0)
        self.upper_lip = self.up * ctx.face * lateral * fade(above_upper_red, 6.0)
        self.lower_lip = self.low * ctx.face * lateral * fade(below_lower_red, 6.0)
        self.around_mouth = ctx.face * ellipse_fade(x, y - P.MOUTH_Y, 38.0, 26.0, core=0.45)
        self.jaw_weight = self._jaw_weight()

    def _jaw_weight(self) -> np.ndarray:
        """(V,) how much each vertex follows the lower jaw: 1 below the lips, 0 above, smooth beside the mouth."""
        ctx = self.ctx
        band = 25.0
        step_up = 0.5 * (1.0 - self.opening) * fade(self.dy_up, band)
        step_low = 1.0 - 0.5 * (1.0 - self.opening) * fade(self.dy_low, band)
        w = np.where(self.up, step_up, step_low)
        # The jaw ends at the hinge behind the cheeks and above the neck.
        w *= smoothstep(P.JAW_HINGE_Z - 20.0, P.JAW_HINGE_Z + 30.0, ctx.rest[:, 2])
        w *= smoothstep(-150.0, -112.0, ctx.y)
        w = np.where(ctx.skin, w, 0.0)
        w[ctx.ids("teeth_lower")] = 1.0
        w[ctx.ids("tongue")] = 1.0
        cavity = ctx.ids("mouth_cavity")
        w[cavity] = smoothstep(P.MOUTH_Y + 6.0, P.MOUTH_Y - 10.0, ctx.rest[cavity, 1])
        return w

    def jaw_motion(self, moved: np.ndarray) -> np.ndarray:
        return self.jaw_weight[:, None] * (moved - self.ctx.rest)

    def jaw_open(self) -> np.ndarray:
        hinge = (P.JAW_HINGE_Y, P.JAW_HINGE_Z)
        delta = self.jaw_motion(rotate_x(self.ctx.rest, hinge, P.JAW_OPEN_RAD))
        delta[:, 1] += 1.0 * self.upper_lip * self.opening  # the upper lip lifts a little, showing the teeth
        return delta

    def lips_toward_each_other(self, jaw_open_delta: np.ndarray) -> np.ndarray:
        """mouthClose: per column, move the lips half-way each so they meet over an open jaw."""
        ctx, slit = self.ctx, self.ctx.mesh.head.mouth
        gap = (ctx.rest[slit.lower_rim] + jaw_open_delta[slit.lower_rim]
               - ctx.rest[slit.upper_rim] - jaw_open_delta[slit.upper_rim])  # (n, 3)
        gap_here = ctx.per_column(slit.columns, gap)  # (V, 3)
        reach = np.where(self.up, fade(self.dy_up, 12.0), -fade(self.dy_low, 14.0))
        return 0.5 * gap_here * reach[:, None] * ctx.skin[:, None]

    def corner(self, cx=2.0, cy=0.0, rx=22.0, ry=18.0) -> np.ndarray:
        """(V,) weight around the +X mouth corner."""
        ctx = self.ctx
        corner_x = ctx.mesh.head.mouth.x_mm[-1]
        return ctx.face * ellipse_fade(ctx.x - corner_x - cx, ctx.y - P.MOUTH_Y - cy, rx, ry, core=0.15)


def mouth_targets(ctx: MorphContext) -> dict[str, np.ndarray]:
    """jaw*, mouth* (left versions of one-sided shapes) and tongueOut."""
    m = Mouth(ctx)
    x, rest = ctx.x, ctx.rest
    out: dict[str, np.ndarray] = {}
    jaw_open = m.jaw_open()
    out["jawOpen"] = jaw_open
    out["jawForward"] = m.jaw_motion(rest + [0.0, 0.0, JAW_FORWARD_MM])
    out["jawLeft"] = m.jaw_motion(rest + [JAW_SIDE_MM, 0.0, 0.0])
    out["mouthClose"] = m.lips_toward_each_other(jaw_open)

    lips = np.clip(m.upper_lip + m.lower_lip, 0.0, 1.0)
    rim = np.zeros(len(rest))
    rim[np.concatenate([ctx.mesh.head.mouth.upper_rim, ctx.mesh.head.mouth.lower_rim])] = 1.0
    round_up = m.opening * fade(m.dy_up, 14.0) * ctx.face * m.up
    round_low = m.opening * fade(m.dy_low, 16.0) * ctx.face * m.low

    funnel = ctx.zeros()
    funnel[:, 0] = -0.22 * x * m.around_mouth
    funnel[:, 1] = 3.5 * round_up - 4.5 * round_low  # an open, round mouth
    funnel[:, 2] = 7.0 * m.around_mouth + 1.5 * lips * rim + 1.0 * lips
    funnel[ctx.ids("mouth_cavity"), 2] = 3.0  # keep the dark behind the lips as they push out
    out["mouthFunnel"] = funnel

    pucker = ctx.zeros()
    pucker[:, 0] = -0.38 * x * m.around_mouth
    pucker[:, 1] = m.opening * (-0.6 * fade(m.dy_up, 6.0) * m.up + 0.6 * fade(m.dy_low, 6.0) * m.low)  # lips tight
    pucker[:, 2] = 8.0 * m.around_mouth + 3.0 * lips
    pucker[ctx.ids("mouth_cavity"), 2] = 3.0
    out["mouthPucker"] = pucker

    shift = ctx.zeros()
    shift[:, 0] = 9.0 * ctx.face * ellipse_fade(x, ctx.y - P.MOUTH_Y, 50.0, 32.0, core=0.35)
    out["mouthLeft"] = shift

    cheek = ctx.face * ellipse_fade(x - 38.0, ctx.y + 30.0, 18.0, 14.0)
    smile = np.outer(m.corner(rx=24.0, ry=20.0), [4.0, 7.0, -3.5])
    smile[:, 1] += 2.0 * cheek
    smile[:, 2] += 2.5 * cheek
    out["mouthSmileLeft"] = smile
    out["mouthFrownLeft"] = np.outer(m.corner(rx=20.0, ry=18.0), [-1.0, -6.0, -1.0])
    out["mouthDimpleLeft"] = np.outer(m.corner(cx=1.0, rx=16.0, ry=14.0), [2.5, 0.5, -4.0])
    stretch = np.outer(m.corner(rx=26.0, ry=24.0), [6.0, -4.0, -1.5])
    out["mouthStretchLeft"] = stretch

    roll_low, roll_up = ctx.zeros(), ctx.zeros()
    reach_low = np.clip(m.dy_low / 9.0, 0.0, 1.2)
    reach_up = np.clip(m.dy_up / 8.0, 0.0, 1.2)
    # Only the red of the lip turns in; the skin beyond it stays in front of the teeth.
    red_low = m.lower_lip * fade(np.maximum(m.dy_low - lower_lip_height_mm(x), 0.0), 3.0)
    red_up = m.upper_lip * fade(np.maximum(m.dy_up - upper_lip_height_mm(x), 0.0), 3.0)
    roll_low[:, 1], roll_low[:, 2] = 3.0 * red_low * reach_low, -3.5 * red_low
    roll_up[:, 1], roll_up[:, 2] = -2.5 * red_up * reach_up, -3.0 * red_up
    out["mouthRollLower"], out["mouthRollUpper"] = roll_low, roll_up

    chin_up = ctx.face * m.low * fade(m.dy_low, 32.0) * fade(x, 36.0)
    lip_up = ctx.face * m.up * fade(m.dy_up, 20.0) * fade(x, 34.0)
    shrug_low, shrug_up = ctx.zeros(), ctx.zeros()
    shrug_low[:, 1], shrug_low[:, 2] = 4.0 * chin_up + 1.5 * lip_up * fade(m.dy_up, 8.0), 1.5 * chin_up
    shrug_up[:, 1], shrug_up[:, 2] = 3.0 * lip_up, 1.0 * lip_up
    out["mouthShrugLower"], out["mouthShrugUpper"] = shrug_low, shrug_up

    left_half = smoothstep(-12.0, 15.0, x)  # left and right halves sum to the whole lip
    press = ctx.zeros()
    press[:, 1] = (-1.5 * m.upper_lip + 1.5 * m.lower_lip) * left_half
    press[:, 2] = -1.2 * lips * left_half
    out["mouthPressLeft"] = press
    lower_down, upper_up = ctx.zeros(), ctx.zeros()
    lower_down[:, 1] = -6.0 * ctx.face * m.low * fade(m.dy_low, 18.0) * fade(x, 34.0) * left_half
    lower_down[:, 2] = -0.5 * ctx.face * m.low * fade(m.dy_low, 18.0) * fade(x, 34.0) * left_half
    upper_up[:, 1] = 5.0 * lip_up * fade(m.dy_up, 16.0) * left_half
    upper_up[:, 2] = 1.0 * lip_up * left_half
    out["mouthLowerDownLeft"], out["mouthUpperUpLeft"] = lower_down, upper_up

    out["tongueOut"] = _tongue_out(ctx) + 0.45 * jaw_open  # the jaw parts to let the tongue through
    return out


def _tongue_out(ctx: MorphContext) -> np.ndarray:
    """The tongue slides forward past the lips, its tip reaching furthest and dipping a little."""
    ids = ctx.ids("tongue")
    p = ctx.rest[ids]
    tip = smoothstep(p[:, 2].min(), p[:, 2].max(), p[:, 2])  # 0 at the root, 1 at the tip
    delta = ctx.zeros()
    delta[ids, 2] = 8.0 + 16.0 * tip
    delta[ids, 1] = 3.0 * tip  # the tip lifts over the lower lip
    delta[ids, 0] = -0.15 * p[:, 0] * tip  # narrower as it stretches
    return delta
