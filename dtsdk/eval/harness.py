"""Evaluate a DiffusionTalker checkpoint on a corpus split: ``dtsdk eval MODEL --corpus DIR``.

Systems scored on the same clips (definitions and units: ``docs/metrics.md``):

- ``identity``: each clip animated with its speaker's own identity (only clips whose speaker the
  model knows; absent for held-out speakers);
- ``auto``: the identity matched from the audio, as a user with an unknown voice gets it; its
  ``identity_top1`` is the retrieval accuracy against the true speaker (known speakers only);
- ``static_mean_face``: the mean ARKit pose of the training split repeated, a floor every table
  needs (it scores diversity 0 and FDD = the ground truth's own upper-face dynamics).
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from dtsdk.errors import DtsdkError

EVAL_SPLITS = ("test", "heldout_test")  # train/enroll are seen by training or enrollment: not test sets
RIG = "dtface"  # ARKit predictions are decoded onto this mesh for the vertex metrics


def _clips(manifest: dict, split: str, limit: int | None) -> list[dict]:
    clips = sorted((c for c in manifest["clips"] if c["split"] == split), key=lambda c: c["clip"])
    if not clips:
        raise DtsdkError(f"split '{split}' of the corpus has no clips")
    return clips[:limit] if limit else clips


def _weights(root: Path, clip: dict) -> np.ndarray:
    from dtsdk.animation import Animation

    return Animation.load(root / clip["motion"]).arkit_weights().astype(np.float32)  # (T, 52)


def mean_training_pose(root: Path, manifest: dict) -> np.ndarray:
    """Mean ARKit pose over every frame of the training split (52,): the static baseline's face."""
    total, frames = np.zeros(52, np.float64), 0
    for clip in manifest["clips"]:
        if clip["split"] == "train":
            w = _weights(root, clip)
            total += w.sum(0)
            frames += len(w)
    if frames == 0:
        raise DtsdkError("the corpus has no training clips for the static mean-face baseline")
    return (total / frames).astype(np.float32)


class _System:
    """Predictions of one system, collected clip by clip, scored at the end."""

    def __init__(self):
        self.pairs: list[tuple] = []  # (pred weights, gt weights, speaker)
        self.diversities: list[float] = []

    def add(self, samples: list[np.ndarray], gt: np.ndarray, speaker: str) -> None:
        from dtsdk.eval import diversity, to_vertices_mm

        self.pairs.append((samples[0], gt, speaker))  # sample 0 (the plain --seed run) is the one scored
        if len(samples) >= 2:
            self.diversities.append(diversity(np.stack([to_vertices_mm(s, RIG) for s in samples])))

    def result(self) -> dict:
        from dtsdk.eval import evaluate_sequences, speaker_style_error

        out = evaluate_sequences(self.pairs, rig=RIG)
        out["num_frames"] = int(sum(min(len(p), len(g)) for p, g, _ in self.pairs))
        out["diversity_mm"] = float(np.mean(self.diversities)) if self.diversities else None
        speakers = sorted({s for _, _, s in self.pairs})
        out["style_error_per_speaker"] = {
            s: speaker_style_error([p[:len(g)] for p, g, k in self.pairs if k == s],
                                   [g[:len(p)] for p, g, k in self.pairs if k == s])["style_error"]
            for s in speakers}
        return out


def evaluate_model(model, corpus, split: str = "test", num_samples: int = 2, steps: int | None = None,
                   limit: int | None = None, seed: int = 0, device=None) -> dict:
    """Score ``model`` (checkpoint dir, Hub id or DiffusionTalker) on ``split`` of ``corpus``.

    Each clip is animated ``num_samples`` times with seeds ``seed, seed+1, ...`` (sample 0 is scored,
    all of them give the sample diversity). Returns a JSON-able dict; every metric key carries its
    unit (``_mm``, ``_mm2``); unitless numbers are counts, accuracies in [0, 1] or ARKit weight units.
    """
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.inference import Talker

    if split not in EVAL_SPLITS:
        raise DtsdkError(f"unknown evaluation split '{split}'; choose one of {', '.join(EVAL_SPLITS)}")
    if num_samples < 1:
        raise DtsdkError(f"--samples must be at least 1, got {num_samples}")
    started = time.perf_counter()
    root = Path(corpus)
    if not root.is_dir():
        raise DtsdkError(f"{corpus}: no such corpus folder")
    manifest = read_manifest(root)
    clips = _clips(manifest, split, limit)
    talker = Talker(model, steps=steps, device=device)
    known = set(talker.identities)
    mean_pose = mean_training_pose(root, manifest)

    own, auto, static = _System(), _System(), _System()
    retrieved, truth = [], []
    for clip in clips:
        gt, wav, speaker = _weights(root, clip), os.fspath(root / clip["wav"]), clip["speaker"]
        seeds = [seed + k for k in range(num_samples)]
        if speaker in known:
            own.add([talker.animate(wav, seed=s, identity=speaker).arkit_weights() for s in seeds], gt, speaker)
        runs = [talker.animate(wav, seed=s, identity="auto") for s in seeds]
        auto.add([a.arkit_weights() for a in runs], gt, speaker)
        if speaker in known:  # retrieval is only defined against identities the model has
            retrieved.append(talker.identities.index(runs[0].meta["identity"]))
            truth.append(talker.identities.index(speaker))
        still = np.repeat(mean_pose[None], len(gt), axis=0)
        static.add([still] * num_samples, gt, speaker)  # identical samples: diversity 0 by construction

    from dtsdk.eval import identity_retrieval_top1

    systems = {"identity": own.result() if own.pairs else None, "auto": auto.result(),
               "static_mean_face": static.result()}
    systems["auto"]["identity_top1"] = identity_retrieval_top1(retrieved, truth) if truth else None
    systems["auto"]["num_retrieval_queries"] = len(truth)
    return {
        "model": talker.model_name, "corpus": os.fspath(root), "split": split, "rig": RIG,
        "num_clips": len(clips), "num_frames": systems["auto"]["num_frames"],
        "speakers": sorted({c["speaker"] for c in clips}), "model_identities": talker.identities,
        "num_samples": num_samples, "steps": talker.steps, "sampler": talker.sampler, "seed": seed,
        "systems": systems, "seconds": round(time.perf_counter() - started, 3),
    }


# Columns of the markdown table: (header, key); headers carry the unit.
TABLE_COLUMNS = (("LVE max-L2 (mm)", "lve_max_l2_mm"), ("LVE max-sq (mm²)", "lve_max_sq_mm2"),
                 ("MVE (mm)", "mve_mm"), ("FDD signed (mm²)", "fdd_signed_mm2"), ("FDD abs (mm²)", "fdd_abs_mm2"),
                 ("diversity (mm)", "diversity_mm"), ("style error", "style_error"),
                 ("identity top-1", "identity_top1"))


def results_table(results: dict) -> str:
    """A markdown table (one row per system) of :func:`evaluate_model`'s result, for benchmark docs."""
    header = "| system | " + " | ".join(h for h, _ in TABLE_COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(TABLE_COLUMNS) + 1)]
    for name, metrics in results["systems"].items():
        if metrics is None:
            continue
        cells = [_cell(metrics.get(key)) for _, key in TABLE_COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
