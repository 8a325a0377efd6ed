"""Eye morph targets for the subject's LEFT eye (+X): blink, gaze, squint, wide.

The lids are rotated about the eyeball centre, so they slide over the eyeball instead of
cutting through it; each grid column of the lid turns by the angle that brings its margin to
where the lids meet. The right eye's targets are mirror images (see :mod:`.morphs`).
"""
from __future__ import annotations

import numpy as np

from dtsdk.rigs.dtface.context import MorphContext
from dtsdk.rigs.dtface.falloff import ellipse_fade, fade, rotate_x, rotate_y
from dtsdk.rigs.dtface import proportions as P

GAZE_UP_RAD, GAZE_DOWN_RAD, GAZE_SIDE_RAD = 0.35, 0.40, 0.45  # 20, 23, 26 degrees
UPPER_LID_REACH_MM, LOWER_LID_REACH_MM = 13.0, 9.0  # how far above/below the margin the lid skin follows
LIDS_MEET_AT = 0.3  # lids meet 30% of the way from the lower margin to the upper one


def _elevation(points, center):
    return np.arctan2(points[:, 1] - center[1], points[:, 2] - center[2])


class LeftEye:
    def __init__(self, ctx: MorphContext):
        self.ctx = ctx
        self.center = ctx.mesh.eyeball_centers["left"]
        slit = ctx.mesh.head.eye_left
        rest = ctx.rest
        up_el, low_el = _elevation(rest[slit.upper_rim], self.center), _elevation(rest[slit.lower_rim], self.center)
        meet = low_el + LIDS_MEET_AT * (up_el - low_el)
        # Per-vertex closing angle: positive turns down. Upper lid vertices close by (up - meet), lower by (low - meet).
        close_up = ctx.per_column(slit.columns, up_el - meet)
        close_low = ctx.per_column(slit.columns, low_el - meet)
        dy = ctx.y - P.EYE_Y
        self.upper_lid = (ctx.lid_side > 0) * fade(dy, UPPER_LID_REACH_MM) * (ctx.x > 0)  # (V,) weight
        self.lower_lid = (ctx.lid_side < 0) * fade(dy, LOWER_LID_REACH_MM) * (ctx.x > 0)
        self.blink_angle = close_up * self.upper_lid + close_low * self.lower_lid  # (V,) rad
        self.columns_open = ctx.per_column(slit.columns, np.ones(len(slit.columns))) > 0

    def lid_turn(self, upper_rad, lower_rad) -> np.ndarray:
        """Turn the lids about the eyeball centre; positive closes the upper lid / opens the lower one."""
        angle = upper_rad * self.upper_lid + lower_rad * self.lower_lid
        angle = angle * self.columns_open  # only lid skin above/below the opening moves
        return rotate_x(self.ctx.rest, self.center[1:], angle) - self.ctx.rest

    def blink(self) -> np.ndarray:
        return rotate_x(self.ctx.rest, self.center[1:], self.blink_angle) - self.ctx.rest

    def gaze(self, pitch_rad: float = 0.0, yaw_rad: float = 0.0) -> np.ndarray:
        """Rotate the eyeball: pitch > 0 looks down, yaw > 0 looks toward +X."""
        ids = self.ctx.ids("eyeball_left")
        p = self.ctx.rest[ids]
        turned = rotate_y(rotate_x(p, self.center[1:], pitch_rad), self.center[[0, 2]], yaw_rad)
        delta = self.ctx.zeros()
        delta[ids] = turned - p
        return delta

    def squint_cheek(self) -> np.ndarray:
        """The cheek under the eye bunches up when squinting."""
        ctx, delta = self.ctx, self.ctx.zeros()
        w = ellipse_fade(ctx.x - P.EYE_X - 4.0, ctx.y - (P.EYE_Y - 14.0), 20.0, 12.0, core=0.2) * ctx.face
        delta[:, 1] = 2.5 * w
        delta[:, 2] = 1.0 * w
        return delta


def left_eye_targets(ctx: MorphContext) -> dict[str, np.ndarray]:
    eye = LeftEye(ctx)
    blink = eye.blink()
    # Half the blink turn per lid: squint lifts the lower lid and lowers the upper a little.
    return {
        "eyeBlinkLeft": blink,
        "eyeLookDownLeft": eye.gaze(pitch_rad=GAZE_DOWN_RAD) + eye.lid_turn(0.22, 0.12),
        "eyeLookUpLeft": eye.gaze(pitch_rad=-GAZE_UP_RAD) + eye.lid_turn(-0.15, -0.08),
        "eyeLookInLeft": eye.gaze(yaw_rad=-GAZE_SIDE_RAD),  # toward the nose (-X for the left eye)
        "eyeLookOutLeft": eye.gaze(yaw_rad=GAZE_SIDE_RAD),
        "eyeSquintLeft": _scaled_blink(eye, upper=0.15, lower=0.55) + eye.squint_cheek(),
        "eyeWideLeft": eye.lid_turn(-0.32, 0.08),
    }


def _scaled_blink(eye: LeftEye, upper: float, lower: float) -> np.ndarray:
    ctx = eye.ctx
    angle = eye.blink_angle * np.where(ctx.lid_side > 0, upper, lower)
    return rotate_x(ctx.rest, eye.center[1:], angle) - ctx.rest
