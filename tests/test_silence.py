"""Silence scores (dtsdk.eval.silence) on synthetic traces whose answers are known by hand."""
from __future__ import annotations

import numpy as np
import pytest

from dtsdk.eval import MetricError, silence_scores
from dtsdk.eval.silence import quiet_runs
from dtsdk.rigs.arkit import ARKIT52

FPS = 30.0
JAW, BROW = ARKIT52.index("jawOpen"), ARKIT52.index("browInnerUp")
EYES = [ARKIT52.index("eyeBlinkLeft"), ARKIT52.index("eyeBlinkRight")]


def _trace(num_frames=600, quiet_from=120):
    """20 s at 30 fps: speech (wide jaw, raised brows, many blinks) for 4 s, then 16 s of silence
    where the jaw sits 0.03 above rest, the brows 0.04 below it on every other frame, 4 blinks."""
    rest = np.zeros(52)
    rest[JAW], rest[BROW] = 0.02, 0.1
    w = np.repeat(rest[None], num_frames, axis=0)
    quiet = np.zeros(num_frames, bool)
    quiet[quiet_from:] = True
    w[~quiet, JAW], w[~quiet, BROW] = 0.6, 0.5  # ignored: not quiet
    for start in range(0, quiet_from, 10):
        w[start:start + 3][:, EYES] = 1.0  # 12 blinks in speech, ignored
    w[quiet, JAW] += 0.03
    w[np.flatnonzero(quiet)[::2], BROW] -= 0.04
    for start in (200, 300, 400, 500):
        w[start:start + 3][:, EYES] = 1.0
    return w, quiet, rest


def test_quiet_runs():
    assert quiet_runs([0, 1, 1, 0, 0, 1]) == [slice(1, 3), slice(5, 6)]
    assert quiet_runs([1, 1]) == [slice(0, 2)] and quiet_runs([0, 0]) == []


def test_known_answers():
    w, quiet, rest = _trace()
    out = silence_scores([(w, quiet, rest, 12.0)], FPS)
    quiet_min = 480 / FPS / 60
    assert out["silence_jaw_error"] == pytest.approx(0.03)
    assert out["silence_brow_error"] == pytest.approx(0.02)  # 0.04 on half the quiet frames
    assert out["silence_blinks_per_min"] == pytest.approx(4 / quiet_min)  # 15 a minute
    assert out["silence_style_blinks_per_min"] == pytest.approx(12.0)
    assert out["silence_s"] == pytest.approx(16.0) and out["num_clips"] == 1


def test_the_rest_pose_scores_zero_and_rates_weigh_by_quiet_time():
    w, quiet, rest = _trace()
    still = np.repeat(rest[None], len(w), axis=0)
    short = np.zeros(len(w), bool)
    short[:160] = True  # a second clip with a third of the quiet time
    out = silence_scores([(still, quiet, rest, 12.0), (still, short, rest, 24.0)], FPS)
    assert out["silence_jaw_error"] == 0 and out["silence_brow_error"] == 0 and out["silence_blinks_per_min"] == 0
    assert out["silence_style_blinks_per_min"] == pytest.approx((12 * 480 + 24 * 160) / 640)
    assert silence_scores([(still, quiet, rest)], FPS)["silence_style_blinks_per_min"] is None


def test_each_quiet_run_counts_its_own_blinks():
    """A blink cut by a speech gap starts closed in the second run: it counts there once more,
    as blink_count counts a clip that starts closed."""
    w, _, rest = _trace()
    quiet = np.zeros(len(w), bool)
    quiet[150:301] = True
    quiet[302:450] = True  # frame 301 (mid-blink) is not quiet
    assert silence_scores([(w, quiet, rest)], FPS)["silence_blinks_per_min"] == pytest.approx(
        4 / ((151 + 148) / FPS / 60))  # 200 and 300 in the first run; 300 again and 400 in the second


def test_errors():
    w, quiet, rest = _trace()
    with pytest.raises(MetricError, match="no quiet frames"):
        silence_scores([(w, np.zeros(len(w), bool), rest)], FPS)
    with pytest.raises(MetricError, match="rest"):
        silence_scores([(w, quiet, rest[:51])], FPS)
