"""The skin of the dtface head: one quad grid wrapped around the skull, face and neck.

Rows are horizontal slices at fixed heights (dense over the face, coarse over the skull and
neck); columns run around each slice, dense at the front. Facial relief (nose, brows, lips,
chin, eye sockets) is added as forward (+Z) displacement of the front of the grid. The mouth
and the two eyes are slits cut along one grid row: the rim vertices of the slit are duplicated,
so the lower copy can move away from the upper one (an opening) while the corners stay shared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtsdk.rigs.dtface import proportions as P
from dtsdk.rigs.dtface.falloff import bump, ellipse_fade, fade, smoothstep

LID_CLEARANCE_MM = 1.0  # lids ride this far outside the eyeball
NUM_COLUMNS = 80  # must be even so the grid is mirror symmetric about x = 0
ROWS_BETWEEN_EYE_AND_MOUTH = 26
FACE_ROWS_ABOVE_EYE = 12
FACE_ROWS_BELOW_MOUTH = 19
SKULL_ROWS = 16
NECK_ROW_HEIGHTS = (-107.5, -111.5, -116.0, -122.0, -130.0, -142.0, -158.0, -178.0, P.NECK_BOTTOM_Y)

# Below the brow the head is not an ellipsoid; (y, side half-width, front depth, back depth) in mm.
_LOWER_PROFILE = np.array([
    (30.0, 75.0, 93.0, 100.0),
    (10.0, 74.0, 91.0, 98.0),
    (-15.0, 72.0, 90.0, 92.0),
    (-40.0, 68.0, 88.0, 82.0),
    (-60.0, 63.0, 86.0, 72.0),
    (-80.0, 56.0, 82.0, 64.0),
    (-95.0, 50.0, 74.0, 60.0),
    (-103.0, 50.0, 58.0, 60.0),
    (-110.0, 52.0, 40.0, 62.0),
    (-125.0, 52.0, 36.0, 64.0),
    (P.NECK_BOTTOM_Y, 54.0, 42.0, 68.0),
])
_SKULL_CENTER_Y, _SKULL_HALF_HEIGHT = 30.0, P.CROWN_Y - 30.0
_SKULL_AXES = (75.0, 93.0, 100.0)  # side, front, back


@dataclass
class Slit:
    """One slit cut along a grid row. Rims run from the -X corner to the +X corner, corners shared."""

    upper_rim: np.ndarray  # (n,) vertex ids: upper lip inner contour / upper lid margin
    lower_rim: np.ndarray  # (n,) vertex ids: lower lip inner contour / lower lid margin
    columns: np.ndarray  # (n,) grid column of each rim position
    x_mm: np.ndarray  # (n,) x of each rim position


@dataclass
class HeadSurface:
    vertices: np.ndarray  # (V, 3) float64 mm
    faces: np.ndarray  # (F, 3) int64, counter-clockwise seen from outside
    mirror: np.ndarray  # (V,) index of the vertex mirrored in x
    grid_row: np.ndarray  # (V,) row of each vertex (-1: crown / neck cap centres)
    grid_col: np.ndarray  # (V,) column of each vertex (-1: cap centres)
    design_xy: np.ndarray  # (V, 2) x, y before the lips and lids were parted (for masks)
    lip_side: np.ndarray  # (V,) +1 above the mouth slit, -1 below it
    lid_side: np.ndarray  # (V,) +1 above the eye slits, -1 below them
    mouth: Slit
    eye_left: Slit  # the subject's left eye, +X
    eye_right: Slit
    eyeball_center_left: np.ndarray  # (3,) mm
    eye_row: int
    mouth_row: int


def row_heights() -> tuple[np.ndarray, int, int]:
    """Heights of the grid rows, top to bottom, and the row indices of the eye and mouth slits."""
    step = (P.EYE_Y - P.MOUTH_Y) / ROWS_BETWEEN_EYE_AND_MOUTH
    k = np.arange(-FACE_ROWS_ABOVE_EYE, ROWS_BETWEEN_EYE_AND_MOUTH + FACE_ROWS_BELOW_MOUTH + 1)
    face = P.EYE_Y - step * k
    # Skull rows: elevation on the skull ellipsoid, small steps near the forehead growing toward the crown.
    el0 = np.arcsin((face[0] - _SKULL_CENTER_Y) / _SKULL_HALF_HEIGHT)
    t = (np.arange(1, SKULL_ROWS + 1) / (SKULL_ROWS + 1)) ** 1.4
    skull = _SKULL_CENTER_Y + _SKULL_HALF_HEIGHT * np.sin(el0 + (np.pi / 2 - el0) * t)
    rows = np.concatenate([skull[::-1], face, np.asarray(NECK_ROW_HEIGHTS)])
    eye_row = len(skull) + FACE_ROWS_ABOVE_EYE
    return rows, eye_row, eye_row + ROWS_BETWEEN_EYE_AND_MOUTH


def column_angles(n: int = NUM_COLUMNS) -> np.ndarray:
    """(n,) angles around the head, 0 at the front, +pi/2 at +X; dense where the face is.

    Built for one half and mirrored so that column ``n - j`` is exactly the mirror of column ``j``.
    """
    theta = np.linspace(0.0, np.pi, 2049)
    density = np.maximum(np.cos(theta), 0.25)  # about constant x-spacing across the face
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(theta))])
    half = np.interp(np.linspace(0.0, cdf[-1], n // 2 + 1), cdf, theta)
    half[0], half[-1] = 0.0, np.pi
    return np.concatenate([half[:-1], -half[1:][::-1]])  # 0 .. pi, then -pi+ .. -0+


def head_profile(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cross-section of the bare head at heights ``y`` (R,): side half-width, front depth, back depth,
    front exponent."""
    y = np.asarray(y, dtype=np.float64)
    u = np.clip((y - _SKULL_CENTER_Y) / _SKULL_HALF_HEIGHT, -1.0, 1.0)
    ring = np.sqrt(1.0 - u * u)
    skull = [a * ring for a in _SKULL_AXES]
    # The lower table is smoothed a little so the jaw and chin have no kinks.
    fine_y = np.arange(P.NECK_BOTTOM_Y - 20.0, 50.0, 0.5)
    kernel = np.exp(-0.5 * (np.arange(-12, 13) * 0.5 / 3.0) ** 2)
    kernel /= kernel.sum()
    lower = []
    for col in (1, 2, 3):
        f = np.interp(fine_y, _LOWER_PROFILE[::-1, 0], _LOWER_PROFILE[::-1, col])
        f = np.convolve(np.pad(f, 12, mode="edge"), kernel, mode="valid")
        lower.append(np.interp(y, fine_y, f))
    above = smoothstep(20.0, 34.0, y)
    side, front, back = (above * s + (1.0 - above) * low for s, low in zip(skull, lower))
    # The front of the lower face narrows to the chin: a pointier cross-section there.
    exponent = 1.0 + 1.3 * smoothstep(-35.0, -100.0, y) * (1.0 - smoothstep(-104.0, -116.0, y))
    return side, front, back, exponent


