"""Rigs with the plain mistakes a plugin author makes, each derived from ``dtface`` by one small change.

Every one of them builds and decodes without an error; only the rig contract can tell that it is
wrong. ``WRONG_RIGS`` maps a name to a builder; ``tests/test_contracts.py`` checks that the contract
fails on each, with a message that names the mistake.
"""
from __future__ import annotations

import numpy as np

from dtsdk.rigs import ARKIT52, Rig, get_rig


def _from_dtface(name: str, **changes) -> Rig:
    base = get_rig("dtface")
    fields = dict(name=name, kind="blendshape", shape_names=base.shape_names, template_mm=base.template_mm,
                  faces=base.faces, deltas_mm=base.deltas_mm, regions=dict(base.regions),
                  arkit_map=base.arkit_map, part_ids=base.part_ids)
    fields.update(changes)
    return Rig(**fields)


def in_metres() -> Rig:
    """Exported from a DCC tool in metres: 0.3 units across instead of 300 mm."""
    base = get_rig("dtface")
    return _from_dtface("wrong-metres", template_mm=base.template_mm / 1000, deltas_mm=base.deltas_mm / 1000)


def wound_inward() -> Rig:
    """Every triangle wound clockwise seen from outside: the normals point into the head."""
    return _from_dtface("wrong-winding", faces=get_rig("dtface").faces[:, ::-1])


def _turned(points: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    return (points @ rotation.T).astype(np.float32)


def looking_down_minus_z() -> Rig:
    """Turned 180 degrees about Y: the face looks toward -Z (some engines' forward axis)."""
    base = get_rig("dtface")
    turn = np.diag([-1.0, 1.0, -1.0])
    return _from_dtface("wrong-facing", template_mm=_turned(base.template_mm, turn),
                        deltas_mm=_turned(base.deltas_mm, turn))


def z_up() -> Rig:
    """Blender's Z-up: turned +90 degrees about X, so the face looks toward -Y and the crown toward +Z."""
    base = get_rig("dtface")
    turn = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    return _from_dtface("wrong-z-up", template_mm=_turned(base.template_mm, turn),
                        deltas_mm=_turned(base.deltas_mm, turn))


def left_right_swapped() -> Rig:
    """The ...Left shapes sculpted on the viewer's left, which is the subject's right (-X)."""
    base = get_rig("dtface")
    order = [ARKIT52.index(n.replace("Left", "Right")) if n.endswith("Left")
             else ARKIT52.index(n.replace("Right", "Left")) if n.endswith("Right") else i
             for i, n in enumerate(ARKIT52)]
    return _from_dtface("wrong-sides", deltas_mm=base.deltas_mm[order])


def lips_on_the_back_of_the_head() -> Rig:
    """The 'lips' region as many vertices, but taken from the back of the skull."""
    base = get_rig("dtface")
    count = base.regions["lips"].size
    back = np.argsort(base.template_mm[:, 2])[:count]  # smallest z: the back of the head
    return _from_dtface("wrong-lips-place", regions={**base.regions, "lips": np.sort(back)})


def lips_swapped_with_upper_face() -> Rig:
    base = get_rig("dtface")
    regions = {**base.regions, "lips": base.regions["upper_face"], "upper_face": base.regions["lips"]}
    return _from_dtface("wrong-regions-swapped", regions=regions)


def map_without_jaw_or_lips() -> Rig:
    """An arkit_map whose jaw and mouth columns are all zero: eyes and brows move, speech does not."""
    base = get_rig("dtface")
    arkit_map = base.arkit_map.copy()
    arkit_map[:, [i for i, n in enumerate(ARKIT52) if n.startswith(("jaw", "mouth"))]] = 0.0
    return _from_dtface("wrong-map", arkit_map=arkit_map)


def boolean_mask_region() -> Rig:
    """A (V,) boolean mask put into ``regions`` after the rig was built (``Rig(...)`` itself refuses
    one), as a plugin that fills its regions later would."""
    base = get_rig("dtface")
    mask = np.zeros(base.num_vertices, bool)
    mask[base.regions["lips"]] = True
    rig = _from_dtface("wrong-mask")
    rig.regions["lips"] = mask
    return rig


WRONG_RIGS = {
    "metres": in_metres,
    "wound-inward": wound_inward,
    "looking-down-minus-z": looking_down_minus_z,
    "z-up": z_up,
    "left-right-swapped": left_right_swapped,
    "lips-on-the-back-of-the-head": lips_on_the_back_of_the_head,
    "lips-swapped-with-upper-face": lips_swapped_with_upper_face,
    "map-without-jaw-or-lips": map_without_jaw_or_lips,
    "boolean-mask-region": boolean_mask_region,
}
