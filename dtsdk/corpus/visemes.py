"""Phoneme-to-viseme table: each ARPAbet phone's ARKit-52 mouth target and its dominance.

A target is the mouth pose the phone aims for when spoken alone (ARKit weights, 0..1). Dominance
(Cohen & Massaro 1993, "Modeling coarticulation in synthetic visual speech") says how strongly the
phone holds that pose against its neighbours: in the blend every phone pulls each channel toward
its target with weight ``dominance * exp(-distance / tau)``. It comes in two parts, because
articulators are free in different phones:

* ``jaw_dominance`` for jawOpen and tongueOut: high where the jaw/tongue position is required
  (s/z need the teeth close together; th/dh need the tongue tip out), low for h.
* ``lip_dominance`` for every other mouth channel (rounding, spreading, rolls, presses): high for
  bilabials, labiodentals, rounded vowels and w; low for t/d/n/l/k/g/h/s, which is why the lips of
  "s" in "soon" are already rounded (anticipatory rounding across consonants).

mouthClose, press and rolls belong to the closure itself: every non-bilabial holds them at its own
target with :data:`PRESS_DOMINANCE`, so they do not leak into the neighbouring vowels.

``closure`` marks the phones whose lips must meet whatever the context (p/b/m/em): the articulator
overrides coarticulation there (see :func:`dtsdk.corpus.articulation.apply_lip_closure`).
Diphthongs glide between two targets; :data:`DIPHTHONGS` names the halves.

The rationale for each group is in docs/articulation.md. In ARKit, the lips are closed over an open
jaw when ``mouthClose == jawOpen``; the table follows that convention.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtsdk.corpus.phones import PHONES, SILENCE
from dtsdk.rigs.arkit import ARKIT52, arkit_index


@dataclass(frozen=True)
class Viseme:
    """One phone's mouth target (ARKit name -> weight; ``"mouthSmile"`` etc. mean both sides)."""

    target: dict[str, float]
    jaw_dominance: float
    lip_dominance: float
    closure: bool = False
    group: str = ""


def _v(group: str, jaw_dom: float, lip_dom: float, closure: bool = False, **target: float) -> Viseme:
    return Viseme(dict(target), jaw_dom, lip_dom, closure, group)


