"""Built-in rigs, registered through the same hook as third-party rigs."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


def arkit52_rig():
    from dtsdk.rigs.arkit import ARKIT52
    from dtsdk.rigs.base import Rig

    return Rig(name="arkit52", kind="motion", shape_names=ARKIT52,
               description="Canonical motion space: Apple's 52 ARKit blendshapes (no mesh)")


def dtface_rig():
    from dtsdk.rigs.dtface import build_dtface

    return build_dtface()


@hookimpl
def register_rigs(register):
    register("arkit52", arkit52_rig, description="Canonical ARKit-52 motion space (no mesh)")
    register("dtface", dtface_rig, description="dtsdk's procedural head with all 52 ARKit morph targets")
