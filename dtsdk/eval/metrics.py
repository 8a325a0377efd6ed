"""Vertex-space metrics for speech-driven face animation: LVE, MVE, FDD, diversity.

Every function is pure: arrays in, numbers out. Vertices are millimetres ``(T, V, 3)``; numpy
arrays, torch tensors (through ``np.asarray``) and lists are accepted. Region indices are
1-D integer arrays into ``V`` (``Rig.regions["lips"]``, ``Rig.regions["upper_face"]``).
Definitions, formulas and references: ``docs/metrics.md``.

Units are in every name: ``_mm`` for distances, ``_mm2`` for squared distances. The squared
variants exist because the public baseline code (CodeTalker, FaceDiffuser) computes squared
errors while the FaceFormer paper text defines an L2 distance; published tables mix the two, so
dtsdk reports both under names that cannot be confused.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

from dtsdk.errors import DtsdkError
from dtsdk.rigs.arkit import ARKIT52


class MetricError(DtsdkError):
    """Inputs a metric cannot use (wrong shapes, empty regions, mismatched lengths)."""


# ---- input checks ------------------------------------------------------------------------------
def _vertices(x, name: str) -> np.ndarray:
    """``(T, V, 3)`` float64 (float64 so that pooled means over many frames do not drift)."""
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    if a.ndim != 3 or a.shape[2] != 3:
        raise MetricError(f"{name}: expected vertices (T, V, 3) in mm, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise MetricError(f"{name}: vertices contain NaN or Inf")
    return a


def _pair(pred, gt) -> tuple[np.ndarray, np.ndarray]:
    p, g = _vertices(pred, "pred"), _vertices(gt, "gt")
    if p.shape != g.shape:
        raise MetricError(f"pred {p.shape} and gt {g.shape} must have the same (T, V, 3); "
                          "trim both to the shorter length before calling (the reference code does)")
    return p, g


def _region(idx, num_vertices: int, name: str) -> np.ndarray:
    i = np.asarray(idx, dtype=np.int64).reshape(-1)
    if i.size == 0:
        raise MetricError(f"{name}: the region has no vertices")
    if i.min() < -num_vertices or i.max() >= num_vertices:
        raise MetricError(f"{name}: region indices must lie in [0, {num_vertices})")
    return i


# ---- lip vertex error ----------------------------------------------------------------------------
def lip_max_l2_per_frame_mm(pred, gt, lip_idx) -> np.ndarray:
    """Per frame, the largest Euclidean error over the lip vertices: ``(T,)`` in mm."""
    p, g = _pair(pred, gt)
    i = _region(lip_idx, p.shape[1], "lip_idx")
    d = np.linalg.norm(p[:, i] - g[:, i], axis=-1)  # (T, L) mm
    return d.max(axis=1)  # (T,)


def lip_max_sq_per_frame_mm2(pred, gt, lip_idx) -> np.ndarray:
    """Per frame, the largest squared Euclidean error over the lip vertices: ``(T,)`` in mm²."""
    p, g = _pair(pred, gt)
    i = _region(lip_idx, p.shape[1], "lip_idx")
    d2 = np.square(p[:, i] - g[:, i]).sum(axis=-1)  # (T, L) mm², no sqrt, as the reference code
    return d2.max(axis=1)  # (T,)


def lip_vertex_error_max_l2(pred, gt, lip_idx) -> float:
    """LVE as the FaceFormer paper defines it (mm): per frame the max over lip vertices of the L2
    distance, then the mean over frames. ``pred``, ``gt``: ``(T, V, 3)`` mm; ``lip_idx``: ``(L,)``."""
    return float(lip_max_l2_per_frame_mm(pred, gt, lip_idx).mean())


def lip_vertex_error_max_sq(pred, gt, lip_idx) -> float:
    """LVE as the CodeTalker/FaceDiffuser code computes it (mm²): per frame the max over lip vertices
    of the SQUARED L2 error, then the mean over frames. Divide by 1e6 to compare with numbers
    published on VOCASET (metres, so m²); BIWI numbers are already in mm²."""
    return float(lip_max_sq_per_frame_mm2(pred, gt, lip_idx).mean())


def lve_dataset(pairs: Iterable[tuple], lip_idx) -> dict[str, float]:
    """Both LVE variants over a test set, pooled over ALL frames of all sequences.

    The reference code concatenates every test frame before taking the mean, so a long sequence
    weighs more than a short one: this is the mean over frames, not the mean of per-sequence
    means. ``pairs``: iterable of ``(pred, gt)`` vertex arrays ``(T_i, V, 3)`` in mm.
    Returns ``{"lve_max_l2_mm", "lve_max_sq_mm2", "num_frames"}``.
    """
    l2, sq = [], []
    for pred, gt in pairs:
        l2.append(lip_max_l2_per_frame_mm(pred, gt, lip_idx))
        sq.append(lip_max_sq_per_frame_mm2(pred, gt, lip_idx))
    if not l2:
        raise MetricError("lve_dataset: no sequences given")
    l2_all, sq_all = np.concatenate(l2), np.concatenate(sq)  # (sum T_i,)
    return {"lve_max_l2_mm": float(l2_all.mean()), "lve_max_sq_mm2": float(sq_all.mean()),
            "num_frames": int(l2_all.size)}


# ---- mean vertex error ---------------------------------------------------------------------------
def mean_vertex_error(pred, gt, idx=None) -> float:
    """MVE (mm): the Euclidean distance per vertex and frame, averaged over vertices and frames.
    ``idx`` restricts it to a region (default: every vertex)."""
    p, g = _pair(pred, gt)
    if idx is not None:
        i = _region(idx, p.shape[1], "idx")
        p, g = p[:, i], g[:, i]
    return float(np.linalg.norm(p - g, axis=-1).mean())  # mean over (T, V)


# ---- upper-face dynamics deviation ---------------------------------------------------------------
def upper_face_dynamics_mm2(vertices, upper_idx, template) -> float:
    """The FDD building block for one sequence (mm²): per upper-face vertex the std over time of the
    squared displacement ``||v_t - template||²``, averaged over those vertices.
    ``vertices``: ``(T, V, 3)`` mm; ``template``: ``(V, 3)`` mm (the subject's neutral face)."""
    v = _vertices(vertices, "vertices")
    t = np.asarray(template, dtype=np.float64).reshape(-1, 3)
    if t.shape[0] != v.shape[1]:
        raise MetricError(f"template has {t.shape[0]} vertices, the sequence {v.shape[1]}")
    i = _region(upper_idx, v.shape[1], "upper_idx")
    motion_sq = np.square(v[:, i] - t[None, i]).sum(axis=-1)  # (T, U) mm², squared as FaceDiffuser's code
    return float(motion_sq.std(axis=0).mean())  # population std (numpy default, ddof=0), as the reference


def upper_face_dynamics_deviation(pred, gt, upper_idx, template) -> float:
    """Signed FDD for one sequence (mm²): ``dynamics(gt) - dynamics(pred)``.

    Positive means the prediction moves the upper face less than the ground truth (a static
    upper face scores the full GT dynamics); negative means it moves more. The absolute value is
    the per-sequence term of the abs variant; see :func:`fdd_dataset` for the averaging.
    """
    p, g = _pair(pred, gt)
    return upper_face_dynamics_mm2(g, upper_idx, template) - upper_face_dynamics_mm2(p, upper_idx, template)


def fdd_dataset(pairs: Iterable[tuple], upper_idx, template=None) -> dict[str, float]:
    """FDD over a test set, averaged over SEQUENCES (unlike LVE), as FaceDiffuser's code does.

    ``pairs``: ``(pred, gt)`` or ``(pred, gt, template)``; a per-pair template overrides the shared
    ``template`` ``(V, 3)`` (each subject has its own neutral face in VOCASET/BIWI).
    Returns ``{"fdd_signed_mm2": mean(d_s), "fdd_abs_mm2": mean(|d_s|)}``: the abs variant takes the
    absolute value per sequence before averaging, so over- and under-animation do not cancel.
    """
    diffs = []
    for item in pairs:
        pred, gt = item[0], item[1]
        tmpl = item[2] if len(item) > 2 and item[2] is not None else template
        if tmpl is None:
            raise MetricError("fdd_dataset: give a template (V, 3) in mm, shared or per pair")
        diffs.append(upper_face_dynamics_deviation(pred, gt, upper_idx, tmpl))
    if not diffs:
        raise MetricError("fdd_dataset: no sequences given")
    d = np.asarray(diffs)  # (S,) mm²
    return {"fdd_signed_mm2": float(d.mean()), "fdd_abs_mm2": float(np.abs(d).mean())}


# ---- diversity -----------------------------------------------------------------------------------
def diversity(samples, idx=None) -> float:
    """Mean pairwise per-vertex L2 distance (mm) between K animations of the same audio.

    ``samples``: ``(K, T, V, 3)`` mm, K >= 2. For each unordered pair (i < j): the Euclidean
    distance per frame and vertex, averaged over frames and vertices; then the mean over the
    K(K-1)/2 pairs. Whether this is *sample* diversity (K seeds, one identity) or *identity*
    diversity (one prediction per training identity, FaceDiffuser's protocol) depends only on how
    the K samples were made; :func:`identity_diversity` names the second. ``idx`` restricts it to
    a region (default: every vertex).
    """
    s = np.asarray(samples.detach().cpu() if hasattr(samples, "detach") else samples, dtype=np.float64)
    if s.ndim != 4 or s.shape[3] != 3:
        raise MetricError(f"diversity: expected samples (K, T, V, 3) in mm, got shape {s.shape}")
    k = s.shape[0]
    if k < 2:
        raise MetricError("diversity: needs at least 2 samples of the same audio")
    if idx is not None:
        s = s[:, :, _region(idx, s.shape[2], "idx")]
    total = 0.0
    for i in range(k):  # a loop over pairs keeps memory at one (T, V, 3) difference, not K²
        for j in range(i + 1, k):
            total += float(np.linalg.norm(s[i] - s[j], axis=-1).mean())
    return total / (k * (k - 1) / 2)


def identity_diversity(per_identity, idx=None) -> float:
    """Diversity across identities (mm): ``per_identity`` is ``(N_id, T, V, 3)``, one prediction of
    the same audio conditioned on each training identity (same seed, so that only the identity
    changes). Same formula as :func:`diversity`."""
    return diversity(per_identity, idx=idx)


# ---- blinks ------------------------------------------------------------------------------------
BLINK_THRESHOLD = 0.5  # eyeBlink weight above which the eye counts as closed


def blink_count(weights) -> int:
    """Blinks in ARKit-52 weights ``(T, 52)``: upward crossings of :data:`BLINK_THRESHOLD` by the
    mean of ``eyeBlinkLeft`` and ``eyeBlinkRight`` (a clip that starts closed counts once)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[1] != len(ARKIT52):
        raise MetricError(f"blink_count: expected ARKit-52 weights (T, 52), got shape {w.shape}")
    closed = w[:, [ARKIT52.index("eyeBlinkLeft"), ARKIT52.index("eyeBlinkRight")]].mean(1) > BLINK_THRESHOLD
    return int(closed[0]) + int((closed[1:] & ~closed[:-1]).sum())


__all__ = [
    "MetricError", "lip_max_l2_per_frame_mm", "lip_max_sq_per_frame_mm2", "lip_vertex_error_max_l2",
    "lip_vertex_error_max_sq", "lve_dataset", "mean_vertex_error", "upper_face_dynamics_mm2",
    "upper_face_dynamics_deviation", "fdd_dataset", "diversity", "identity_diversity",
    "blink_count", "BLINK_THRESHOLD",
]
