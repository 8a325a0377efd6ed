"""Closure and opening scores (dtsdk.eval.articulation) on lip-gap traces whose answer is known."""
import math

import numpy as np
import pytest

from dtsdk.eval.articulation import (CLOSED_GAP_MM, GAP_FLOOR_MM, articulation_summary, bilabial_gaps_mm, lip_gap_mm,
                                     open_vowel_openings_mm, phone_frames)
from dtsdk.rigs import ARKIT52

FPS = 30.0


def trace(spans, rest_mm=3.0, seconds=2.0):
    """A lip gap (T,) at ``rest_mm`` with ``(start_s, end_s, gap_mm)`` spans written over it."""
    gap = np.full(int(seconds * FPS), rest_mm, np.float32)
    for start, end, value in spans:
        gap[int(round(start * FPS)):int(round(end * FPS))] = value
    return gap


# One /m/ whose lips close, one /p/ whose lips stay 3 mm apart, one open vowel at 10 mm.
PHONES = [["sil", 0.0, 0.4, -1], ["m", 0.5, 0.6, -1], ["ih", 0.6, 1.0, 0], ["P", 1.0, 1.1],
          ["aa1", 1.4, 1.6, 1], ["sil", 1.6, 2.0, -1]]
GAP = trace([(0.5, 0.6, 0.0), (1.4, 1.6, 10.0)])


def test_a_closure_that_is_there_and_one_that_is_not():
    gaps = bilabial_gaps_mm(GAP, PHONES, FPS)
    np.testing.assert_allclose(gaps, [0.0, 3.0])
    s = articulation_summary(gaps, open_vowel_openings_mm(GAP, PHONES, FPS))
    assert s["num_bilabials"] == 2 and s["closure_rate"] == 0.5
    assert s["bilabial_gap_mm"] == pytest.approx(1.5)
    assert s["num_open_vowels"] == 1 and s["open_vowel_opening_mm"] == pytest.approx(10.0)
    assert s["opening_to_gap_ratio"] == pytest.approx(10.0 / 1.5)


def test_lips_that_never_close_score_zero_and_a_closure_elsewhere_does_not_count():
    assert articulation_summary(bilabial_gaps_mm(trace([]), PHONES, FPS), [])["closure_rate"] == 0.0
    late = trace([(0.75, 0.85, 0.0)])  # closed 150 ms after the /m/ ended: outside its 40 ms tolerance
    assert bilabial_gaps_mm(late, PHONES, FPS)[0] == pytest.approx(3.0)
    # ... while a closure one frame off the aligner's boundary is the aligner's error, and counts
    just_after = trace([(0.63, 0.66, 0.0)])  # frame 19 only, 33 ms after the /m/ ended
    assert bilabial_gaps_mm(just_after, PHONES, FPS)[0] == 0.0
    assert bilabial_gaps_mm(just_after, PHONES, FPS, tolerance_s=0.0)[0] == pytest.approx(3.0)


def test_threshold_and_the_ratio_floor():
    gaps = np.array([0.0, CLOSED_GAP_MM, CLOSED_GAP_MM + 0.01])
    assert articulation_summary(gaps, [8.0])["closure_rate"] == pytest.approx(2 / 3)
    pressed = articulation_summary([0.0, 0.0], [8.0])  # lips that always touch: a finite ratio
    assert pressed["opening_to_gap_ratio"] == pytest.approx(8.0 / GAP_FLOOR_MM)
    empty = articulation_summary([], [])
    assert empty["num_bilabials"] == 0
    assert math.isnan(empty["closure_rate"]) and math.isnan(empty["opening_to_gap_ratio"])


def test_a_phone_shorter_than_a_frame_gets_the_nearest_frame():
    assert phone_frames(1.94, 1.95, FPS, 100, tolerance_s=0.0).tolist() == [58]  # 1.945 s * 30 = 58.35
    assert phone_frames(5.0, 5.1, FPS, 100).size == 0  # past the clip's end


def test_lip_gap_on_the_dtface_mesh():
    w = np.zeros((3, 52), np.float32)
    w[1, ARKIT52.index("jawOpen")] = 1.0
    w[2, ARKIT52.index("mouthPressLeft")] = w[2, ARKIT52.index("mouthPressRight")] = 1.0
    rest, open_, pressed = lip_gap_mm(w)
    assert CLOSED_GAP_MM < rest < 1.5  # the rest pose's slit, parted by a hair: not a closure
    assert open_ > 10.0
    assert pressed == 0.0  # rims overlapping under press: touching, clamped at 0
