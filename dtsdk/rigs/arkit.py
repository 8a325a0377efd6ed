"""The canonical motion space: Apple's 52 ARKit blendshapes, in Apple's order and spelling.

Order follows ``ARFaceAnchor.BlendShapeLocation`` as Apple groups it (eyes left then right, jaw,
mouth, brows, cheeks, nose, tongue). Names are matched case-insensitively, so Live Link Face's
PascalCase (``JawOpen``) and ARKit's camelCase (``jawOpen``) are the same channel.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from dtsdk.errors import RigError

ARKIT52: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)
assert len(ARKIT52) == 52

# Head rotation channels that travel beside the shapes (radians), in Live Link Face's order.
HEAD_POSE_NAMES: tuple[str, ...] = ("headYaw", "headPitch", "headRoll")

_INDEX = {name.lower(): i for i, name in enumerate(ARKIT52)}


def arkit_index(name: str) -> int:
    """Index of an ARKit shape, any capitalisation; :class:`RigError` if it is not one."""
    try:
        return _INDEX[name.strip().lower()]
    except KeyError:
        raise RigError(f"'{name}' is not one of the 52 ARKit blendshape names") from None


def canonical_name(name: str) -> str | None:
    """Apple's spelling of ``name`` if it is an ARKit shape (any case), else ``None``."""
    i = _INDEX.get(name.strip().lower())
    return None if i is None else ARKIT52[i]


def match_names(names: Iterable[str]) -> list[int | None]:
    """For each name, its ARKit index (case-insensitive) or ``None``."""
    return [_INDEX.get(n.strip().lower()) for n in names]


def pascal_case(name: str) -> str:
    """``jawOpen`` -> ``JawOpen`` (Live Link Face's spelling)."""
    return name[:1].upper() + name[1:]


def is_arkit_order(names: Sequence[str]) -> bool:
    return len(names) == 52 and all(a.lower() == b.lower() for a, b in zip(names, ARKIT52))
