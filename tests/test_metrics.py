"""Metric functions on inputs whose answers are computed by hand."""
import numpy as np
import pytest

from dtsdk.eval import (MetricError, diversity, evaluate_sequences, fdd_dataset, identity_diversity,
                        identity_retrieval_top1, identity_retrieval_topk, lip_vertex_error_max_l2,
                        lip_vertex_error_max_sq, lve_dataset, mean_vertex_error, speaker_style_error,
                        style_error, upper_face_dynamics_deviation)
from dtsdk.eval.identity import STYLE_COMPONENTS
from dtsdk.rigs.arkit import ARKIT52

LIPS = np.array([0, 1])
UPPER = np.array([2, 3])


def _zeros(t=2, v=5):
    return np.zeros((t, v, 3))


# ---- LVE -----------------------------------------------------------------------------------------
def test_lve_one_lip_vertex_offset_3mm_in_one_of_two_frames():
    gt = _zeros()
    pred = gt.copy()
    pred[0, 1] = [0.0, 3.0, 0.0]  # frame 0: lip vertex 1 is 3 mm off; frame 1 exact
    assert lip_vertex_error_max_l2(pred, gt, LIPS) == pytest.approx(1.5)  # (3 + 0) / 2 mm
    assert lip_vertex_error_max_sq(pred, gt, LIPS) == pytest.approx(4.5)  # (9 + 0) / 2 mm²


def test_lve_takes_the_max_over_lip_vertices_not_the_mean():
    gt = _zeros(t=1)
    pred = gt.copy()
    pred[0, 0] = [3.0, 4.0, 0.0]  # 5 mm
    pred[0, 1] = [1.0, 0.0, 0.0]  # 1 mm
    assert lip_vertex_error_max_l2(pred, gt, LIPS) == pytest.approx(5.0)
    assert lip_vertex_error_max_sq(pred, gt, LIPS) == pytest.approx(25.0)


def test_lve_ignores_non_lip_vertices():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(4, 5, 3))
    pred = gt + rng.normal(size=gt.shape)
    moved = pred.copy()
    moved[:, 2:] += 100.0  # vertices outside the lip region
    assert lip_vertex_error_max_l2(moved, gt, LIPS) == pytest.approx(lip_vertex_error_max_l2(pred, gt, LIPS))
    assert lip_vertex_error_max_sq(moved, gt, LIPS) == pytest.approx(lip_vertex_error_max_sq(pred, gt, LIPS))


def test_lve_dataset_pools_frames_not_sequence_means():
    gt_a, gt_b = _zeros(t=1), _zeros(t=3)
    pred_a = gt_a.copy()
    pred_a[0, 0] = [4.0, 0, 0]  # one frame at 4 mm
    pred_b = gt_b.copy()  # three exact frames
    out = lve_dataset([(pred_a, gt_a), (pred_b, gt_b)], LIPS)
    assert out["lve_max_l2_mm"] == pytest.approx(1.0)  # 4 / 4 frames, not (4 + 0) / 2 sequences
    assert out["lve_max_sq_mm2"] == pytest.approx(4.0)  # 16 / 4
    assert out["num_frames"] == 4


def test_lve_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    gt = _zeros()
    pred = gt.copy()
    pred[0, 1] = [0.0, 3.0, 0.0]
    assert lip_vertex_error_max_l2(torch.tensor(pred), torch.tensor(gt), LIPS) == pytest.approx(1.5)


def test_shape_mismatch_is_a_clear_error():
    with pytest.raises(MetricError, match="same"):
        lip_vertex_error_max_l2(_zeros(t=2), _zeros(t=3), LIPS)
    with pytest.raises(MetricError, match=r"\(T, V, 3\)"):
        mean_vertex_error(np.zeros((2, 5)), np.zeros((2, 5)))


# ---- MVE -----------------------------------------------------------------------------------------
def test_mve_known_value():
    gt = _zeros(t=2, v=2)
    pred = gt.copy()
    pred[0, 0] = [0, 0, 4.0]  # one of four vertex-frames at 4 mm
    assert mean_vertex_error(pred, gt) == pytest.approx(1.0)
    assert mean_vertex_error(pred, gt, idx=[0]) == pytest.approx(2.0)


