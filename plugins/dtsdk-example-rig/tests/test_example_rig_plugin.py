"""The example rig passes dtsdk's rig contract and is found through its entry point."""
import numpy as np

import dtsdk
from dtsdk.plugins import lookup
from dtsdk.testing import RigContract


class TestExampleMask(RigContract):
    rig_name = "example-mask"


def test_registered_through_the_entry_point():
    entry = lookup("rig", "example-mask")
    assert entry.plugin == "example_rig"


def test_arkit_jaw_open_opens_the_mask_mouth():
    rig = dtsdk.get_rig("example-mask")
    weights = np.zeros((2, 52), np.float32)
    weights[1, dtsdk.ARKIT52.index("jawOpen")] = 1.0
    anim = dtsdk.Animation(weights, dtsdk.ARKIT52, 30.0)
    mask = anim.to_rig(rig)
    assert mask.weights[1, mask.names.index("MouthOpen")] == 1.0
    verts = anim.to_vertices(rig)
    chin = np.argmin(rig.template_mm[:, 1] + 200 * (np.abs(rig.template_mm[:, 0]) > 5))
    assert verts[1, chin, 1] < verts[0, chin, 1] - 1.0  # the chin dropped by more than a millimetre
