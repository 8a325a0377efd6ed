"""Lip closures on bilabials and openings on open vowels, scored against phone timings.

The lip gap is read off the mesh: the vertical distance (+Y) in mm from the lower to the upper
inner-lip centre, iBUG-68 points 62 (upper) and 66 (lower) of the rig's ``landmarks68``, clamped
at 0 (below 0 the inner rims overlap, as under mouthPress: the lips touch, and how hard is not a
gap). dtface's rest pose leaves 0.8 mm (the slit parted by a hair so the lips render as
two rolls); the corpus' closures on p/b/m bring it to 0.15 mm or less; jawOpen 1 gives 17 mm.

Per phone, the frames scored are those whose time ``i / fps`` falls in the phone widened by
``tolerance_s`` (40 ms) on each side, and at least the frame nearest its centre (a 30 ms /b/ can
fall between two 30 fps frames). The tolerance is for the phone timings of a forced aligner, whose
boundaries were 20-60 ms off the TTS engines' own timings on the tiny corpus.

- closure: for each p/b/m phone, the minimum gap during the phone; the share of them at or below
  :data:`CLOSED_GAP_MM` is the closure rate, the mean the mean bilabial gap.
- opening: for each open vowel (aa ae ao aw ay), the maximum gap during the vowel.
- contrast: mean opening / mean bilabial gap, the gap floored at :data:`GAP_FLOOR_MM` so that
  lips that always touch give a large finite number, not a division by zero.

All numpy; phones are ``(phone, start_s, end_s, ...)`` rows in ARPAbet, any case, stress digits
ignored (the corpus' ``[phone, start_s, end_s, stress]`` rows and the aligner's rows both fit).
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from dtsdk.eval.metrics import MetricError
from dtsdk.eval.testset import to_vertices_mm
from dtsdk.rigs import DEFAULT_MESH_RIG, get_rig

BILABIALS = ("P", "B", "M")
OPEN_VOWELS = ("AA", "AE", "AO", "AW", "AY")
UPPER_INNER_LIP, LOWER_INNER_LIP = 62, 66  # iBUG-68 inner-lip centres
CLOSED_GAP_MM = 0.5  # closed: below dtface's 0.8 mm rest gap, above the corpus' 0.15 mm closures
GAP_FLOOR_MM = 0.1  # the contrast's denominator: below this the lips touch
PHONE_TOLERANCE_S = 0.04  # a forced aligner's boundary error; at 30 fps at least one more frame a side


def lip_gap_mm(x, rig=DEFAULT_MESH_RIG) -> np.ndarray:
    """Lip gap ``(T,)`` in mm, >= 0, from vertices ``(T, V, 3)`` mm on ``rig``, ARKit-52 weights
    ``(T, 52)`` or an Animation (decoded onto ``rig``, which must have ``landmarks68``)."""
    landmarks = get_rig(rig).landmarks68
    if landmarks is None:
        raise MetricError(f"rig '{rig}' has no landmarks68: the lip gap needs the inner-lip landmarks 62 and 66")
    v = to_vertices_mm(x, rig)  # (T, V, 3)
    gap = v[:, landmarks[UPPER_INNER_LIP], 1] - v[:, landmarks[LOWER_INNER_LIP], 1]  # (T,)
    return np.maximum(gap, 0.0).astype(np.float32)


def phone_name(phone: str) -> str:
    """'aa1' / 'AA' -> 'AA': ARPAbet upper case without the stress digit."""
    return str(phone).upper().rstrip("012")


def phone_frames(start_s: float, end_s: float, fps: float, num_frames: int,
                 tolerance_s: float = PHONE_TOLERANCE_S) -> np.ndarray:
    """Frame indices with ``i / fps`` in ``[start_s - tolerance_s, end_s + tolerance_s]``, and at
    least the frame nearest the phone's centre; empty only when the phone lies outside the clip."""
    first = max(int(math.ceil((start_s - tolerance_s) * fps - 1e-9)), 0)
    last = min(int(math.floor((end_s + tolerance_s) * fps + 1e-9)), num_frames - 1)
    frames = set(range(first, last + 1))
    nearest = int(round(0.5 * (start_s + end_s) * fps))
    if 0 <= nearest < num_frames:
        frames.add(nearest)
    return np.array(sorted(frames), dtype=np.int64)


def _per_phone(gap_mm, phones: Iterable[Sequence], fps: float, names: tuple[str, ...], reduce,
               tolerance_s: float) -> np.ndarray:
    gap = np.asarray(gap_mm, dtype=np.float64)
    if gap.ndim != 1:
        raise MetricError(f"lip gap: expected a (T,) trace, got shape {gap.shape}")
    values = []
    for row in phones:
        if phone_name(row[0]) not in names:
            continue
        idx = phone_frames(float(row[1]), float(row[2]), fps, len(gap), tolerance_s)
        if idx.size:
            values.append(reduce(gap[idx]))
    return np.asarray(values, dtype=np.float64)


def bilabial_gaps_mm(gap_mm, phones: Iterable[Sequence], fps: float,
                     tolerance_s: float = PHONE_TOLERANCE_S) -> np.ndarray:
    """The minimum lip gap (mm) during each p/b/m phone, in phone order: ``(num_bilabials,)``."""
    return _per_phone(gap_mm, phones, fps, BILABIALS, np.min, tolerance_s)


def open_vowel_openings_mm(gap_mm, phones: Iterable[Sequence], fps: float,
                           tolerance_s: float = PHONE_TOLERANCE_S) -> np.ndarray:
    """The maximum lip gap (mm) during each open vowel (aa ae ao aw ay): ``(num_open_vowels,)``."""
    return _per_phone(gap_mm, phones, fps, OPEN_VOWELS, np.max, tolerance_s)


def articulation_summary(bilabial_gaps, openings, closed_gap_mm: float = CLOSED_GAP_MM) -> dict[str, float]:
    """Pooled scores over any number of clips (concatenate the per-phone values first).

    Returns ``num_bilabials``, ``closure_rate`` (share of bilabials with gap <= ``closed_gap_mm``),
    ``bilabial_gap_mm`` (mean), ``num_open_vowels``, ``open_vowel_opening_mm`` (mean),
    ``opening_to_gap_ratio`` (mean opening / max(mean bilabial gap, :data:`GAP_FLOOR_MM`)) and
    ``closed_gap_mm``; a mean over no phones is NaN.
    """
    gaps, opens = np.asarray(bilabial_gaps, np.float64), np.asarray(openings, np.float64)
    gap = float(gaps.mean()) if gaps.size else math.nan
    opening = float(opens.mean()) if opens.size else math.nan
    return {
        "num_bilabials": int(gaps.size),
        "closure_rate": float((gaps <= closed_gap_mm).mean()) if gaps.size else math.nan,
        "bilabial_gap_mm": gap,
        "num_open_vowels": int(opens.size),
        "open_vowel_opening_mm": opening,
        "opening_to_gap_ratio": opening / max(gap, GAP_FLOOR_MM) if gaps.size and opens.size else math.nan,
        "closed_gap_mm": float(closed_gap_mm),
    }
