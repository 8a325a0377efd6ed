"""Speech articulation: timed phones + audio -> ARKit-52 mouth motion, per speaker style.

The model, in order:

1. **Targets.** Every phone segment gets its viseme target and per-channel dominance from
   :mod:`dtsdk.corpus.visemes` (diphthongs split into two glide halves), scaled by the style's
   jaw/rounding/spread/lip-emphasis gains, by stress (primary-stressed vowels larger, unstressed
   smaller) and, with an rng, by a per-token jitter.
2. **Coarticulation** (Cohen & Massaro 1993, "Modeling coarticulation in synthetic visual
   speech"): segment *s* exerts dominance ``D_s(t) = alpha_s * exp(-d_s(t) / tau)`` on each channel,
   where ``d_s`` is the time from *t* to the segment's core (its middle half) and ``tau`` is the
   style's anticipation time constant before the core and its carry-over constant after it. Each
   channel is the dominance-weighted average of the targets, so weak phones (h, schwa, t, k) take
   their shape from strong neighbours and rounding spreads ahead of a rounded vowel.
3. **Loudness.** jawOpen is scaled by the smoothed frame level of the audio (dB re -18 dBFS), so
   louder syllables open wider (:func:`loudness_db`).
4. **Lip closure.** Bilabials override coarticulation: over each p/b/m segment the jaw is held
   nearly shut, mouthClose matches jawOpen (ARKit's "lips together over an open jaw"), the
   lip-parting shapes are switched off and the lips press (:func:`apply_lip_closure`).
5. **Style post-step**: resting face and left-right asymmetry (:func:`dtsdk.corpus.style.apply_style`).

All numpy; a 5-second clip takes a few milliseconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dtsdk.corpus.phones import SILENCE, VOWELS, PhoneSegment
from dtsdk.corpus.style import SpeakerStyle, apply_style
from dtsdk.corpus.visemes import (DIPHTHONG_OFFGLIDE, DIPHTHONGS, LIP_OPENING_CHANNELS, PRESS_CHANNELS,
                                  ROUNDING_CHANNELS, SPREAD_CHANNELS, channel_indices, viseme_arrays,
                                  viseme_for)
from dtsdk.rigs.arkit import arkit_index

REFERENCE_LEVEL_DB = -18.0  # dBFS of normal TTS speech (espeak-ng/flite vowels sit around -20..-12)
CORE_FRACTION = 0.5  # the middle half of a segment holds full dominance
SILENCE_CORE_FRACTION = 0.8  # pauses relax fully to rest
MIN_CLOSURE_S = 0.05  # a closure shorter than this (TTS can give 20 ms) is widened around its centre
CLOSED_JAW_RANGE = (0.05, 0.15)  # jawOpen while the lips are shut: never wide, never perfectly clenched
LOUDNESS_GAIN_RANGE = (0.5, 1.6)

_JAW = arkit_index("jawOpen")
_CLOSE = arkit_index("mouthClose")
_CHEEK_PUFF = arkit_index("cheekPuff")
_ROUNDING = channel_indices(ROUNDING_CHANNELS)
_SPREAD = channel_indices(SPREAD_CHANNELS)
_PRESS = channel_indices(PRESS_CHANNELS)
_LIP_OPENING = channel_indices(LIP_OPENING_CHANNELS)


@dataclass(frozen=True)
class ArticulatedSegment:
    """A phone segment as the articulator sees it: a diphthong half carries its own viseme key."""

    key: str  # viseme key in VISEMES
    start_s: float
    end_s: float
    stress: int
    scale: float = 1.0  # an off-glide reaches only part of its target


def expand_segments(phones: list[PhoneSegment]) -> list[ArticulatedSegment]:
    """Split diphthongs into their two glide halves; other phones pass through."""
    out = []
    for p in phones:
        if p.phone in DIPHTHONGS:
            first, second = DIPHTHONGS[p.phone]
            mid = 0.5 * (p.start_s + p.end_s)
            out.append(ArticulatedSegment(first, p.start_s, mid, p.stress))
            out.append(ArticulatedSegment(second, mid, p.end_s, p.stress, DIPHTHONG_OFFGLIDE[p.phone]))
        else:
            out.append(ArticulatedSegment(p.phone, p.start_s, p.end_s, p.stress))
    return out


def segment_targets(segments: list[ArticulatedSegment], style: SpeakerStyle,
                    rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Targets ``(S, 52)`` and dominances ``(S, 52)`` with the style's gains, stress and jitter."""
    n = len(segments)
    targets = np.zeros((n, 52))
    dominance = np.zeros((n, 52))
    # One draw per segment whatever the style, so the rng stream does not depend on target_jitter.
    jitter = rng.standard_normal(n) if rng is not None else np.zeros(n)
    for i, seg in enumerate(segments):
        vis = viseme_for(seg.key)
        base_target, dominance[i] = viseme_arrays(seg.key)
        t = base_target * seg.scale
        t[_JAW] *= style.jaw_gain
        t[_CLOSE] *= style.jaw_gain
        t[_ROUNDING] *= style.rounding_gain
        t[_SPREAD] *= style.spread_gain
        if vis.closure:
            t[_PRESS] *= style.lip_emphasis
            # Air pressure builds behind the lips of a plosive; emphatic speakers show it.
            t[_CHEEK_PUFF] = 0.06 * style.lip_emphasis if seg.key in ("p", "b") else 0.0
        if seg.key in VOWELS:
            if seg.stress == 1:
                t *= 1.0 + style.stress_gain
            elif seg.stress == 0:
                t *= 1.0 - 0.5 * style.stress_gain
        t *= max(0.0, 1.0 + style.target_jitter * jitter[i])
        targets[i] = t
    return targets, dominance


