"""Non-verbal motion: blinks, brow raises, head motion and gaze shifts, stochastic given the audio.

Speech fixes the mouth; it does not fix when a speaker blinks or nods. These processes draw from
the rng so that the same audio has many plausible performances (a real distribution for a
generative model, and something to measure diversity against), while their *statistics* follow the
speaker's style and the speech (brows and nods gather on stressed syllables and pitch peaks):

* **Blinks**: a renewal process with a refractory period whose mean interval is
  ``60 / blink_rate_per_min`` s; each blink closes fast and opens slowly (Evinger et al. 1991:
  down-phase ~2x faster than the up-phase), both eyes together.
* **Brow raises**: each primary-stressed vowel raises the brows with probability
  ``brow_raise_prob``, made likelier on pitch peaks (F0 above the utterance's mean), size
  ``brow_raise_size``; browInnerUp + browOuterUp, onset a little before the vowel.
* **Head**: slow sway (random-phase sinusoids, 0.08..0.7 Hz, std ``head_motion_rad``) plus small
  nods (pitch down) on stressed syllables with probability ``nod_prob``.
* **Gaze**: small saccadic shifts of both eyes (a Poisson process of fixations, size ``gaze_drift``).
"""
from __future__ import annotations

import math

import numpy as np

from dtsdk.corpus.phones import PhoneSegment
from dtsdk.corpus.style import SpeakerStyle, apply_asymmetry
from dtsdk.rigs.arkit import arkit_index

BLINK_REFRACTORY_S = 0.3  # no second blink within this time of the last
BLINK_CLOSE_S = (0.06, 0.08)  # lid down-phase range, seconds
BLINK_HOLD_S = (0.02, 0.04)
BLINK_OPEN_S = (0.10, 0.15)  # up-phase, slower than the down-phase
BROW_LEAD_S = 0.08  # brows start rising this long before the vowel
BROW_RISE_S, BROW_FALL_S = 0.15, 0.35
NOD_DURATION_S = 0.4
HEAD_AXIS_SCALE = (1.0, 0.8, 0.5)  # yaw, pitch, roll: people turn more than they tilt
GAZE_FIXATION_S = 1.2  # mean time between gaze shifts
SACCADE_S = 0.04

_BLINK = [arkit_index("eyeBlinkLeft"), arkit_index("eyeBlinkRight")]
_BROW_INNER = arkit_index("browInnerUp")
_BROW_OUTER = [arkit_index("browOuterUpLeft"), arkit_index("browOuterUpRight")]


def blink_times(duration_s: float, rate_per_min: float, rng: np.random.Generator,
                stationary: bool = False) -> np.ndarray:
    """Blink onsets (s): intervals ``refractory + Exponential(mean - refractory)``, so the mean
    interval is exactly ``60 / rate`` and no two blinks come closer than the refractory period.

    The first onset is a uniform point of one interval. With ``stationary=False`` (the natural
    corpus clips, kept so they stay byte-identical) that interval is a plain draw, which puts the
    first blink half an interval early on average: a 3 s clip gets 1.3-1.8x the rate. With
    ``stationary=True`` (the extra clips) it is a length-biased draw, the interval a random moment
    falls in, so every clip length gets the rate itself.
    """
    mean_s = 60.0 / max(rate_per_min, 1e-3)
    free_s = max(mean_s - BLINK_REFRACTORY_S, 1e-3)
    if stationary:
        # Length-biased refractory + Exponential: with odds refractory : free the excess is an
        # Exponential, else a Gamma(2) (the density x f(x) / mean split into its two terms).
        excess = (rng.exponential(free_s) if rng.uniform() < BLINK_REFRACTORY_S / (BLINK_REFRACTORY_S + free_s)
                  else rng.gamma(2.0, free_s))
        t = rng.uniform(0.0, 1.0) * (BLINK_REFRACTORY_S + excess)
    else:
        # Start as if the process had been running: the first onset falls inside one interval.
        t = rng.uniform(0.0, 1.0) * (BLINK_REFRACTORY_S + rng.exponential(free_s))
    out = []
    while t < duration_s:
        out.append(t)
        t += BLINK_REFRACTORY_S + rng.exponential(free_s)
    return np.array(out)