# ---- the table ------------------------------------------------------------------------------------
# Weights are for a neutral speaker at normal effort; SpeakerStyle gains scale them per speaker.
VISEMES: dict[str, Viseme] = {
    # silence: the rest pose (the speaker's resting face is added after articulation)
    SILENCE: _v("rest", 0.45, 0.45),
    # bilabial closure: lips pressed together over a slightly open jaw. The lips are what must
    # close, so their dominance is full; the jaw only follows (closure is enforced afterwards).
    "p": _v("bilabial", 0.6, 1.0, True, jawOpen=0.08, mouthClose=0.08, mouthPress=0.45, mouthRollLower=0.12,
            mouthRollUpper=0.08),
    "b": _v("bilabial", 0.6, 1.0, True, jawOpen=0.09, mouthClose=0.09, mouthPress=0.35, mouthRollLower=0.1,
            mouthRollUpper=0.06),
    "m": _v("bilabial", 0.6, 1.0, True, jawOpen=0.07, mouthClose=0.07, mouthPress=0.25, mouthRollLower=0.06),
    "em": _v("bilabial", 0.6, 1.0, True, jawOpen=0.07, mouthClose=0.07, mouthPress=0.25, mouthRollLower=0.06),
    # labiodental: lower lip tucked up under the upper teeth, upper lip lifted off them
    "f": _v("labiodental", 0.9, 0.95, jawOpen=0.1, mouthRollLower=0.55, mouthUpperUp=0.22, mouthShrugLower=0.15),
    "v": _v("labiodental", 0.9, 0.95, jawOpen=0.1, mouthRollLower=0.5, mouthUpperUp=0.2, mouthShrugLower=0.12),
    # rounded vowels and glides: pucker (tight, narrow) and funnel (open, protruded)
    "uw": _v("rounded", 0.5, 0.9, jawOpen=0.14, mouthPucker=0.65, mouthFunnel=0.3),
    "uh": _v("rounded", 0.5, 0.7, jawOpen=0.2, mouthPucker=0.3, mouthFunnel=0.3),
    "w": _v("rounded", 0.6, 0.95, jawOpen=0.07, mouthPucker=0.75, mouthFunnel=0.15),
    "er": _v("rounded", 0.5, 0.6, jawOpen=0.18, mouthFunnel=0.35, mouthPucker=0.2),
    "axr": _v("rounded", 0.4, 0.5, jawOpen=0.16, mouthFunnel=0.3, mouthPucker=0.15),
    "r": _v("rounded", 0.4, 0.6, jawOpen=0.12, mouthFunnel=0.3, mouthPucker=0.3),
    # open vowels: the jaw carries them
    "aa": _v("open", 0.7, 0.4, jawOpen=0.55, mouthLowerDown=0.2),
    "ae": _v("open", 0.7, 0.5, jawOpen=0.45, mouthLowerDown=0.25, mouthUpperUp=0.1, mouthStretch=0.2),
    "ao": _v("open", 0.7, 0.55, jawOpen=0.5, mouthFunnel=0.25, mouthLowerDown=0.1),
    "ah": _v("mid", 0.55, 0.3, jawOpen=0.35, mouthLowerDown=0.12),
    "eh": _v("mid", 0.55, 0.4, jawOpen=0.32, mouthStretch=0.15, mouthLowerDown=0.12),
    # reduced vowels: small and weak, they take their shape from the neighbours
    "ax": _v("reduced", 0.3, 0.15, jawOpen=0.2),
    "ix": _v("reduced", 0.3, 0.2, jawOpen=0.15, mouthStretch=0.1),
    # spread front vowels and the palatal glide
    "iy": _v("spread", 0.5, 0.75, jawOpen=0.12, mouthStretch=0.35, mouthSmile=0.2),
    "ih": _v("spread", 0.45, 0.55, jawOpen=0.18, mouthStretch=0.25, mouthSmile=0.1),
    "y": _v("spread", 0.5, 0.6, jawOpen=0.08, mouthStretch=0.25, mouthSmile=0.12),
    # sibilants: teeth nearly together (a high jaw dominance), lips spread a little but free to round
    "s": _v("sibilant", 0.9, 0.3, jawOpen=0.06, mouthStretch=0.22, mouthSmile=0.08),
    "z": _v("sibilant", 0.9, 0.3, jawOpen=0.06, mouthStretch=0.2, mouthSmile=0.06),
    # postalveolars: protruded, slightly rounded lips
    "sh": _v("postalveolar", 0.85, 0.75, jawOpen=0.08, mouthFunnel=0.4, mouthPucker=0.25),
    "zh": _v("postalveolar", 0.85, 0.75, jawOpen=0.08, mouthFunnel=0.4, mouthPucker=0.25),
    "ch": _v("postalveolar", 0.85, 0.75, jawOpen=0.07, mouthFunnel=0.35, mouthPucker=0.3),
    "jh": _v("postalveolar", 0.85, 0.75, jawOpen=0.08, mouthFunnel=0.35, mouthPucker=0.3),
    # dentals: tongue tip between the teeth
    "th": _v("dental", 0.85, 0.25, jawOpen=0.12, tongueOut=0.3),
    "dh": _v("dental", 0.8, 0.2, jawOpen=0.12, tongueOut=0.25),
    # alveolars: a small jaw, lips free
    "t": _v("alveolar", 0.6, 0.1, jawOpen=0.1),
    "d": _v("alveolar", 0.6, 0.1, jawOpen=0.12),
    "dx": _v("alveolar", 0.4, 0.1, jawOpen=0.14),
    "n": _v("alveolar", 0.5, 0.1, jawOpen=0.12),
    "en": _v("alveolar", 0.5, 0.1, jawOpen=0.12),
    "l": _v("alveolar", 0.45, 0.12, jawOpen=0.18),
    "el": _v("alveolar", 0.45, 0.12, jawOpen=0.18),
    # velars: the back of the tongue does the work; the jaw follows the vowel around them
    "k": _v("velar", 0.4, 0.1, jawOpen=0.16),
    "g": _v("velar", 0.4, 0.1, jawOpen=0.16),
    "ng": _v("velar", 0.4, 0.1, jawOpen=0.14),
    # glottal: no oral gesture of its own
    "hh": _v("glottal", 0.1, 0.05, jawOpen=0.2),
}