def coarticulate(segments: list[ArticulatedSegment], targets: np.ndarray, dominance: np.ndarray,
                 times_s: np.ndarray, anticipation_s: float, carryover_s: float) -> np.ndarray:
    """Cohen–Massaro blend: ``(T, 52)`` dominance-weighted average of the segment targets.

    ``d`` is the distance from each frame time to the segment's core (0 inside it); before the
    core it decays with ``anticipation_s``, after it with ``carryover_s``.
    """
    starts = np.array([s.start_s for s in segments])  # (S,)
    ends = np.array([s.end_s for s in segments])
    centres = 0.5 * (starts + ends)
    core = np.array([SILENCE_CORE_FRACTION if s.key == SILENCE else CORE_FRACTION for s in segments])
    half_core = 0.5 * core * (ends - starts)
    dt = times_s[None, :] - centres[:, None]  # (S, T); < 0 before the centre
    before = dt < 0
    d = np.maximum(np.abs(dt) - half_core[:, None], 0.0)
    tau = np.where(before, max(anticipation_s, 1e-3), max(carryover_s, 1e-3))
    shape = np.exp(-d / tau)  # (S, T)
    num = np.einsum("st,sc->tc", shape, dominance * targets)  # (T, 52)
    den = np.einsum("st,sc->tc", shape, dominance)
    # A faint rest pull everywhere, so frames far from every segment (past the phones) go to rest.
    return num / (den + 1e-4)


def loudness_db(audio: np.ndarray, sample_rate: int, fps: float, num_frames: int,
                window_s: float = 0.05, smooth_s: float = 0.04) -> np.ndarray:
    """``(T,)`` speech level per frame in dBFS: RMS over ``window_s`` centred on each frame time,
    then a Gaussian smoothing of ``smooth_s`` (so the jaw follows syllables, not glottal pulses)."""
    audio = np.asarray(audio, dtype=np.float64).reshape(-1)
    power = np.concatenate([[0.0], np.cumsum(audio * audio)])
    half = max(1, int(round(0.5 * window_s * sample_rate)))
    centres = np.round(np.arange(num_frames) / fps * sample_rate).astype(np.int64)
    lo = np.clip(centres - half, 0, len(audio))
    hi = np.clip(centres + half, 0, len(audio))
    mean_power = (power[hi] - power[lo]) / np.maximum(hi - lo, 1)
    level = 10.0 * np.log10(mean_power + 1e-10)  # (T,)
    sigma = smooth_s * fps
    if sigma > 0.3 and num_frames > 1:
        radius = int(math.ceil(3 * sigma))
        kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
        kernel /= kernel.sum()
        level = np.convolve(np.pad(level, radius, mode="edge"), kernel, mode="valid")
    return level


def loudness_gain(level_db: np.ndarray, style: SpeakerStyle) -> np.ndarray:
    """``(T,)`` multiplier of jawOpen: ``1 + loudness_jaw * (level - reference) / 10 dB``, bounded."""
    gain = 1.0 + style.loudness_jaw * (level_db - REFERENCE_LEVEL_DB) / 10.0
    return np.clip(gain, *LOUDNESS_GAIN_RANGE)