# ---- FDD -----------------------------------------------------------------------------------------
def _moving(t=6, v=5, amp=2.0):
    x = _zeros(t, v)
    x[:, UPPER, 1] = amp * np.sin(np.linspace(0, 2 * np.pi, t))[:, None]  # brows go up and down
    return x


def test_fdd_zero_for_identical_motion():
    gt = _moving()
    assert upper_face_dynamics_deviation(gt.copy(), gt, UPPER, np.zeros((5, 3))) == pytest.approx(0.0)


def test_fdd_positive_when_prediction_is_static_and_gt_moves():
    gt, static = _moving(), _zeros(t=6)
    tmpl = np.zeros((5, 3))
    d = upper_face_dynamics_deviation(static, gt, UPPER, tmpl)
    expected = np.square(gt[:, UPPER, 1]).std(axis=0).mean()  # GT dynamics; the static side is 0
    assert d == pytest.approx(expected) and d > 0
    assert upper_face_dynamics_deviation(gt, static, UPPER, tmpl) == pytest.approx(-expected)


def test_fdd_dataset_means_over_sequences_signed_and_abs():
    gt, static = _moving(), _zeros(t=6)
    tmpl = np.zeros((5, 3))
    d = upper_face_dynamics_deviation(static, gt, UPPER, tmpl)
    out = fdd_dataset([(static, gt), (gt, static)], UPPER, tmpl)
    assert out["fdd_signed_mm2"] == pytest.approx(0.0)  # +d and -d cancel
    assert out["fdd_abs_mm2"] == pytest.approx(d)  # abs per sequence first


def test_fdd_ignores_lips():
    gt = _moving()
    pred = gt.copy()
    pred[:, LIPS] += np.arange(6)[:, None, None]  # only the lips move differently
    assert upper_face_dynamics_deviation(pred, gt, UPPER, np.zeros((5, 3))) == pytest.approx(0.0)


# ---- diversity -----------------------------------------------------------------------------------
def test_diversity_zero_for_identical_samples():
    s = np.repeat(_moving()[None], 4, axis=0)  # (K=4, T, V, 3)
    assert diversity(s) == pytest.approx(0.0)


def test_diversity_exact_for_known_offsets():
    base = _moving()
    # three samples offset by 0, 3 and 6 mm along x: pair distances 3, 6, 3 -> mean 4 mm
    s = np.stack([base, base + [3.0, 0, 0], base + [6.0, 0, 0]])
    assert diversity(s) == pytest.approx(4.0)
    assert identity_diversity(s[:2]) == pytest.approx(3.0)


def test_diversity_needs_two_samples():
    with pytest.raises(MetricError, match="at least 2"):
        diversity(_moving()[None])


# ---- retrieval -----------------------------------------------------------------------------------
def test_retrieval_top1():
    assert identity_retrieval_top1([0, 1, 2, 2], [0, 1, 2, 0]) == pytest.approx(0.75)


def test_retrieval_topk():
    probs = np.array([[0.7, 0.2, 0.1],   # true 0: rank 1
                      [0.5, 0.3, 0.2],   # true 1: rank 2
                      [0.6, 0.3, 0.1]])  # true 2: rank 3
    true = [0, 1, 2]
    assert identity_retrieval_topk(probs, true, k=1) == pytest.approx(1 / 3)
    assert identity_retrieval_topk(probs, true, k=2) == pytest.approx(2 / 3)
    assert identity_retrieval_topk(probs, true, k=3) == pytest.approx(1.0)
    # top-1 from the matrix equals top-1 from its argmax
    assert identity_retrieval_topk(probs, true, k=1) == identity_retrieval_top1(probs.argmax(1), true)


# ---- style ---------------------------------------------------------------------------------------
def _arkit(t=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 0.5, size=(t, 52))


