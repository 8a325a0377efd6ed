"""Identity metrics: retrieval accuracy (audio -> identity library) and a per-speaker style error.

Pure functions on numpy arrays (torch tensors accepted). Definitions: ``docs/metrics.md``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from dtsdk.eval.metrics import MetricError
from dtsdk.rigs.arkit import ARKIT52

# ---- retrieval -----------------------------------------------------------------------------------


def identity_retrieval_top1(pred_indices, true_indices) -> float:
    """Top-1 retrieval accuracy in [0, 1]: the fraction of queries whose predicted identity index
    equals the true one. ``pred_indices``, ``true_indices``: ``(N,)`` integers."""
    p = np.asarray(pred_indices).reshape(-1)
    t = np.asarray(true_indices).reshape(-1)
    if p.shape != t.shape or p.size == 0:
        raise MetricError(f"identity_retrieval_top1: need equal, non-empty (N,) arrays, got {p.shape} and {t.shape}")
    return float((p == t).mean())


def identity_retrieval_topk(scores, true_indices, k: int = 5) -> float:
    """Top-k retrieval accuracy in [0, 1] from a score matrix ``(N, num_identities)`` (probabilities,
    logits or similarities: only the order matters). A query counts when its true identity is
    among its k highest scores. Ties are broken by the lower identity index (stable sort), so a
    constant score row is not counted as a hit for every identity."""
    s = np.asarray(scores.detach().cpu() if hasattr(scores, "detach") else scores, dtype=np.float64)
    t = np.asarray(true_indices, dtype=np.int64).reshape(-1)
    if s.ndim != 2 or s.shape[0] != t.size or s.shape[0] == 0:
        raise MetricError(f"identity_retrieval_topk: need scores (N, C) and true_indices (N,), "
                          f"got {s.shape} and {t.shape}")
    if not 1 <= k:
        raise MetricError(f"identity_retrieval_topk: k must be >= 1, got {k}")
    if t.min() < 0 or t.max() >= s.shape[1]:
        raise MetricError(f"identity_retrieval_topk: true indices must lie in [0, {s.shape[1]})")
    top = np.argsort(-s, axis=1, kind="stable")[:, :k]  # (N, k) identity indices, best first
    return float((top == t[:, None]).any(axis=1).mean())


# ---- per-speaker style ---------------------------------------------------------------------------
_IDX = {n: i for i, n in enumerate(ARKIT52)}
# Left/right channel pairs: asymmetry is a signed per-pair mean, so a speaker who smiles lopsided
# keeps that sign and a model that symmetrizes them is penalized.
# jawLeft/Right and mouthLeft/Right are included: their difference is a lateral bias of the jaw
# or mouth. Gaze (eyeLook*) is excluded: it follows where the speaker looks, not their face.
_LR_PAIRS = np.array([(_IDX[n], _IDX[n[:-4] + "Right"]) for n in ARKIT52
                      if n.endswith("Left") and not n.startswith("eyeLook")])  # (P, 2)
_JAW = _IDX["jawOpen"]
_CORNERS_UP = [_IDX["mouthSmileLeft"], _IDX["mouthSmileRight"]]
_CORNERS_DOWN = [_IDX["mouthFrownLeft"], _IDX["mouthFrownRight"]]
STYLE_COMPONENTS = ("mean", "std", "jaw_amplitude", "asymmetry", "corner_rest")
REST_QUANTILE = 0.2  # frames with jawOpen at or below this speaker's 20th percentile count as "rest"


def _weights(x, name: str) -> np.ndarray:
    if isinstance(x, (list, tuple)):  # several sequences of one speaker: pool their frames
        x = np.concatenate([_weights(a, name) for a in x], axis=0)
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != 52 or a.shape[0] < 2:
        raise MetricError(f"{name}: expected ARKit-52 weights (T>=2, 52) in Apple's order, got shape {a.shape}")
    return a


def style_statistics(weights) -> dict[str, np.ndarray]:
    """Per-speaker style statistics of ARKit-52 weights ``(T, 52)`` (or a list of such, pooled).

    - ``mean`` (52,), ``std`` (52,): per channel over all frames.
    - ``jaw_amplitude`` (1,): 95th minus 5th percentile of jawOpen (robust to a few outlier frames).
    - ``asymmetry`` (P,): mean of Left minus Right for each mirrored pair (brows, blink, smile, ...).
    - ``corner_rest`` (1,): mouth-corner resting offset, mean of (smile - frown) averaged over both
      sides on rest frames (jawOpen at or below its 20th percentile): a resting smirk or droop.
    All in ARKit weight units (dimensionless, nominally [0, 1]).
    """
    w = _weights(weights, "weights")
    jaw = w[:, _JAW]  # (T,)
    rest = jaw <= np.quantile(jaw, REST_QUANTILE)  # (T,) bool, never empty
    corner = w[:, _CORNERS_UP].mean(axis=1) - w[:, _CORNERS_DOWN].mean(axis=1)  # (T,)
    return {
        "mean": w.mean(axis=0),
        "std": w.std(axis=0),
        "jaw_amplitude": np.array([np.quantile(jaw, 0.95) - np.quantile(jaw, 0.05)]),
        "asymmetry": (w[:, _LR_PAIRS[:, 0]] - w[:, _LR_PAIRS[:, 1]]).mean(axis=0),
        "corner_rest": np.array([corner[rest].mean()]),
    }


def speaker_style_error(pred, gt) -> dict[str, float]:
    """Style error of one speaker: for each statistic of :func:`style_statistics`, the mean absolute
    difference between prediction and ground truth; ``style_error`` is the mean of the five
    components (each weighs the same, whatever its length). ``pred``, ``gt``: weights ``(T, 52)``
    or lists of them (all test sequences of that speaker; the lengths need not match)."""
    sp, sg = style_statistics(pred), style_statistics(gt)
    out = {c: float(np.abs(sp[c] - sg[c]).mean()) for c in STYLE_COMPONENTS}
    out["style_error"] = float(np.mean([out[c] for c in STYLE_COMPONENTS]))
    return out


def style_error(pred: Mapping[str, object], gt: Mapping[str, object]) -> dict[str, float]:
    """Per-speaker style error averaged over speakers (each speaker weighs the same).

    ``pred``, ``gt``: ``{speaker: weights (T, 52) or [weights, ...]}`` with the same speakers.
    Returns ``style_error`` and each component averaged over speakers, plus ``num_speakers``.
    """
    if set(pred) != set(gt) or not gt:
        raise MetricError(f"style_error: pred and gt must name the same, non-empty set of speakers; "
                          f"got {sorted(pred)} and {sorted(gt)}")
    per = [speaker_style_error(pred[s], gt[s]) for s in sorted(gt)]
    out = {k: float(np.mean([p[k] for p in per])) for k in per[0]}
    out["num_speakers"] = len(per)
    return out


def style_transfer_error(clips) -> dict[str, float | int]:
    """Style scores of motion made for one voice in another speaker's style (``swapped_test``).

    ``clips``: ``(pred, style_gt, voice_gt, style_speaker, voice_speaker)`` per clip: the prediction
    for identity B on speaker A's audio, B's ground truth of that audio (the swapped clip), A's own
    ground truth of it (A's natural clip of the same audio), and the two names; weights ``(T, 52)``.

    Returns ``style_error_vs_style`` (:func:`style_error` against B's ground truth, clips pooled per
    style speaker), ``style_error_vs_voice`` (against A's, pooled per voice speaker): a model that
    follows the identity scores low on the first and high on the second, one whose style leaks from
    the voice the other way round; ``style_closer_share``: the fraction of clips whose own
    :func:`speaker_style_error` against B's ground truth is below the one against A's, in [0, 1];
    ``num_clips``.
    """
    clips = list(clips)
    if not clips:
        raise MetricError("style_transfer_error: no clips given")
    by_style: tuple[dict, dict] = ({}, {})
    by_voice: tuple[dict, dict] = ({}, {})
    closer = 0
    for pred, style_gt, voice_gt, style_speaker, voice_speaker in clips:
        n = min(len(pred), len(style_gt), len(voice_gt))
        p, b, a = pred[:n], style_gt[:n], voice_gt[:n]
        by_style[0].setdefault(style_speaker, []).append(p)
        by_style[1].setdefault(style_speaker, []).append(b)
        by_voice[0].setdefault(voice_speaker, []).append(p)
        by_voice[1].setdefault(voice_speaker, []).append(a)
        closer += speaker_style_error(p, b)["style_error"] < speaker_style_error(p, a)["style_error"]
    return {"style_error_vs_style": style_error(*by_style)["style_error"],
            "style_error_vs_voice": style_error(*by_voice)["style_error"],
            "style_closer_share": closer / len(clips), "num_clips": len(clips)}


__all__ = ["identity_retrieval_top1", "identity_retrieval_topk", "style_statistics",
           "speaker_style_error", "style_error", "style_transfer_error", "STYLE_COMPONENTS"]