def front_depth_mm(x, y):
    """z of the bare head's front surface at (x, y), before relief; x and y broadcast."""
    side, front, _, exponent = head_profile(np.atleast_1d(y))
    t = np.clip(np.abs(x) / side, 0.0, 1.0)
    return front * np.sqrt(1.0 - t * t) ** exponent


def face_relief_mm(x, y):
    """Forward displacement of the face (mm) at design coordinates (x, y); even in x."""
    ax, y = np.abs(np.asarray(x, dtype=np.float64)), np.asarray(y, dtype=np.float64)
    m = P.MOUTH_Y
    brow_ridge = 4.5 * np.exp(-(((y - P.BROW_Y - 1.0) / 7.0) ** 2)) * fade(ax, 62.0)
    sockets = -9.0 * bump((ax - P.EYE_X) / 18.0, (y - P.EYE_Y + 1.0) / 14.0)
    nose_height = np.interp(-y, -np.array([36.0, 26.0, 10.0, -10.0, -22.0, -27.0, -31.0, -35.0]),
                            [0.0, 4.0, 9.0, 17.0, 22.0, 18.0, 6.0, 0.0])
    nose_half_width = np.interp(-y, -np.array([30.0, 10.0, -10.0, -22.0, -30.0]), [8.0, 9.0, 11.0, 13.0, 12.0])
    nose = nose_height * np.clip(1.0 - (ax / nose_half_width) ** 2, 0.0, None) ** 1.5
    nostril_wings = 6.0 * bump((ax - 13.0) / 7.0, (y + 27.0) / 6.0)
    cheekbones = 5.0 * bump((ax - 45.0) / 22.0, (y + 10.0) / 16.0)
    upper_lip = 5.5 * np.exp(-(((y - (m + 3.5)) / 3.8) ** 2)) * fade(ax, 30.0)
    lower_lip = 5.0 * np.exp(-(((y - (m - 4.5)) / 4.5) ** 2)) * fade(ax, 30.0)
    lip_chin_crease = -2.5 * np.exp(-(((y - (m - 17.0)) / 4.0) ** 2)) * fade(ax, 28.0)
    chin = 5.0 * bump(ax / 22.0, (y + 90.0) / 12.0)
    muzzle = 4.0 * bump(ax / 34.0, (y - m + 2.0) / 26.0)  # the dental arch pushes the mouth forward
    mouth_corner_dimples = -1.5 * bump((ax - P.MOUTH_HALF_WIDTH - 2.0) / 5.0, (y - m) / 5.0)
    return (brow_ridge + sockets + nose + nostril_wings + cheekbones + upper_lip + lower_lip
            + lip_chin_crease + chin + muzzle + mouth_corner_dimples)


