"""What every rig must satisfy: valid arrays, and the conventions the SDK relies on.

dtsdk assumes millimetres, +Y up, the face looking toward +Z (so +X is the subject's left, where
ARKit's ``...Left`` shapes act), triangles wound counter-clockwise seen from outside, and ``lips`` /
``upper_face`` regions where the metrics expect them. A rig that breaks one of these still decodes,
so nothing fails loudly; the metrics and retargeting are quietly wrong instead. Each check below
measures one convention on the rig itself (mostly by driving it with one ARKit shape at a time
through its ``arkit_map``, as every ARKit animation does) and says what is wrong and how to fix it.

Checks that cannot apply to a rig skip with the reason: a motion space (``arkit52``) has no mesh,
a vertex rig has no shapes.
"""
from __future__ import annotations

import numpy as np
import pytest

from dtsdk.animation import Animation
from dtsdk.rigs import ARKIT52, Rig, get_rig

# A head (or a face mask) is this many millimetres across, along its largest bounding-box side.
HEAD_EXTENT_MM = (50.0, 500.0)
# A shape "moves" the mesh when some vertex moves more than this at weight 1.
MOVES_MM = 0.1
# jawOpen at weight 1 opens a mouth by at least this much.
JAW_OPEN_MIN_MM = 1.0
# "Almost still": the other region moves at most this fraction of what the shape's own region moves.
STILL_FRACTION = 0.5

LIP_SHAPES = ("jawOpen",) + tuple(n for n in ARKIT52 if n.startswith("mouth"))
BROW_SHAPES = tuple(n for n in ARKIT52 if n.startswith("brow"))
# Shapes that move toward a side rather than move one side: their displacement points along +X.
SIDEWAYS_SHAPES = ("jawLeft", "mouthLeft", "jawRight", "mouthRight")
METRIC_REGIONS = ("lips", "upper_face")


def arkit_shape_motion_mm(rig: Rig) -> np.ndarray:
    """Vertex offsets ``(52, V, 3)`` in mm of each ARKit shape at weight 1, through ``rig.arkit_map``."""
    return rig.decode(rig.from_arkit(np.eye(52, dtype=np.float32))) - rig.template_mm[None]


def front_view_normal_z(template_mm: np.ndarray, faces: np.ndarray, cells: int = 64) -> np.ndarray:
    """The z component of the unit normal of each triangle a camera on the +Z axis sees, ``(n,)``.

    An orthographic view along -Z split into ``cells`` x ``cells`` bins; in each bin the triangle
    whose centroid is nearest the camera counts as visible (coarse, but what matters is the average).
    """
    a, b, c = (template_mm[faces[:, k]].astype(np.float64) for k in range(3))
    normals = np.cross(b - a, c - a)  # (F, 3), counter-clockwise seen from outside points outward
    length = np.linalg.norm(normals, axis=1)
    centroids = (a + b + c) / 3.0
    lo = template_mm[:, :2].min(0)
    size = max(float((template_mm[:, :2].max(0) - lo).max()) / cells, 1e-12)
    ij = np.clip(np.floor((centroids[:, :2] - lo) / size).astype(np.int64), 0, cells - 1)
    cell = ij[:, 0] * cells + ij[:, 1]
    order = np.lexsort((centroids[:, 2], cell))  # by bin, nearest the camera last
    nearest = order[np.r_[cell[order][1:] != cell[order][:-1], True]]
    nearest = nearest[length[nearest] > 0]
    return normals[nearest, 2] / length[nearest]


