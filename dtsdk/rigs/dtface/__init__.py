"""``dtface``: dtsdk's own procedural head with all 52 ARKit morph targets.

Built from geometry alone (no downloaded mesh) in a fraction of a second: a quad-grid skin
with slits for the mouth and eyes, eyeballs with irises, teeth, a tongue and a dark mouth
cavity. Millimetres; +Y up, the face looks toward +Z, +X is the subject's left.

Modules: :mod:`.proportions` (measurements), :mod:`.head` (skin), :mod:`.parts` (eyes, teeth,
tongue, cavity), :mod:`.mesh` (assembly, part ids), :mod:`.regions` (vertex sets, landmarks),
:mod:`.eyes`, :mod:`.mouth`, :mod:`.face` (morph targets) and :mod:`.morphs` (all 52 in order).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from dtsdk.rigs.arkit import ARKIT52
from dtsdk.rigs.base import Rig


@lru_cache(maxsize=1)
def _build_arrays():
    from dtsdk.rigs.dtface.mesh import build_mesh
    from dtsdk.rigs.dtface.morphs import build_deltas
    from dtsdk.rigs.dtface.regions import build_landmarks68, build_regions

    mesh = build_mesh()
    arrays = dict(template=mesh.vertices.astype(np.float32), faces=mesh.faces.astype(np.int32),
                  deltas=build_deltas(mesh), regions=build_regions(mesh),
                  landmarks68=build_landmarks68(mesh), part_ids=mesh.part_ids.astype(np.uint8))
    for a in arrays.values():
        if isinstance(a, np.ndarray):
            a.flags.writeable = False  # shared by every Rig this process builds
    return arrays


def build_dtface() -> Rig:
    """The built-in ``dtface`` blendshape rig (52 ARKit shapes, millimetres)."""
    a = _build_arrays()
    return Rig(
        name="dtface", kind="blendshape", shape_names=ARKIT52,
        template_mm=a["template"], faces=a["faces"], deltas_mm=a["deltas"],
        regions=dict(a["regions"]), landmarks68=a["landmarks68"], part_ids=a["part_ids"],
        description=("dtsdk's procedural head: skin with parted lips and eyelids, eyeballs with irises, "
                     "teeth, tongue and mouth cavity; all 52 ARKit morph targets in mm"),
    )


__all__ = ["build_dtface"]