def _ramp(x: np.ndarray) -> np.ndarray:
    """Smooth 0 -> 1 over x in [0, 1] (raised cosine)."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def _pulse(times: np.ndarray, start: float, rise: float, hold: float, fall: float) -> np.ndarray:
    """0 -> 1 over ``rise``, 1 for ``hold``, 1 -> 0 over ``fall`` (seconds from ``start``)."""
    up = _ramp((times - start) / max(rise, 1e-6))
    down = 1.0 - _ramp((times - start - rise - hold) / max(fall, 1e-6))
    return np.minimum(up, down)


def blinks(times: np.ndarray, fps: float, style: SpeakerStyle, rng: np.random.Generator,
           stationary: bool = False) -> np.ndarray:
    """``(T,)`` eyelid closure, 0..1, from the blink process (``stationary``: see :func:`blink_times`)."""
    out = np.zeros(len(times))
    duration_s = len(times) / fps
    for onset in blink_times(duration_s, style.blink_rate_per_min, rng, stationary):
        close, hold, open_ = (rng.uniform(*BLINK_CLOSE_S), rng.uniform(*BLINK_HOLD_S), rng.uniform(*BLINK_OPEN_S))
        depth = rng.uniform(0.9, 1.0)
        # Put the fully closed moment on a frame, so every blink is seen closed at any fps.
        closed_at = round((onset + close) * fps) / fps
        start = closed_at - close
        # Only the frames the blink spans (long clips have hundreds of blinks).
        i0, i1 = max(int(start * fps), 0), min(int((start + close + hold + open_) * fps) + 2, len(times))
        if i1 > i0:
            out[i0:i1] = np.maximum(out[i0:i1], depth * _pulse(times[i0:i1], start, close, hold, open_))
    return out


def f0_at(audio: np.ndarray, sample_rate: int, t_s: float, fmin: float = 60.0, fmax: float = 400.0,
          window_s: float = 0.04) -> float:
    """Fundamental frequency (Hz) at ``t_s`` from the normalized autocorrelation, or NaN if unvoiced."""
    half = int(window_s * sample_rate / 2)
    c = int(t_s * sample_rate)
    x = np.asarray(audio[max(c - half, 0): c + half], dtype=np.float64)
    lag_min, lag_max = int(sample_rate / fmax), int(sample_rate / fmin)
    if len(x) < 2 * lag_max:
        return float("nan")
    x = x - x.mean()
    ac = np.correlate(x, x, mode="full")[len(x) - 1:]
    if ac[0] <= 1e-9:
        return float("nan")
    ac = ac / ac[0]
    lag = lag_min + int(np.argmax(ac[lag_min:lag_max]))
    return sample_rate / lag if ac[lag] > 0.45 else float("nan")


def stressed_vowels(phones: list[PhoneSegment]) -> list[PhoneSegment]:
    return [p for p in phones if p.is_vowel and p.stress == 1 and p.end_s > p.start_s]


def brow_raises(times: np.ndarray, phones: list[PhoneSegment], audio: np.ndarray, sample_rate: int,
                style: SpeakerStyle, rng: np.random.Generator) -> np.ndarray:
    """``(T,)`` brow-raise envelope (peak ``brow_raise_size``) on stressed syllables and pitch peaks."""
    out = np.zeros(len(times))
    vowels = stressed_vowels(phones)
    if not vowels:
        return out
    f0 = np.array([f0_at(audio, sample_rate, 0.5 * (v.start_s + v.end_s)) for v in vowels])
    voiced = np.isfinite(f0)
    z = np.zeros(len(vowels))
    if voiced.sum() >= 2:
        logf = np.log(f0[voiced])
        z[voiced] = (logf - logf.mean()) / (logf.std() + 1e-6)
    # A pitch peak (z = +1) doubles the odds of a raise; a pitch valley halves them.
    odds = style.brow_raise_prob / max(1.0 - style.brow_raise_prob, 1e-6) * np.exp(0.7 * np.clip(z, -2, 2))
    prob = odds / (1.0 + odds)
    draws = rng.uniform(size=len(vowels))
    sizes = style.brow_raise_size * rng.uniform(0.7, 1.3, size=len(vowels))
    for v, p, u, size in zip(vowels, prob, draws, sizes):
        if u < p:
            pulse = _pulse(times, v.start_s - BROW_LEAD_S, BROW_RISE_S, v.duration_s, BROW_FALL_S)
            out = np.maximum(out, size * pulse)
    return out


def head_motion(times: np.ndarray, phones: list[PhoneSegment], style: SpeakerStyle,
                rng: np.random.Generator) -> np.ndarray:
    """``(T, 3)`` yaw, pitch, roll in radians: slow random sway plus nods on stressed syllables."""
    pose = np.zeros((len(times), 3))
    for axis, scale in enumerate(HEAD_AXIS_SCALE):
        freqs = np.exp(rng.uniform(np.log(0.08), np.log(0.7), size=4))  # Hz
        phases = rng.uniform(0.0, 2.0 * np.pi, size=4)
        amps = rng.rayleigh(1.0, size=4) / np.sqrt(freqs)  # slower components swing further
        wave = (amps[None, :] * np.sin(2.0 * np.pi * freqs[None, :] * times[:, None] + phases[None, :])).sum(1)
        # Normalize the expected (not the sample) std, so short clips are not stretched to full size.
        expected_std = math.sqrt(0.5 * float((amps ** 2).sum()))
        pose[:, axis] = style.head_motion_rad * scale * wave / max(expected_std, 1e-9)
    vowels = stressed_vowels(phones)
    draws = rng.uniform(size=len(vowels))
    sizes = rng.uniform(0.8, 1.6, size=len(vowels))
    for v, u, size in zip(vowels, draws, sizes):
        if u < style.nod_prob:  # positive pitch looks down: a nod on the beat
            pose[:, 1] += style.head_motion_rad * size * _pulse(times, v.start_s - 0.05, 0.5 * NOD_DURATION_S, 0.0,
                                                               0.5 * NOD_DURATION_S)
    return pose


def gaze_shifts(times: np.ndarray, fps: float, style: SpeakerStyle, rng: np.random.Generator) -> np.ndarray:
    """``(T, 2)`` gaze (x toward the subject's left, y up) in ARKit weight units: fixations held for
    exponential times, moved by fast saccades."""
    duration_s = len(times) / fps
    n = max(1, int(duration_s / GAZE_FIXATION_S * 3) + 4)
    starts = np.concatenate([[0.0], np.cumsum(rng.exponential(GAZE_FIXATION_S, size=n))])
    points = rng.normal(0.0, style.gaze_drift, size=(n + 1, 2)) * [1.0, 0.6]  # people look sideways more
    which = np.clip(np.searchsorted(starts, times, side="right") - 1, 0, n)
    gaze = points[which]
    # Saccades are fast but not instantaneous: a one-pole smoothing of ~40 ms.
    a = math.exp(-1.0 / (SACCADE_S * fps))
    for i in range(1, len(gaze)):
        gaze[i] = a * gaze[i - 1] + (1.0 - a) * gaze[i]
    return gaze


def _gaze_to_weights(gaze: np.ndarray, out: np.ndarray) -> None:
    gx, gy = gaze[:, 0], gaze[:, 1]
    left, right = np.maximum(gx, 0.0), np.maximum(-gx, 0.0)
    # Looking toward the subject's left: the left eye turns out, the right eye in.
    out[:, arkit_index("eyeLookOutLeft")] += left
    out[:, arkit_index("eyeLookInRight")] += left
    out[:, arkit_index("eyeLookInLeft")] += right
    out[:, arkit_index("eyeLookOutRight")] += right
    for side in ("Left", "Right"):
        out[:, arkit_index("eyeLookUp" + side)] += np.maximum(gy, 0.0)
        out[:, arkit_index("eyeLookDown" + side)] += np.maximum(-gy, 0.0)


def nonverbal_motion(phones: list[PhoneSegment], audio: np.ndarray, sample_rate: int, fps: float,
                     style: SpeakerStyle, rng: np.random.Generator,
                     stationary_blinks: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Blinks, brows and gaze as ARKit weights to *add* ``(T, 52)``, and head pose ``(T, 3)``
    (yaw, pitch, roll in radians, :class:`dtsdk.Animation`'s convention). ``T`` as in
    :func:`dtsdk.corpus.articulation.articulate`. The same rng state gives the same motion.
    ``stationary_blinks``: the first blink as a random moment of a running process sees it
    (:func:`blink_times`; the natural corpus clips keep the old start)."""
    num_frames = int(math.ceil(len(audio) / float(sample_rate) * fps - 1e-9))
    times = np.arange(num_frames) / fps
    out = np.zeros((num_frames, 52))
    lids = blinks(times, fps, style, rng, stationary_blinks)
    out[:, _BLINK[0]] = lids
    out[:, _BLINK[1]] = lids * rng.uniform(0.97, 1.0)  # the two lids are never quite identical
    brows = brow_raises(times, phones, audio, sample_rate, style, rng)
    out[:, _BROW_INNER] = brows
    out[:, _BROW_OUTER[0]] = 0.8 * brows
    out[:, _BROW_OUTER[1]] = 0.8 * brows
    apply_asymmetry(out, style.asymmetry)  # brows follow the speaker's stronger side too
    _gaze_to_weights(gaze_shifts(times, fps, style, rng), out)
    pose = head_motion(times, phones, style, rng)
    return out.astype(np.float32), pose.astype(np.float32)