def closure_frames(seg: ArticulatedSegment, fps: float, num_frames: int) -> np.ndarray:
    """Frame indices of a closure: those inside the segment widened to ``MIN_CLOSURE_S``, and at
    least the frame nearest its centre (a 20 ms closure can fall between two 30 fps frames)."""
    centre = 0.5 * (seg.start_s + seg.end_s)
    half = max(0.5 * (seg.end_s - seg.start_s), 0.5 * MIN_CLOSURE_S)
    first = int(math.ceil((centre - half) * fps - 1e-9))
    last = int(math.floor((centre + half) * fps + 1e-9))
    nearest = int(round(centre * fps))
    frames = set(range(max(first, 0), min(last, num_frames - 1) + 1))
    if 0 <= nearest < num_frames:
        frames.add(nearest)
    return np.array(sorted(frames), dtype=np.int64)


def apply_lip_closure(weights: np.ndarray, segments: list[ArticulatedSegment], targets: np.ndarray,
                      fps: float) -> np.ndarray:
    """Make the lips meet on every closure segment, whatever coarticulation says (in place).

    jawOpen is held in :data:`CLOSED_JAW_RANGE`, mouthClose set equal to it, the lip-parting shapes
    (funnel, lower-lip down, upper-lip up, tongue out) zeroed, and press/roll at least the target.
    """
    for i, seg in enumerate(segments):
        if not viseme_for(seg.key).closure:
            continue
        idx = closure_frames(seg, fps, len(weights))
        if idx.size == 0:
            continue
        jaw = np.clip(weights[idx, _JAW], *CLOSED_JAW_RANGE)
        weights[idx, _JAW] = jaw
        weights[idx, _CLOSE] = jaw
        weights[np.ix_(idx, _LIP_OPENING)] = 0.0
        weights[np.ix_(idx, _PRESS)] = np.maximum(weights[np.ix_(idx, _PRESS)], targets[i, _PRESS])
    return weights


def articulate(phones: list[PhoneSegment], audio: np.ndarray, sample_rate: int, fps: float,
               style: SpeakerStyle | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
    """Mouth motion ``(T, 52)`` in ARKit order, ``T = ceil(len(audio) / sample_rate * fps)``, in [0, 1].

    ``phones`` cover the audio (seconds); ``audio`` is mono float; ``rng`` (optional) drives the
    per-token target jitter. Deterministic for a given rng state.
    """
    style = style or SpeakerStyle()
    duration_s = len(audio) / float(sample_rate)
    num_frames = int(math.ceil(duration_s * fps - 1e-9))
    if num_frames == 0:
        return np.zeros((0, 52), dtype=np.float32)
    times = np.arange(num_frames) / fps
    segments = expand_segments([p for p in phones if p.end_s > p.start_s])
    if not segments:
        return apply_style(np.zeros((num_frames, 52)), style).astype(np.float32)
    targets, dominance = segment_targets(segments, style, rng)
    weights = coarticulate(segments, targets, dominance, times, style.anticipation_s, style.carryover_s)
    weights[:, _JAW] *= loudness_gain(loudness_db(audio, sample_rate, fps, num_frames), style)
    apply_lip_closure(weights, segments, targets, fps)
    # The lips never pass through each other: closing more than the jaw opened is not a pose.
    weights[:, _CLOSE] = np.minimum(weights[:, _CLOSE], weights[:, _JAW])
    return apply_style(weights, style).astype(np.float32)


def motion_for_utterance(phones: list[PhoneSegment], audio: np.ndarray, sample_rate: int, fps: float,
                         style: SpeakerStyle, rng: np.random.Generator, stationary_blinks: bool = False):
    """The corpus builder's entry point: articulation + non-verbal motion as a :class:`dtsdk.Animation`
    (rig ``arkit52``, ARKit-52 names, head pose, ``meta["phones"]`` as ``[phone, start_s, end_s, stress]``).

    Draws from ``rng`` (target jitter, blinks, brows, head, gaze); the same rng state gives the same
    animation, another state another non-verbal performance of the same speech.
    ``stationary_blinks``: see :func:`dtsdk.corpus.nonverbal.blink_times` (False for the natural
    corpus clips, which keep the start they were built with; True for the extra clips).
    """
    from dtsdk.animation import Animation
    from dtsdk.corpus.nonverbal import nonverbal_motion
    from dtsdk.rigs.arkit import ARKIT52

    mouth = articulate(phones, audio, sample_rate, fps, style, rng)
    extra, head_pose = nonverbal_motion(phones, audio, sample_rate, fps, style, rng, stationary_blinks)
    weights = np.clip(mouth + extra, 0.0, 1.0)
    meta = {"phones": [[p.phone, round(float(p.start_s), 4), round(float(p.end_s), 4), int(p.stress)]
                       for p in phones]}
    return Animation(weights, ARKIT52, fps, rig="arkit52", head_pose=head_pose, meta=meta)
