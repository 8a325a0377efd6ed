"""Evaluate a DiffusionTalker checkpoint on a corpus split: ``dtsdk eval MODEL --corpus DIR``.

Systems scored on the same clips (definitions and units: ``docs/metrics.md``):

- ``identity``: each clip animated with its speaker's own identity (only clips whose speaker the
  model knows; absent for held-out speakers);
- ``auto``: the identity matched from the audio, as a user with an unknown voice gets it; its
  ``identity_top1`` is the retrieval accuracy against the true speaker (known speakers only);
- ``generic``: the null identity (``identity=None``): what identity conditioning is compared with;
- ``resampled``: no model; the corpus generator itself, run again on each clip's stored phones,
  audio and speaker style with another seed (:mod:`dtsdk.corpus.resample`). A perfect generative
  model scores this, so it is the floor LVE, FDD, blinks and style error are judged against;
- ``static_mean_face``: the mean ARKit pose of the training split repeated, a floor every table
  needs (it scores diversity 0 and FDD = the ground truth's own upper-face dynamics).

Splits (:data:`EVAL_SPLITS`): ``test`` and ``heldout_test`` (natural clips); ``swapped_test`` (the
voice of training speaker A articulated in speaker B's style, labelled B: every system is scored
against B's ground truth, ``identity`` animates with B, and the result adds the style error against
A's own ground truth of the same audio, A's natural clip, with the share of clips closer to B;
:func:`dtsdk.eval.identity.style_transfer_error`); ``pause_test`` (long pauses and silence only: the
result adds the silence scores of :func:`dtsdk.eval.silence.silence_scores` on the frames
:func:`dtsdk.corpus.extras.silent_frames` marks).

A model trained without identities (``identity_dropout: 1.0``) is scored as ``generic`` only (and
the two systems that need no model). ``resampled`` and ``static_mean_face`` can be scored with no
model at all (``model=None``).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dtsdk.errors import DtsdkError
from dtsdk.rigs import DEFAULT_MESH_RIG, Rig, get_rig

# train/enroll are seen by training or enrollment: not test sets
EVAL_SPLITS = ("test", "heldout_test", "swapped_test", "pause_test")
RIG = DEFAULT_MESH_RIG  # ARKit predictions are decoded onto this mesh for the vertex metrics


def _clips(manifest: dict, split: str, limit: int | None, every: int = 1, speakers=None) -> list[dict]:
    clips = sorted((c for c in manifest["clips"] if c["split"] == split
                    and (speakers is None or c["speaker"] in speakers)), key=lambda c: c["clip"])
    if not clips:
        who = f" of speakers {', '.join(speakers)}" if speakers is not None else ""
        raise DtsdkError(f"split '{split}' of the corpus has no clips{who}")
    if every < 1:
        raise DtsdkError(f"--every must be at least 1, got {every}")
    clips = clips[::every]  # clips sort by speaker: a stride keeps every speaker in a subset
    return clips[:limit] if limit else clips


def _weights(root: Path, clip: dict) -> np.ndarray:
    from dtsdk.animation import Animation

    return Animation.load(root / clip["motion"]).arkit_weights().astype(np.float32)  # (T, 52)


def mean_training_pose(root: Path, manifest: dict) -> np.ndarray:
    """Mean ARKit pose over every frame of the training split's natural clips (52,): the static
    baseline's face. Pause and style-swapped clips stay out, so the baseline means the same on a
    corpus built with or without them (format-1 clips have no ``kind``: all natural)."""
    total, frames = np.zeros(52, np.float64), 0
    for clip in manifest["clips"]:
        if clip["split"] == "train" and clip.get("kind", "natural") == "natural":
            w = _weights(root, clip)
            total += w.sum(0)
            frames += len(w)
    if frames == 0:
        raise DtsdkError("the corpus has no training clips for the static mean-face baseline")
    return (total / frames).astype(np.float32)


class _System:
    """Predictions of one system, collected clip by clip, scored at the end."""

    def __init__(self, rig: Rig):
        self.rig = rig  # looked up once for the whole evaluation
        self.pairs: list[tuple] = []  # (pred weights, gt weights, speaker)
        self.diversities: list[float] = []
        self.transfer: list[tuple] = []  # swapped clips: (pred, gt B, gt A, style speaker B, voice speaker A)
        self.silence: tuple[list, list] = ([], [])  # pause clips: (weights, quiet, rest, style rate) of pred, gt

    def add(self, samples: list[np.ndarray], gt: np.ndarray, speaker: str, truth: "_Truth | None" = None) -> None:
        from dtsdk.eval import diversity, to_vertices_mm

        self.pairs.append((samples[0], gt, speaker))  # sample 0 (the plain --seed run) is the one scored
        if len(samples) >= 2:
            self.diversities.append(diversity(np.stack([to_vertices_mm(s, self.rig) for s in samples])))
        if truth is not None and truth.voice_gt is not None:
            self.transfer.append((samples[0], gt, truth.voice_gt, speaker, truth.voice_speaker))
        if truth is not None and truth.quiet is not None:
            self.silence[0].append((samples[0], truth.quiet, truth.rest, truth.blinks_per_min))
            self.silence[1].append((gt, truth.quiet, truth.rest, truth.blinks_per_min))

    def result(self, fps: float) -> dict:
        from dtsdk.eval import blink_count, evaluate_sequences, speaker_style_error

        out = evaluate_sequences(self.pairs, rig=self.rig)
        out["num_frames"] = int(sum(min(len(p), len(g)) for p, g, _ in self.pairs))
        minutes = out["num_frames"] / fps / 60
        out["blinks_per_min"] = sum(blink_count(p[:len(g)]) for p, g, _ in self.pairs) / minutes
        out["gt_blinks_per_min"] = sum(blink_count(g[:len(p)]) for p, g, _ in self.pairs) / minutes
        out["diversity_mm"] = float(np.mean(self.diversities)) if self.diversities else None
        speakers = sorted({s for _, _, s in self.pairs})
        out["style_error_per_speaker"] = {
            s: speaker_style_error([p[:len(g)] for p, g, k in self.pairs if k == s],
                                   [g[:len(p)] for p, g, k in self.pairs if k == s])["style_error"]
            for s in speakers}
        if self.transfer:
            from dtsdk.eval import style_transfer_error

            out.update({k: v for k, v in style_transfer_error(self.transfer).items() if k != "num_clips"})
        if any(quiet.any() for _, quiet, _, _ in self.silence[0]):  # a short pause may leave no frame at rest
            from dtsdk.eval import silence_scores

            gt = silence_scores(self.silence[1], fps)
            out.update({k: v for k, v in silence_scores(self.silence[0], fps).items() if k != "num_clips"})
            out.update({"silence_gt_blinks_per_min": gt["silence_blinks_per_min"],
                        "silence_gt_jaw_error": gt["silence_jaw_error"],
                        "silence_gt_brow_error": gt["silence_brow_error"]})
        return out


@dataclass(frozen=True)
class _Truth:
    """What a clip of ``swapped_test`` or ``pause_test`` is scored against beyond its ground truth."""

    voice_speaker: str  # whose voice the audio is (A on a swapped clip)
    voice_gt: np.ndarray | None = None  # swapped: (T, 52) the same audio in A's own style
    quiet: np.ndarray | None = None  # pause: (T,) bool, the frames at rest (silent_frames)
    rest: np.ndarray | None = None  # pause: (52,) the style speaker's rest pose
    blinks_per_min: float | None = None  # pause: the style speaker's blink rate


def clip_truth(root: Path, clip: dict, num_frames: int, fps: float, by_name: dict[str, dict], styles: dict) -> _Truth:
    """The extra ground truth of ``clip``: on a swapped clip, the voice speaker's own motion of the
    same audio (its natural clip, ``natural_clip``; when the voice has none, the clip re-articulated
    in the voice speaker's style, :func:`dtsdk.corpus.resample.resample_clip`); on a pause clip, its
    silent frames (of ``num_frames`` at ``fps``), its speaker's rest pose and blink rate. ``by_name``: the
manifest's clips by name; ``styles``: a speaker -> SpeakerStyle cache, filled as needed."""
    from dtsdk.corpus.extras import silent_frames
    from dtsdk.corpus.manifest import clip_style_speaker, clip_voice_speaker
    from dtsdk.corpus.resample import resample_clip, speaker_style
    from dtsdk.corpus.style import rest_pose

    def style(name):
        if name not in styles:
            styles[name] = speaker_style(root, name)
        return styles[name]

    voice, kind = clip_voice_speaker(clip), clip.get("kind", "natural")
    if kind == "swapped":
        natural = by_name.get(clip.get("natural_clip") or "")
        voice_gt = (_weights(root, natural) if natural is not None else
                    resample_clip(root, clip, style=style(voice))[0])
        return _Truth(voice, voice_gt=voice_gt)
    if kind == "pause":
        own = style(clip_style_speaker(clip))
        quiet = silent_frames(clip["silences"], num_frames, fps, float(clip["duration_s"]))
        return _Truth(voice, quiet=quiet, rest=rest_pose(own), blinks_per_min=own.blink_rate_per_min)
    return _Truth(voice)


SYSTEMS = ("identity", "auto", "generic", "resampled", "static_mean_face")
MODEL_FREE_SYSTEMS = ("resampled", "static_mean_face")  # scored without a model


def default_systems(model) -> tuple[str, ...]:
    """Every system a model can be scored as (a generic model has no identities to use; no model,
    ``None``, only the systems that need none)."""
    if model is None:
        return MODEL_FREE_SYSTEMS
    return ("generic", *MODEL_FREE_SYSTEMS) if model.is_generic else SYSTEMS


def evaluate_model(model, corpus, split: str = "test", num_samples: int = 2, steps: int | None = None,
                   limit: int | None = None, seed: int = 0, device=None, systems=None,
                   sampler: str | None = None, every: int = 1, guidance: float = 1.0,
                   windows: tuple[float, float] | None = None, identities: dict[str, str] | None = None,
                   speakers: list[str] | None = None) -> dict:
    """Score ``model`` (checkpoint dir, Hub id or DiffusionTalker) on ``split`` of ``corpus``.

    Each clip is animated as one batch of ``num_samples`` samples from ``seed`` (sample 0 is scored,
    all of them give the sample diversity); the ``resampled`` system draws ``num_samples`` times
    from the corpus generator with ``seed``. ``every=K`` scores every K-th clip (a quick subset
    that keeps all speakers), ``limit`` then caps the count. ``systems``: a subset of
    :data:`SYSTEMS` (default: all the model supports); ``model=None`` scores only
    :data:`MODEL_FREE_SYSTEMS`. ``sampler``/``steps``: default to the model's; ``guidance``:
    identity guidance weight (1 = none); ``windows``: ``(window_s, overlap_s)`` of ``Talker``
    (default its own); ``identities``: speaker -> the identity (a store name, Hub id or path) that the
    ``identity`` system animates that speaker's clips with, for speakers the model has no identity of
    (an enrolled held-out speaker); ``speakers``: score only these speakers' clips (before ``every``).
    Returns a JSON-able dict; every metric key carries its
    unit (``_mm``, ``_mm2``); unitless numbers are counts, accuracies in [0, 1] or ARKit weight units.
    """
    from dtsdk.corpus.manifest import clip_style_speaker, clip_voice_speaker, read_manifest
    from dtsdk.corpus.resample import resample_clip, speaker_style
    from dtsdk.eval import identity_retrieval_top1

    if split not in EVAL_SPLITS:
        raise DtsdkError(f"unknown evaluation split '{split}'; choose one of {', '.join(EVAL_SPLITS)}")
    if num_samples < 1:
        raise DtsdkError(f"--samples must be at least 1, got {num_samples}")
    started = time.perf_counter()
    root = Path(corpus)
    if not root.is_dir():
        raise DtsdkError(f"{corpus}: no such corpus folder")
    manifest = read_manifest(root)
    clips = _clips(manifest, split, limit, every, speakers)
    talker = _talker(model, sampler, steps, device, guidance, windows)
    supported = default_systems(talker.model if talker else None)
    systems = tuple(systems or supported)
    unknown = [name for name in systems if name not in supported]
    if unknown:
        what = "without a model" if talker is None else "for this model"
        raise DtsdkError(f"system(s) {', '.join(unknown)} cannot be scored {what}; choose from {', '.join(supported)}")
    known = set(talker.identities) if talker else set()
    mean_pose = mean_training_pose(root, manifest) if "static_mean_face" in systems else None
    styles: dict[str, object] = {}  # speaker -> SpeakerStyle, read once
    by_name = {c["clip"]: c for c in manifest["clips"]}
    fps = float(manifest["fps"])

    rig = get_rig(RIG)
    scored = {name: _System(rig) for name in systems}
    retrieved, truth = [], []
    total_frames = 0
    for clip in clips:
        # speaker: the identity label, whose style the motion is (B on a swapped clip); voice: whose audio
        gt, wav, speaker = _weights(root, clip), os.fspath(root / clip["wav"]), clip["speaker"]
        extra = clip_truth(root, clip, len(gt), fps, by_name, styles)
        voice = extra.voice_speaker
        total_frames += len(gt)

        def samples(identity):  # the samples are one batch: one encoder pass, one sampler loop
            runs = talker.animate(wav, seed=seed, num_samples=num_samples, identity=identity)
            return [runs] if num_samples == 1 else runs

        own = speaker if speaker in known else (identities or {}).get(speaker)
        if "identity" in scored and own is not None:
            scored["identity"].add([a.arkit_weights() for a in samples(own)], gt, speaker, extra)
        if "auto" in scored:
            runs = samples("auto")
            scored["auto"].add([a.arkit_weights() for a in runs], gt, speaker, extra)
            # Retrieval from audio finds whose voice it is (A on a swapped clip), and is only defined
            # against identities the model has.
            if voice in known:
                retrieved.append(talker.identities.index(runs[0].meta["identity"]))
                truth.append(talker.identities.index(voice))
        if "generic" in scored:
            scored["generic"].add([a.arkit_weights() for a in samples(None)], gt, speaker, extra)
        if "resampled" in scored:
            style_speaker = clip_style_speaker(clip)
            if style_speaker not in styles:
                styles[style_speaker] = speaker_style(root, style_speaker)
            draws = resample_clip(root, clip, seed=seed, draws=num_samples, style=styles[style_speaker])
            scored["resampled"].add(draws, gt, speaker, extra)
        if "static_mean_face" in scored:
            still = np.repeat(mean_pose[None], len(gt), axis=0)
            scored["static_mean_face"].add([still] * num_samples, gt, speaker, extra)  # diversity 0 by construction

    results = {name: system.result(fps) if system.pairs else None for name, system in scored.items()}
    if "auto" in results:
        results["auto"]["identity_top1"] = identity_retrieval_top1(retrieved, truth) if truth else None
        results["auto"]["num_retrieval_queries"] = len(truth)
    return {
        "model": talker.model_name if talker else None, "objective": talker.config.objective if talker else None,
        "corpus": os.fspath(root), "split": split,
        "rig": RIG, "num_clips": len(clips), "num_frames": total_frames,
        "speakers": sorted({c["speaker"] for c in clips}),
        "voice_speakers": sorted({clip_voice_speaker(c) for c in clips}),
        "model_identities": talker.identities if talker else [],
        "enrolled_identities": dict(identities or {}),
        "every": every, "num_samples": num_samples, "steps": talker.steps if talker else None,
        "sampler": talker.sampler if talker else None, "guidance": guidance,
        "windows_s": _talker_windows_s(talker),
        "seed": seed,
        "systems": results, "seconds": round(time.perf_counter() - started, 3),
    }


def _talker_windows_s(talker) -> list[float] | None:
    """(window, overlap) in seconds that ``talker`` animates with, for the results' record."""
    if talker is None:
        return None
    return [talker.window_frames / talker.config.fps, talker.overlap_frames / talker.config.fps]


def _talker(model, sampler, steps, device, guidance, windows=None):
    """The :class:`~dtsdk.inference.Talker` that scores ``model`` (``None`` for no model), checked
    to be an ARKit-52 model."""
    if model is None:
        return None
    from dtsdk.inference import Talker

    # Scores must not depend on what the user enrolled: `auto` picks among the model's own identities.
    window_kwargs = dict(zip(("window_s", "overlap_s"), windows)) if windows else {}
    talker = Talker(model, sampler=sampler, steps=steps, device=device, guidance=guidance, match_enrolled=False,
                    **window_kwargs)
    if not talker.config.is_arkit:
        raise DtsdkError(f"{talker.model_name}: dtsdk eval scores ARKit-52 models against a dtsdk corpus (decoded "
                         f"onto {RIG}); this model's motion space is '{talker.config.rig}' "
                         f"({talker.config.motion_dim} values a frame)")
    return talker


# Columns of the markdown table: (header, key); headers carry the unit.
TABLE_COLUMNS = (("LVE max-L2 (mm)", "lve_max_l2_mm"), ("LVE max-sq (mm²)", "lve_max_sq_mm2"),
                 ("MVE (mm)", "mve_mm"), ("FDD signed (mm²)", "fdd_signed_mm2"), ("FDD abs (mm²)", "fdd_abs_mm2"),
                 ("diversity (mm)", "diversity_mm"), ("blinks/min", "blinks_per_min"),
                 ("GT blinks/min", "gt_blinks_per_min"), ("style error", "style_error"),
                 ("identity top-1", "identity_top1"))


# Scores judged against the `resampled` floor (a perfect generative model's): (header, key).
FLOOR_COLUMNS = (("LVE x floor", "lve_max_l2_mm"), ("FDD abs x floor", "fdd_abs_mm2"),
                 ("style error x floor", "style_error"), ("blinks x floor", "blinks_per_min"))


def results_table(results: dict) -> str:
    """A markdown table (one row per system) of :func:`evaluate_model`'s result, for benchmark docs;
    with the ``resampled`` system among them, each score also as a multiple of its floor."""
    return comparison_table([(name, metrics) for name, metrics in results["systems"].items()],
                            floor=results["systems"].get("resampled"))


def comparison_table(rows, floor: dict | None = None) -> str:
    """A markdown table from ``[(row label, metrics dict or None), ...]``; ``None`` rows are skipped.

    ``floor``: the ``resampled`` system's metrics; when given, :data:`FLOOR_COLUMNS` follow, each a
    system's score divided by the floor's (1 = a perfect generative model; the deterministic
    regression can go below 1 on LVE, see docs/metrics.md).
    """
    columns = TABLE_COLUMNS + (FLOOR_COLUMNS if floor else ())
    header = "| system | " + " | ".join(h for h, _ in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for label, metrics in rows:
        if metrics is not None:
            cells = [_cell(metrics.get(key)) for _, key in TABLE_COLUMNS]
            if floor:
                cells += [_cell(_ratio(metrics.get(key), floor.get(key))) for _, key in FLOOR_COLUMNS]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _ratio(value, floor_value) -> float | None:
    if value is None or not floor_value:
        return None
    return float(value) / float(floor_value)


def _cell(value) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
