"""Every metric over a test set: vertex errors (:mod:`.metrics`) and the style error (:mod:`.identity`).

Inputs may be vertices, ARKit-52 weights or Animations; they are decoded onto a mesh rig here, so
the metric modules stay pure array functions.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from dtsdk.animation import Animation
from dtsdk.eval.identity import style_error
from dtsdk.eval.metrics import MetricError, fdd_dataset, lve_dataset, mean_vertex_error
from dtsdk.rigs import DEFAULT_MESH_RIG, get_rig


def to_vertices_mm(x, rig=DEFAULT_MESH_RIG) -> np.ndarray:
    """Vertices ``(T, V, 3)`` in mm from vertices (passed through), ARKit-52 weights ``(T, 52)`` or
    an :class:`~dtsdk.animation.Animation`, decoded onto ``rig`` (a mesh rig; default ``dtface``)."""
    if isinstance(x, Animation):
        return x.to_vertices(rig)
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x, dtype=np.float32)
    if a.ndim == 3:
        return a
    r = get_rig(rig)
    if a.ndim == 2 and a.shape[1] == 52:
        return r.decode(r.from_arkit(a))  # (T, V, 3) mm
    raise MetricError(f"expected vertices (T, V, 3), ARKit weights (T, 52) or an Animation, got shape {a.shape}")


def _arkit_or_none(x) -> np.ndarray | None:
    if isinstance(x, Animation):
        return x.arkit_weights() if x.names else None
    a = np.asarray(x.detach().cpu() if hasattr(x, "detach") else x)
    return a if a.ndim == 2 and a.shape[1] == 52 else None


def evaluate_sequences(pairs: Iterable[Sequence], rig=DEFAULT_MESH_RIG) -> dict[str, float]:
    """Every vertex metric (and the style error when it can be computed) over a test set.

    ``pairs``: ``(pred, gt)`` or ``(pred, gt, speaker)``; each side is vertices ``(T, V, 3)`` mm on
    ``rig``, ARKit-52 weights ``(T, 52)`` or an Animation, decoded onto ``rig`` (default
    ``dtface``, whose ``lips``/``upper_face`` regions and template are used). When the lengths
    differ both are trimmed to the shorter one, as the reference code does.

    Returns (keys carry their units): ``lve_max_l2_mm``, ``lve_max_sq_mm2`` (pooled over frames),
    ``mve_mm`` (pooled over frames), ``fdd_signed_mm2``, ``fdd_abs_mm2`` (mean over sequences),
    ``num_sequences``, ``num_frames``; and when every pair names a speaker and both sides are
    ARKit weights: ``style_error`` plus its components ``style_<component>`` (weight units).
    """
    r = get_rig(rig)
    lips, upper = r.regions.get("lips"), r.regions.get("upper_face")
    if lips is None or upper is None:
        raise MetricError(f"rig '{r.name}' needs 'lips' and 'upper_face' regions for evaluation")
    vert_pairs, mve_sum, frames = [], 0.0, 0
    style_pred: dict[str, list] = {}
    style_gt: dict[str, list] = {}
    style_ok = True
    for item in pairs:
        pred, gt = item[0], item[1]
        speaker = item[2] if len(item) > 2 else None
        p, g = to_vertices_mm(pred, r), to_vertices_mm(gt, r)
        n = min(len(p), len(g))
        p, g = p[:n], g[:n]
        vert_pairs.append((p, g))
        mve_sum += mean_vertex_error(p, g) * n  # weight by frames: pooled like LVE
        frames += n
        wp, wg = _arkit_or_none(pred), _arkit_or_none(gt)
        if speaker is None or wp is None or wg is None:
            style_ok = False
        else:
            style_pred.setdefault(speaker, []).append(wp[:n])
            style_gt.setdefault(speaker, []).append(wg[:n])
    if not vert_pairs:
        raise MetricError("evaluate_sequences: no sequences given")
    out = dict(lve_dataset(vert_pairs, lips))
    out["mve_mm"] = mve_sum / frames
    out.update(fdd_dataset(vert_pairs, upper, r.template_mm))
    out["num_sequences"] = len(vert_pairs)
    if style_ok:
        st = style_error(style_pred, style_gt)
        out["style_error"] = st.pop("style_error")
        out.update({f"style_{k}": v for k, v in st.items() if k != "num_speakers"})
        out["num_speakers"] = st["num_speakers"]
    return out


__all__ = ["to_vertices_mm", "evaluate_sequences"]