def _cut_slit(grid: np.ndarray, row: int, columns: np.ndarray, next_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids for the lower copies of ``grid[row, columns[1:-1]]`` (corners stay shared): (dup ids, originals)."""
    inner = columns[1:-1]
    return np.arange(next_id, next_id + len(inner)), grid[row, inner]


def _slit_columns(x_row: np.ndarray, cols_order: np.ndarray, x_from: float, x_to: float) -> np.ndarray:
    """Grid columns along a row (ordered by x) from the one nearest ``x_from`` to the one nearest ``x_to``."""
    xs = x_row[cols_order]
    i0, i1 = np.argmin(np.abs(xs - x_from)), np.argmin(np.abs(xs - x_to))
    return cols_order[i0:i1 + 1]


def build_head() -> HeadSurface:
    rows, eye_row, mouth_row = row_heights()
    theta = column_angles()
    n_rows, n_cols = len(rows), len(theta)
    side, front, back, exponent = head_profile(rows)
    s, c = np.sin(theta)[None, :], np.cos(theta)[None, :]
    x = side[:, None] * s
    depth = np.where(c > 0, front[:, None] * np.abs(c) ** exponent[:, None], back[:, None] * c)
    y = np.repeat(rows[:, None], n_cols, axis=1)
    frontness = smoothstep(0.05, 0.45, c)
    z = depth + frontness * face_relief_mm(x, y)
    grid_pos = np.stack([x, y, z], axis=-1).reshape(-1, 3)  # (R*N, 3)
    grid = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)

    # Columns of the front half ordered by x, to find slit corners.
    front_cols = np.flatnonzero(c[0] > 0)
    front_cols = front_cols[np.argsort(s[0, front_cols])]

    def slit_at(row, x_from, x_to):
        xs = x[row]
        cols = _slit_columns(xs, front_cols, x_from, x_to)
        return cols

    mouth_cols = slit_at(mouth_row, -P.MOUTH_HALF_WIDTH, P.MOUTH_HALF_WIDTH)
    eye_l_cols = slit_at(eye_row, P.EYE_X - P.EYE_HALF_WIDTH, P.EYE_X + P.EYE_HALF_WIDTH)
    eye_r_cols = slit_at(eye_row, -P.EYE_X - P.EYE_HALF_WIDTH, -P.EYE_X + P.EYE_HALF_WIDTH)

    positions = [grid_pos]
    rows_of = [np.repeat(np.arange(n_rows), n_cols)]
    cols_of = [np.tile(np.arange(n_cols), n_rows)]
    next_id = n_rows * n_cols
    lower_grid = grid.copy()  # the ids the band below a slit row uses
    slits = {}
    for name, row, cols in (("mouth", mouth_row, mouth_cols), ("eye_left", eye_row, eye_l_cols),
                            ("eye_right", eye_row, eye_r_cols)):
        dups, originals = _cut_slit(grid, row, cols, next_id)
        next_id += len(dups)
        lower_grid[row, cols[1:-1]] = dups
        positions.append(grid_pos[originals])
        rows_of.append(np.full(len(dups), row))
        cols_of.append(cols[1:-1])
        upper = grid[row, cols]
        lower = np.concatenate([[upper[0]], dups, [upper[-1]]])
        slits[name] = Slit(upper, lower, cols, x[row, cols])

    # Caps: one vertex on the crown, one closing the bottom of the neck.
    crown = next_id
    neck_center = next_id + 1
    positions.append(np.array([[0.0, P.CROWN_Y, 0.0], [0.0, rows[-1], 0.5 * (front[-1] - back[-1])]]))
    rows_of.append(np.array([-1, -1]))
    cols_of.append(np.array([-1, -1]))
    vertices = np.concatenate(positions)
    grid_row, grid_col = np.concatenate(rows_of), np.concatenate(cols_of)

    faces = _grid_faces(grid, lower_grid, crown, neck_center)
    design_xy = vertices[:, :2].copy()
    lip_side = np.where(grid_row == -1, 1, np.where(grid_row < mouth_row, 1, -1)).astype(np.int8)
    lid_side = np.where(grid_row == -1, 1, np.where(grid_row < eye_row, 1, -1)).astype(np.int8)
    for slit, is_mouth in ((slits["mouth"], True), (slits["eye_left"], False), (slits["eye_right"], False)):
        target = lip_side if is_mouth else lid_side
        target[slit.upper_rim] = 1
        target[slit.lower_rim[1:-1]] = -1

    mirror = _mirror_map(grid, slits, n_cols, crown, neck_center, len(vertices))
    head = HeadSurface(vertices, faces, mirror, grid_row, grid_col, design_xy, lip_side, lid_side,
                       slits["mouth"], slits["eye_left"], slits["eye_right"], np.zeros(3), eye_row, mouth_row)
    _part_the_lips(head)
    _open_the_eyes(head)
    # Exact symmetry: average each vertex with its mirror image (removes float noise from the construction).
    v = head.vertices
    v[:] = 0.5 * (v + v[head.mirror] * np.array([-1.0, 1.0, 1.0]))
    return head


def _grid_faces(grid, lower_grid, crown, neck_center) -> np.ndarray:
    n_rows, n_cols = grid.shape
    nxt = np.roll(np.arange(n_cols), -1)
    tl, tr = lower_grid[:-1], lower_grid[:-1][:, nxt]  # a band's top row: lower copies where a slit is cut
    bl, br = grid[1:], grid[1:][:, nxt]
    # Seen from outside, column index grows to the right and rows go down: (tl, bl, br) is counter-clockwise.
    quads = np.concatenate([np.stack([tl, bl, br], -1).reshape(-1, 3), np.stack([tl, br, tr], -1).reshape(-1, 3)])
    top = np.stack([np.full(n_cols, crown), grid[0], grid[0][nxt]], -1)
    bottom = np.stack([np.full(n_cols, neck_center), grid[-1][nxt], grid[-1]], -1)
    return np.concatenate([top, quads, bottom]).astype(np.int64)


def _mirror_map(grid, slits, n_cols, crown, neck_center, n_vertices) -> np.ndarray:
    mirror = np.empty(n_vertices, dtype=np.int64)
    mirror_col = (n_cols - np.arange(n_cols)) % n_cols
    mirror[grid.ravel()] = grid[:, mirror_col].ravel()
    mouth = slits["mouth"].lower_rim[1:-1]
    mirror[mouth] = mouth[::-1]  # rims run -X to +X, so reversing mirrors them
    left, right = slits["eye_left"].lower_rim[1:-1], slits["eye_right"].lower_rim[1:-1]
    mirror[left], mirror[right] = right[::-1], left[::-1]
    mirror[crown], mirror[neck_center] = crown, neck_center
    return mirror


def _part_the_lips(head: HeadSurface) -> None:
    """Open the mouth slit by a hair and tuck its rim in, so the lips read as two rolls with a dark line."""
    slit, v = head.mouth, head.vertices
    t = (slit.x_mm - 0.5 * (slit.x_mm[0] + slit.x_mm[-1])) / (0.5 * (slit.x_mm[-1] - slit.x_mm[0]))
    opening = np.clip(1.0 - t * t, 0.0, None)  # (n,) 1 mid-mouth, 0 at the corners
    v[slit.upper_rim, 1] += 0.5 * P.NEUTRAL_LIP_GAP * opening
    v[slit.lower_rim[1:-1], 1] -= 0.5 * P.NEUTRAL_LIP_GAP * opening[1:-1]
    for rim in (slit.upper_rim, slit.lower_rim[1:-1]):
        v[rim, 2] -= 2.5 * fade(v[rim, 0], 28.0)


def lid_profiles(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Upper-lid raise and lower-lid drop (mm) along an eye slit; ``t`` runs -1 (nasal corner) .. +1 (outer corner)."""
    inside = np.clip(1.0 - t * t, 0.0, None)
    upper = P.UPPER_LID_RAISE * inside ** 0.8 * (1.0 - 0.2 * t)  # highest point toward the nose
    lower = P.LOWER_LID_DROP * inside ** 0.9 * (1.0 + 0.2 * t)  # lowest point toward the temple
    return upper, lower


def _open_the_eyes(head: HeadSurface) -> None:
    """Raise the upper lids and drop the lower ones into an almond, then drape the lids over the eyeballs."""
    v, dxy = head.vertices, head.design_xy
    center_y = P.EYE_Y + 0.5
    socket_z = front_depth_mm(P.EYE_X, center_y)[0] + face_relief_mm(P.EYE_X, center_y)
    center_z = socket_z - P.EYEBALL_RADIUS + 2.5
    head.eyeball_center_left = np.array([P.EYE_X, center_y, center_z])
    for slit, sign in ((head.eye_left, 1.0), (head.eye_right, -1.0)):
        xc = 0.5 * (slit.x_mm[0] + slit.x_mm[-1])
        half = 0.5 * abs(slit.x_mm[-1] - slit.x_mm[0])
        # Each column of the grid carries the lid shift of the slit column it belongs to.
        t_col = np.full(head.grid_col.max() + 1, 2.0)
        t_col[slit.columns] = sign * (slit.x_mm - xc) / half  # + toward the temple on both eyes
        on_grid = head.grid_col >= 0
        t = np.where(on_grid, t_col[np.maximum(head.grid_col, 0)], 2.0)
        upper, lower = lid_profiles(t)
        dy = dxy[:, 1] - P.EYE_Y
        up_shift = upper * fade(dy, 11.0) * (head.lid_side > 0)
        down_shift = lower * fade(dy, 9.0) * (head.lid_side < 0)
        v[:, 1] += up_shift - down_shift
        # Drape: inside the opening's neighbourhood the lid lies on a sphere just outside the eyeball.
        ex, ey = v[:, 0] - sign * P.EYE_X, v[:, 1] - center_y
        lid_radius = P.EYEBALL_RADIUS + LID_CLEARANCE_MM
        hug_z = center_z + np.sqrt(np.clip(lid_radius ** 2 - ex ** 2 - ey ** 2, 0.0, None))
        ry = np.where(ey > 0, 10.0, 8.0)
        weight = ellipse_fade(ex, ey, P.EYE_HALF_WIDTH + 4.0, ry, core=0.6) * (v[:, 2] > 0)
        weight[np.concatenate([slit.upper_rim, slit.lower_rim])] = 1.0  # margins exactly on the lid sphere
        v[:, 2] = (1.0 - weight) * v[:, 2] + weight * hug_z
        # Skin in front of the eyeball never dips into it (the blend above can pull the socket inward).
        over_eye = (v[:, 2] > 0) & (ex ** 2 + ey ** 2 < lid_radius ** 2)
        v[over_eye, 2] = np.maximum(v[over_eye, 2], hug_z[over_eye])