# Diphthongs: (first half, second half) as the glide; each half gets half the segment.
DIPHTHONGS: dict[str, tuple[str, str]] = {
    "ay": ("aa", "iy"), "aw": ("aa", "uw"), "oy": ("ao", "iy"), "ey": ("eh", "iy"), "ow": ("ao", "uw"),
}
# Glide end points are not spoken fully: the off-glide reaches this fraction of its target.
DIPHTHONG_OFFGLIDE = {"ay": 0.75, "aw": 0.75, "oy": 0.75, "ey": 0.7, "ow": 0.9}

# Channel groups the style gains and the closure constraint act on.
JAW_CHANNELS = ("jawOpen", "mouthClose", "tongueOut")
ROUNDING_CHANNELS = ("mouthPucker", "mouthFunnel")
SPREAD_CHANNELS = ("mouthStretchLeft", "mouthStretchRight", "mouthSmileLeft", "mouthSmileRight")
PRESS_CHANNELS = ("mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")
# Shapes that part the lips; a closure must switch them off.
LIP_OPENING_CHANNELS = ("mouthFunnel", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
                        "mouthUpperUpRight", "tongueOut")


def channel_indices(names) -> np.ndarray:
    return np.array([arkit_index(n) for n in names], dtype=np.int64)


def _expand(name: str) -> list[str]:
    """``mouthSmile`` -> both sides; a full ARKit name -> itself."""
    try:
        arkit_index(name)
        return [name]
    except Exception:
        return [name + "Left", name + "Right"]


def target_vector(viseme: Viseme) -> np.ndarray:
    """(52,) ARKit weights of one viseme's target."""
    out = np.zeros(52, dtype=np.float64)
    for name, value in viseme.target.items():
        for full in _expand(name):
            out[arkit_index(full)] = value
    return out


_JAW_MASK = np.isin(np.arange(52), channel_indices(JAW_CHANNELS))


_PRESS_MASK = np.isin(np.arange(52), channel_indices(PRESS_CHANNELS + ("mouthClose",)))
# Press/roll/mouthClose belong to the closure itself: every other phone holds them at its own
# (near-zero) target three times as firmly as a bilabial pushes, so a vowel next to "b" does not
# inherit a pressed, half-closed mouth.
PRESS_DOMINANCE, PRESS_DOMINANCE_CLOSURE = 3.0, 1.0


def dominance_vector(viseme: Viseme) -> np.ndarray:
    """(52,) per-channel dominance: jaw channels take ``jaw_dominance``, press/roll/close channels
    :data:`PRESS_DOMINANCE` (bilabials: ``PRESS_DOMINANCE_CLOSURE``), the other mouth channels ``lip_dominance``."""
    dom = np.where(_JAW_MASK, viseme.jaw_dominance, viseme.lip_dominance)
    return np.where(_PRESS_MASK, PRESS_DOMINANCE_CLOSURE if viseme.closure else PRESS_DOMINANCE, dom)


def viseme_arrays(key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(target (52,), dominance (52,))`` of a viseme key, computed once (read-only arrays)."""
    arrays = _ARRAYS.get(key)
    if arrays is None:
        vis = viseme_for(key)
        arrays = (target_vector(vis), dominance_vector(vis))
        for a in arrays:
            a.setflags(write=False)
        _ARRAYS[key] = arrays
    return arrays


_ARRAYS: dict[str, tuple[np.ndarray, np.ndarray]] = {}


def viseme_for(phone: str) -> Viseme:
    """The viseme of a (non-diphthong) ARPAbet phone; unknown phones fall back to the rest pose."""
    return VISEMES.get(phone, VISEMES[SILENCE])


def _check_table() -> None:
    # Every phone of the ARPAbet set is covered once, directly or as a diphthong.
    missing = PHONES - set(VISEMES) - set(DIPHTHONGS)
    assert not missing, f"phones without a viseme: {sorted(missing)}"
    for v in VISEMES.values():
        for name in v.target:
            _expand(name)
    assert all(n in ARKIT52 for n in JAW_CHANNELS + ROUNDING_CHANNELS + SPREAD_CHANNELS + PRESS_CHANNELS)


_check_table()