class RigContract:
    """Set ``rig_name``; override ``make_rig`` to test a rig that is not registered.

    Set ``has_metric_regions = False`` for a rig that is not meant for evaluation (a
    ``Rig.from_gltf`` avatar has no regions): the checks that need ``lips`` and ``upper_face`` then
    skip, saying so, instead of failing.
    """

    rig_name: str = ""
    has_metric_regions: bool = True

    def make_rig(self) -> Rig:
        return get_rig(self.rig_name)

    # ---- what applies to this rig ---------------------------------------------------------------
    def _mesh_rig(self) -> Rig:
        rig = self.make_rig()
        if not rig.has_mesh:
            pytest.skip(f"rig '{rig.name}' is a {rig.kind} space without a mesh")
        return rig

    def _blendshape_rig(self) -> Rig:
        rig = self._mesh_rig()
        if rig.kind != "blendshape":
            pytest.skip(f"rig '{rig.name}' is a {rig.kind} rig: its channels are not shapes")
        return rig

    def _regions(self, rig: Rig) -> tuple[np.ndarray, np.ndarray]:
        if not self.has_metric_regions:
            pytest.skip(f"rig '{rig.name}' declares has_metric_regions = False (not meant for evaluation)")
        missing = [r for r in METRIC_REGIONS if np.asarray(rig.regions.get(r, ())).size == 0]
        assert not missing, (f"rig '{rig.name}' has no {' or '.join(repr(r) for r in missing)} region; "
                             "pass regions={'lips': ..., 'upper_face': ...} (vertex indices)")
        return rig.regions["lips"], rig.regions["upper_face"]

    # ---- arrays ---------------------------------------------------------------------------------
    def test_is_a_valid_rig(self):
        rig = self.make_rig()
        assert isinstance(rig, Rig), f"make_rig() returned {type(rig).__name__}, not a dtsdk.rigs.Rig"
        rig.validate()
        assert rig.motion_dim > 0, f"rig '{rig.name}' has no motion channels"

    def test_arrays_have_no_nan_or_inf(self):
        rig = self.make_rig()
        arrays = {"template_mm": rig.template_mm, "deltas_mm": rig.deltas_mm, "arkit_map": rig.arkit_map}
        bad = {k: int((~np.isfinite(a)).sum()) for k, a in arrays.items() if a is not None}
        bad = {k: n for k, n in bad.items() if n}
        assert not bad, (f"rig '{rig.name}': NaN or Inf in " + ", ".join(f"{k} ({n} values)" for k, n in bad.items())
                         + "; every decoded frame that touches them is NaN: fix the source data")

    def test_mesh_has_no_degenerate_triangles(self):
        rig = self._mesh_rig()
        v, f = rig.template_mm, rig.faces
        assert len(f) > 0, f"rig '{rig.name}' has a mesh without triangles"
        area2 = np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
        bad = np.flatnonzero(area2 <= 1e-9)
        assert bad.size == 0, (f"rig '{rig.name}': {bad.size} triangles have zero area (first: faces[{bad[0]}] = "
                               f"{f[bad[0]].tolist()}); remove them, they have no normal to shade")

    def test_regions_are_vertex_index_arrays_inside_the_mesh(self):
        rig = self._mesh_rig()
        if not rig.regions:
            pytest.skip(f"rig '{rig.name}' names no regions")
        for name, idx in rig.regions.items():
            idx = np.asarray(idx)
            fix = f"pass np.flatnonzero(mask) as regions['{name}'], not the mask itself"
            assert idx.dtype != bool, f"rig '{rig.name}': region '{name}' is a boolean mask; {fix}"
            assert idx.dtype.kind in "iu", (f"rig '{rig.name}': region '{name}' has dtype {idx.dtype}; regions are "
                                            "integer vertex indices")
            assert idx.ndim == 1 and idx.size > 0, (f"rig '{rig.name}': region '{name}' must be a non-empty 1-D "
                                                    f"array of vertex indices, got shape {idx.shape}")
            assert idx.min() >= 0 and idx.max() < rig.num_vertices, (
                f"rig '{rig.name}': region '{name}' indexes vertex {int(idx.max())} of a mesh with "
                f"{rig.num_vertices} vertices")
            distinct = np.unique(idx)
            if distinct.size < idx.size and set(distinct.tolist()) <= {0, 1}:
                raise AssertionError(f"rig '{rig.name}': region '{name}' holds only the indices 0 and 1, "
                                     f"{idx.size} times: it looks like a boolean mask turned into indices; {fix}")
            assert distinct.size == idx.size, (f"rig '{rig.name}': region '{name}' repeats "
                                               f"{idx.size - distinct.size} vertex indices; pass each vertex once")

    def test_metric_regions_exist_for_mesh_rigs(self):
        rig = self._mesh_rig()
        self._regions(rig)

    # ---- conventions: units, winding, facing ---------------------------------------------------
    def test_template_is_head_sized_in_millimetres(self):
        rig = self._mesh_rig()
        extent = float((rig.template_mm.max(0) - rig.template_mm.min(0)).max())
        lo, hi = HEAD_EXTENT_MM
        if not lo <= extent <= hi:
            if lo <= extent * 1000 <= hi:
                hint = "it looks like metres: multiply template_mm and deltas_mm by 1000"
            elif lo <= extent * 10 <= hi:
                hint = "it looks like centimetres: multiply template_mm and deltas_mm by 10"
            else:
                hint = "scale template_mm and deltas_mm to millimetres"
            raise AssertionError(f"rig '{rig.name}': the template is {extent:.4g} mm across, not a head "
                                 f"({lo:g}-{hi:g} mm); dtsdk works in millimetres, {hint}")
        if rig.deltas_mm is not None:
            biggest = float(np.linalg.norm(rig.deltas_mm, axis=2).max())
            assert biggest <= extent, (f"rig '{rig.name}': a shape moves a vertex {biggest:.4g} mm on a head "
                                       f"{extent:.4g} mm across; are deltas_mm in another unit than template_mm?")

    def test_triangles_wind_outward(self):
        rig = self._mesh_rig()
        nz = front_view_normal_z(rig.template_mm, rig.faces)
        assert nz.size > 0, f"rig '{rig.name}': no triangle is visible from +Z"
        away = float((nz < 0).mean())
        assert float(nz.mean()) > 0.2, (
            f"rig '{rig.name}': seen from +Z, {100 * away:.0f}% of the visible triangles face away from the "
            "camera, so the mesh is wound inward (clockwise seen from outside) and glTF viewers cull it; "
            "reverse every triangle (faces[:, ::-1]), or turn the mesh if it is seen from behind")

    def test_face_looks_toward_plus_z_with_y_up(self):
        rig = self._mesh_rig()
        v = rig.template_mm
        jaw = None
        if rig.kind == "blendshape":
            jaw = arkit_shape_motion_mm(rig)[ARKIT52.index("jawOpen")]  # (V, 3)
            if np.linalg.norm(jaw, axis=1).max() < MOVES_MM:
                jaw = None
        if jaw is not None:
            weight = np.linalg.norm(jaw, axis=1)  # where jawOpen moves the mesh: the mouth
            mouth = (weight[:, None] * v).sum(0) / weight.sum()
            what = "where jawOpen moves the mesh"
        elif np.asarray(rig.regions.get("lips", ())).size:
            mouth, what = v[rig.regions["lips"]].mean(0), "the 'lips' region"
        else:
            pytest.skip(f"rig '{rig.name}': neither jawOpen nor a 'lips' region says where the mouth is")
        z_lo, z_hi = float(v[:, 2].min()), float(v[:, 2].max())
        depth = (float(mouth[2]) - z_lo) / max(z_hi - z_lo, 1e-9)
        assert depth > 0.5, (
            f"rig '{rig.name}': the mouth ({what}) is at z = {mouth[2]:.1f} mm, in the back part of a head that "
            f"spans z = {z_lo:.1f}..{z_hi:.1f} mm; the face must look toward +Z (glTF's convention): "
            "rotate the mesh (and deltas_mm) 180 degrees about Y, or -90 degrees about X if it is Z-up")
        if jaw is not None:
            weight = np.linalg.norm(jaw, axis=1)
            down = float((weight * jaw[:, 1]).sum() / (weight**2).sum())  # mean of dy / |d|, weighted by |d|
            assert down < -0.3, (
                f"rig '{rig.name}': jawOpen moves the mouth {'up' if down > 0.3 else 'sideways or along Z'} "
                f"(mean direction dy = {down:+.2f}), not down; +Y must be up: rotate a Z-up mesh -90 degrees about X")

    # ---- decoding ---------------------------------------------------------------------------------
    def test_zero_motion_decodes_to_the_template(self):
        rig = self._mesh_rig()
        verts = rig.decode(np.zeros((3, rig.motion_dim), np.float32))
        assert verts.shape == (3, rig.num_vertices, 3), f"decode gave shape {verts.shape}"
        np.testing.assert_allclose(verts[1], rig.template_mm, atol=1e-6, err_msg="zero motion must give the template")

    def test_decode_is_linear_in_the_weights(self):
        rig = self._blendshape_rig()
        rng = np.random.default_rng(0)
        a, b = rng.uniform(0, 1, (2, 1, rig.motion_dim)).astype(np.float32)
        base = rig.template_mm
        va, vb, vab = (rig.decode(w)[0] - base for w in (a, b, a + b))
        np.testing.assert_allclose(vab, va + vb, atol=1e-3, err_msg="blendshape offsets must add up")

    def test_every_blendshape_moves_some_vertex(self):
        rig = self._blendshape_rig()
        moved = np.abs(rig.deltas_mm).reshape(len(rig.shape_names), -1).max(axis=1)
        still = [n for n, m in zip(rig.shape_names, moved) if m < 1e-4]
        assert not still, f"rig '{rig.name}': shapes that move nothing: {still}; drop them or fill in their deltas"

    # ---- ARKit-52 drives the rig -------------------------------------------------------------------
    def test_arkit_animation_drives_the_rig(self):
        rig = self.make_rig()
        if rig.kind == "vertex":
            pytest.skip(f"rig '{rig.name}' is a vertex rig: ARKit animations do not retarget onto it")
        assert rig.arkit_map is not None and rig.arkit_map.shape == (len(rig.shape_names), 52), (
            f"rig '{rig.name}': arkit_map must be ({len(rig.shape_names)}, 52)")
        assert np.abs(rig.arkit_map).sum() > 0, (f"rig '{rig.name}': no shape maps from ARKit-52; name the shapes "
                                                 "after ARKit's or pass arkit_map")
        anim = Animation(np.full((4, 52), 0.5, np.float32), ARKIT52, 30.0)
        retargeted = anim.to_rig(rig)
        assert retargeted.weights.shape == (4, len(rig.shape_names)), "retargeting gave the wrong channel count"
        if rig.has_mesh:
            verts = anim.to_vertices(rig)
            assert verts.shape == (4, rig.num_vertices, 3) and np.isfinite(verts).all(), (
                "an ARKit animation decoded on the rig is not finite (V, 3) vertices")

    def test_arkit_map_drives_the_jaw_and_lips(self):
        rig = self.make_rig()
        if rig.kind == "vertex":
            pytest.skip(f"rig '{rig.name}' is a vertex rig: it has no ARKit map")
        fix = ("speech would not move this rig: fill the arkit_map columns of jawOpen and the mouth shapes "
               "(rows: your shapes, columns: ARKit-52 in Apple's order)")
        if not rig.has_mesh:
            column = np.abs(rig.arkit_map).sum(0)  # (52,) how much each ARKit shape feeds
            assert column[ARKIT52.index("jawOpen")] > 0, f"rig '{rig.name}': ARKit jawOpen feeds no shape; {fix}"
            lips = [n for n in LIP_SHAPES[1:] if column[ARKIT52.index(n)] > 0]
            assert lips, f"rig '{rig.name}': no ARKit mouth shape feeds any shape; {fix}"
            return
        moved = np.linalg.norm(arkit_shape_motion_mm(rig), axis=2).max(1)  # (52,) mm
        jaw = float(moved[ARKIT52.index("jawOpen")])
        assert jaw > 0, f"rig '{rig.name}': ARKit jawOpen moves nothing; {fix}"
        assert jaw >= JAW_OPEN_MIN_MM, (f"rig '{rig.name}': ARKit jawOpen at weight 1 opens the mouth by only "
                                        f"{jaw:.3g} mm (less than {JAW_OPEN_MIN_MM:g} mm): are deltas_mm in metres? "
                                        "dtsdk works in millimetres")
        lips = [n for n in LIP_SHAPES[1:] if moved[ARKIT52.index(n)] >= MOVES_MM]
        assert lips, f"rig '{rig.name}': no ARKit mouth shape (mouthClose, mouthPucker, ...) moves the mesh; {fix}"

    # ---- regions and sides, measured by driving the rig ------------------------------------------
    def _check_shapes_move_region(self, names, target: str, other: str) -> None:
        rig = self._blendshape_rig()
        regions = dict(zip(METRIC_REGIONS, self._regions(rig)))
        motion = np.linalg.norm(arkit_shape_motion_mm(rig), axis=2)  # (52, V) mm
        problems, checked = [], 0
        for name in names:
            d = motion[ARKIT52.index(name)]
            if d.max() < MOVES_MM:
                continue  # the rig does not use this shape
            checked += 1
            own, rest = float(d[regions[target]].max()), float(d[regions[other]].max())
            if own < 0.5 * d.max():
                instead = f", and the '{other}' region {rest:.3g} mm" if rest >= 0.5 * d.max() else ""
                problems.append(f"{name} moves the mesh {d.max():.3g} mm but the '{target}' region only "
                                f"{own:.3g} mm{instead}")
            elif rest > STILL_FRACTION * own:
                problems.append(f"{name} moves the '{other}' region {rest:.3g} mm, as much as the '{target}' "
                                f"region ({own:.3g} mm)")
        if not checked:
            pytest.skip(f"rig '{rig.name}': no ARKit shape among {names[0]}... moves the mesh")
        more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
        assert not problems, (f"rig '{rig.name}': " + "; ".join(problems[:3]) + more
                              + f". The '{target}' region must be the vertices these shapes move, and '{other}' "
                              "must hold still for them: check that the two regions are not swapped, not placed on "
                              "another part of the head, and given as vertex indices")

    def test_jaw_and_lip_shapes_move_the_lips_and_not_the_upper_face(self):
        self._check_shapes_move_region(LIP_SHAPES, "lips", "upper_face")

    def test_brow_shapes_move_the_upper_face_and_not_the_lips(self):
        self._check_shapes_move_region(BROW_SHAPES, "upper_face", "lips")

    def test_left_shapes_act_on_the_subjects_left(self):
        rig = self._blendshape_rig()
        offsets = arkit_shape_motion_mm(rig)  # (52, V, 3)
        x = rig.template_mm[:, 0]
        mid = 0.5 * float(x.min() + x.max())
        margin = 0.01 * float(x.max() - x.min())  # vertices on the midline count for neither side
        plus, minus = x > mid + margin, x < mid - margin
        wrong, checked = [], 0
        for name in ARKIT52:
            side = +1 if name.endswith("Left") else -1 if name.endswith("Right") else 0
            d = offsets[ARKIT52.index(name)]
            size = np.linalg.norm(d, axis=1)
            if side == 0 or size.max() < MOVES_MM:
                continue
            if name in SIDEWAYS_SHAPES:  # jawLeft moves the jaw toward the subject's left: +X
                lean = float((size * d[:, 0]).sum() / (size**2).sum())
            else:  # eyeBlinkLeft moves the subject's left eye, on the +X side
                lean = float((size[plus].sum() - size[minus].sum()) / size.sum())
            if abs(lean) < 0.2:
                continue  # symmetric on this rig (one "Smile" for both sides): nothing to tell
            checked += 1
            if np.sign(lean) != side:
                wrong.append(name)
        if not checked:
            pytest.skip(f"rig '{rig.name}': no ARKit Left/Right shape moves one side more than the other")
        assert not wrong, (
            f"rig '{rig.name}': {', '.join(wrong[:6])}{' ...' if len(wrong) > 6 else ''} act on the wrong side. "
            "+X is the subject's left (the face looks toward +Z) and ARKit's ...Left shapes act there: swap "
            "the Left and Right shapes (or their arkit_map rows), or mirror the mesh if it is built for -X")