def test_style_error_zero_for_identical_statistics():
    w = _arkit()
    # a time-reversed copy has exactly the same statistics (none of them depends on frame order)
    out = speaker_style_error(w[::-1].copy(), w)
    assert out["style_error"] == pytest.approx(0.0, abs=1e-12)
    assert set(out) == set(STYLE_COMPONENTS) | {"style_error"}


def test_style_error_positive_and_component_specific():
    w = _arkit()
    smirk = w.copy()
    smirk[:, ARKIT52.index("mouthSmileLeft")] += 0.2  # a lopsided resting smile
    out = speaker_style_error(smirk, w)
    assert out["style_error"] > 0
    assert out["asymmetry"] > 0 and out["corner_rest"] == pytest.approx(0.1)  # (0.2 + 0) / 2
    assert out["std"] == pytest.approx(0.0, abs=1e-12)  # a constant offset leaves the spread alone


def test_style_error_averages_over_speakers():
    a, b = _arkit(seed=1), _arkit(seed=2)
    out = style_error({"ann": [a[:20], a[20:]], "bob": b * 0.5}, {"ann": a, "bob": b})
    assert out["num_speakers"] == 2
    assert out["style_error"] == pytest.approx(0.5 * speaker_style_error(b * 0.5, b)["style_error"])
    with pytest.raises(MetricError, match="same"):
        style_error({"ann": a}, {"bob": b})


# ---- the whole set, on the dtface rig --------------------------------------------------------------
def test_evaluate_sequences_keys_carry_units_and_identity_is_zero():
    rng = np.random.default_rng(0)
    gt = [rng.uniform(0, 0.6, size=(12, 52)).astype(np.float32) for _ in range(2)]
    out = evaluate_sequences([(g, g, "ann") for g in gt])
    for key in ("lve_max_l2_mm", "lve_max_sq_mm2", "mve_mm", "fdd_signed_mm2", "fdd_abs_mm2", "style_error"):
        assert out[key] == pytest.approx(0.0, abs=1e-6), key
    assert out["num_sequences"] == 2 and out["num_frames"] == 24 and out["num_speakers"] == 1
    distances = [k for k in out if k.startswith(("lve", "mve", "fdd"))]
    assert all(k.endswith(("_mm", "_mm2")) for k in distances)


def test_evaluate_sequences_jaw_open_error_and_static_fdd():
    t = 10
    gt = np.zeros((t, 52), np.float32)
    gt[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, t)
    gt[:, ARKIT52.index("browInnerUp")] = np.abs(np.sin(np.linspace(0, 6, t)))
    static = np.zeros_like(gt)
    out = evaluate_sequences([(static, gt)])
    assert out["lve_max_l2_mm"] > 1.0  # a full jaw opening moves the lips by many mm
    assert out["lve_max_sq_mm2"] > out["lve_max_l2_mm"]  # squares of errors > 1 mm
    assert out["fdd_signed_mm2"] > 0  # static prediction under-animates the upper face
    assert out["fdd_abs_mm2"] == pytest.approx(out["fdd_signed_mm2"])
    assert "style_error" not in out  # no speaker given


def test_blink_count_counts_closures_not_frames():
    from dtsdk.eval import blink_count
    from dtsdk.rigs.arkit import ARKIT52

    w = np.zeros((100, 52))
    left, right = ARKIT52.index("eyeBlinkLeft"), ARKIT52.index("eyeBlinkRight")
    w[10:15, [left, right]] = 1.0  # one blink, five frames long
    w[40:42, [left, right]] = 0.8  # a second one
    w[70:73, left] = 1.0  # one eye only: the mean of both stays at 0.5, not above it -> a wink is no blink
    assert blink_count(w) == 2
    w[0:3, [left, right]] = 1.0  # a clip that starts with the eyes closed counts that closure
    assert blink_count(w) == 3
    assert blink_count(np.zeros((5, 52))) == 0
    with pytest.raises(Exception, match=r"\(T, 52\)"):
        blink_count(np.zeros((5, 51)))
