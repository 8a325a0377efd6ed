"""Evaluation metrics: vertex errors (:mod:`.metrics`), identity/style (:mod:`.identity`), the face at
rest in silence (:mod:`.silence`), and all of them over a test set (:mod:`.testset`).

Definitions, units and references: ``docs/metrics.md``.
"""
from dtsdk.eval.identity import (identity_retrieval_top1, identity_retrieval_topk, speaker_style_error,
                                 style_error, style_statistics, style_transfer_error)
from dtsdk.eval.metrics import (MetricError, blink_count, diversity, fdd_dataset, identity_diversity,
                                lip_vertex_error_max_l2, lip_vertex_error_max_sq, lve_dataset, mean_vertex_error,
                                upper_face_dynamics_deviation)
from dtsdk.eval.silence import silence_scores
from dtsdk.eval.testset import evaluate_sequences, to_vertices_mm

__all__ = [
    "MetricError", "lip_vertex_error_max_l2", "lip_vertex_error_max_sq", "lve_dataset", "mean_vertex_error",
    "upper_face_dynamics_deviation", "fdd_dataset", "diversity", "identity_diversity", "to_vertices_mm",
    "evaluate_sequences", "identity_retrieval_top1", "identity_retrieval_topk", "style_statistics",
    "speaker_style_error", "style_error", "style_transfer_error", "blink_count", "silence_scores",
]
