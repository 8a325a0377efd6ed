"""Talking style: what makes one synthetic speaker move unlike another on the same phones.

A speaker of the corpus is a TTS voice plus a :class:`SpeakerStyle`. The style's parameters shape
the motion in ways the phone sequence alone does not predict (how wide the jaw opens, how much
the lips round, which side of the mouth moves more, the resting expression, how early the next
phone is anticipated, how often the speaker blinks...). :func:`sample_style` draws a style from
:data:`STYLE_PRIOR`, a seeded prior whose ranges are wide enough for speakers to differ visibly.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from dtsdk.rigs.arkit import ARKIT52, arkit_index
from dtsdk.utils.config import reject_unknown_keys


@dataclass(frozen=True)
class SpeakerStyle:
    """Per-speaker motion parameters. The defaults are the neutral speaker (the prior's medians).

    Articulation (the mouth):

    * ``jaw_gain``: multiplier of every phone's jawOpen target. Prior lognormal, 0.65..1.5.
    * ``rounding_gain``: multiplier of mouthPucker/mouthFunnel targets. Prior lognormal, 0.6..1.6.
    * ``spread_gain``: multiplier of mouthStretch/mouthSmile targets of spread phones. 0.6..1.6.
    * ``lip_emphasis``: multiplier of press/roll on bilabials (how hard the lips press together,
      and a faint cheek puff on p/b). Prior lognormal, 0.5..1.8.
    * ``anticipation_s``: time constant (s) of a phone's dominance *before* its centre; larger
      means the next phone's shape shows earlier. Prior lognormal, 0.03..0.12 s.
    * ``carryover_s``: time constant (s) of the dominance *after* the centre; larger means a
      smoother, lazier mouth that lingers. Prior lognormal, 0.02..0.09 s.
    * ``loudness_jaw``: how much the jaw follows loudness, as the fractional change of jawOpen per
      +10 dB of the smoothed speech level. Prior uniform, 0.1..0.5.
    * ``stress_gain``: extra fraction of a primary-stressed vowel's target (0.2 = 20 % larger);
      unstressed vowels are reduced by half of it. Prior uniform, 0.05..0.35.
    * ``target_jitter``: relative standard deviation of each segment's target from one token to
      the next (articulatory variability; needs an rng). Prior uniform, 0.0..0.15.

    The face at rest and left-right balance:

    * ``asymmetry``: signed fraction; the subject's LEFT channels of every Left/Right pair (mouth,
      brows, cheeks, nose) are scaled by ``1 + asymmetry`` and the right ones by ``1 - asymmetry``.
      Prior uniform, -0.25..0.25.
    * ``resting_smile``: signed weight of the resting expression, added everywhere: > 0 is
      mouthSmile, < 0 is mouthFrown. Prior uniform, -0.2..0.3.

    Non-verbal motion (:mod:`dtsdk.corpus.nonverbal`):

    * ``brow_raise_prob``: probability that a primary-stressed syllable carries a brow raise (higher
      on pitch peaks). Prior uniform, 0.05..0.6.
    * ``brow_raise_size``: peak browInnerUp/browOuterUp weight of a raise. Prior uniform, 0.15..0.6.
    * ``blink_rate_per_min``: mean blinks per minute (a refractory Poisson process). Prior
      lognormal, 6..32 per minute.
    * ``head_motion_rad``: standard deviation of the slow head sway per axis, radians. Prior
      lognormal, 0.008..0.07 rad (about 0.5..4 degrees).
    * ``nod_prob``: probability of a small head nod on a primary-stressed syllable. 0.0..0.5.
    * ``gaze_drift``: size of the small eye-look shifts, ARKit weight. Prior uniform, 0.02..0.15.
    """

    jaw_gain: float = 1.0
    rounding_gain: float = 1.0
    spread_gain: float = 1.0
    lip_emphasis: float = 1.0
    anticipation_s: float = 0.06
    carryover_s: float = 0.04
    loudness_jaw: float = 0.3
    stress_gain: float = 0.2
    target_jitter: float = 0.0
    asymmetry: float = 0.0
    resting_smile: float = 0.0
    brow_raise_prob: float = 0.3
    brow_raise_size: float = 0.3
    blink_rate_per_min: float = 15.0
    head_motion_rad: float = 0.025
    nod_prob: float = 0.25
    gaze_drift: float = 0.06

    def to_dict(self) -> dict[str, float]:
        """Plain floats, in field order (for speaker.yaml)."""
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: dict) -> "SpeakerStyle":
        """The inverse of :meth:`to_dict`; unknown keys are an error, missing ones take the default."""
        reject_unknown_keys(data, [f.name for f in dataclasses.fields(cls)], "speaker style")
        return cls(**{k: float(v) for k, v in data.items()})


# name -> (distribution, low, high). "uniform": U(low, high). "lognormal": log-uniform centre
# (geometric mean of the bounds) with sigma = log(high/low)/4, clipped to [low, high], so ~95 %
# of draws fall inside without clipping and the median is the geometric mean.
STYLE_PRIOR: dict[str, tuple[str, float, float]] = {
    "jaw_gain": ("lognormal", 0.65, 1.5),
    "rounding_gain": ("lognormal", 0.6, 1.6),
    "spread_gain": ("lognormal", 0.6, 1.6),
    "lip_emphasis": ("lognormal", 0.5, 1.8),
    "anticipation_s": ("lognormal", 0.03, 0.12),
    "carryover_s": ("lognormal", 0.02, 0.09),
    "loudness_jaw": ("uniform", 0.1, 0.5),
    "stress_gain": ("uniform", 0.05, 0.35),
    "target_jitter": ("uniform", 0.0, 0.15),
    "asymmetry": ("uniform", -0.25, 0.25),
    "resting_smile": ("uniform", -0.2, 0.3),
    "brow_raise_prob": ("uniform", 0.05, 0.6),
    "brow_raise_size": ("uniform", 0.15, 0.6),
    "blink_rate_per_min": ("lognormal", 6.0, 32.0),
    "head_motion_rad": ("lognormal", 0.008, 0.07),
    "nod_prob": ("uniform", 0.0, 0.5),
    "gaze_drift": ("uniform", 0.02, 0.15),
}
assert list(STYLE_PRIOR) == [f.name for f in dataclasses.fields(SpeakerStyle)]


def sample_style(rng: np.random.Generator) -> SpeakerStyle:
    """A style drawn from :data:`STYLE_PRIOR`; the same generator state gives the same style."""
    values = {}
    for name, (kind, low, high) in STYLE_PRIOR.items():
        if kind == "uniform":
            value = rng.uniform(low, high)
        else:
            centre, sigma = 0.5 * np.log(low * high), np.log(high / low) / 4.0
            value = float(np.clip(np.exp(rng.normal(centre, sigma)), low, high))
        values[name] = round(float(value), 5)  # short, exact numbers in speaker.yaml
    return SpeakerStyle(**values)


# ---- post-steps on (T, 52) ARKit weights -----------------------------------------------------------
def _lr_pairs(include_eyes: bool = False) -> tuple[np.ndarray, np.ndarray]:
    left, right = [], []
    for name in ARKIT52:
        if name.endswith("Left") and (include_eyes or not name.startswith("eye")):
            left.append(arkit_index(name))
            right.append(arkit_index(name[:-4] + "Right"))
    return np.array(left), np.array(right)


# Eye channels stay symmetric: scaling eyeLookIn/Out per side would break conjugate gaze.
LEFT_CHANNELS, RIGHT_CHANNELS = _lr_pairs()


def apply_asymmetry(weights: np.ndarray, asymmetry: float) -> np.ndarray:
    """Scale the subject's left channels by ``1 + asymmetry`` and the right ones by ``1 - asymmetry``
    (mouth, brows, cheeks, nose; not the eyes). ``weights`` (T, 52) is changed in place and returned."""
    weights[:, LEFT_CHANNELS] *= 1.0 + asymmetry
    weights[:, RIGHT_CHANNELS] *= 1.0 - asymmetry
    return weights


def resting_face(style: SpeakerStyle) -> np.ndarray:
    """(52,) the speaker's resting expression: a smile or a frown (signed ``resting_smile``), with a
    little cheek squint for a smile and a little brow-down for a frown, before asymmetry."""
    rest = np.zeros(52)
    s = style.resting_smile
    sides = ("Left", "Right")
    if s > 0:
        for side in sides:
            rest[arkit_index("mouthSmile" + side)] = s
            rest[arkit_index("cheekSquint" + side)] = 0.3 * s
    elif s < 0:
        for side in sides:
            rest[arkit_index("mouthFrown" + side)] = -s
            rest[arkit_index("browDown" + side)] = -0.3 * s
    return rest


def apply_style(weights: np.ndarray, style: SpeakerStyle) -> np.ndarray:
    """The post-step of articulation: add the resting face, apply the left-right asymmetry, clip to
    [0, 1]. ``weights`` (T, 52) is a new array; the gains and time constants act earlier, on the
    phone targets (:func:`dtsdk.corpus.articulation.articulate`)."""
    out = np.asarray(weights, dtype=np.float64) + resting_face(style)[None, :]
    apply_asymmetry(out, style.asymmetry)
    return np.clip(out, 0.0, 1.0)


def rest_pose(style: SpeakerStyle) -> np.ndarray:
    """(52,) the pose the articulation relaxes to in silence, without blinks and gaze: the resting
    face after asymmetry, clipped (jaw shut, mouthClose 0, brows only as the resting frown has them)."""
    return apply_style(np.zeros((1, 52)), style)[0]
