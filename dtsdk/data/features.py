"""Frozen-encoder features, computed once per training clip instead of once per step.

A frozen pretrained encoder (``dtsdk-whisper``'s, for one) learns nothing during training, yet a
step would run it on every crop: on whole 10 s clips that costs more than the denoiser itself. With
the recipe's ``precompute_features: true`` every training clip is encoded once, whole, as ``Talker``
encodes a sentence, and each step takes its crop's slice of those features. (A slice of the whole
clip's features is not bit for bit the crop encoded alone: attention saw the whole sentence. With
``crop: clip`` the crops keep 95% of their clips' frames, so this is the closer match to inference.)

The features are stored float16 in ``OUT/encoder-features.safetensors``, one tensor per clip, with
the encoder's name and config in the metadata; a resumed run (or a rerun into the same folder)
reuses them when encoder, clips and frame counts all agree, and recomputes them otherwise.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from dtsdk.errors import DtsdkError
from dtsdk.utils.atomic import atomic_path

log = logging.getLogger("dtsdk.train")

FEATURES_FILE = "encoder-features.safetensors"


def is_frozen(encoder: torch.nn.Module) -> bool:
    """True when training cannot change the encoder: it has no trainable parameter."""
    return not any(p.requires_grad for p in encoder.parameters())


def encoder_fingerprint(name: str, config: dict) -> str:
    return json.dumps({"encoder": name, "encoder_config": config}, sort_keys=True)


@torch.inference_mode()
def encode_clips(dataset, encoder: torch.nn.Module, device: torch.device,
                 log_every_s: float = 60.0) -> list[np.ndarray]:
    """Every clip of ``dataset`` encoded whole: a list of ``(T_clip, D)`` float16 arrays."""
    was_training = encoder.training
    encoder.eval()
    features, t0, last = [], time.perf_counter(), time.perf_counter()
    for index in range(len(dataset)):
        audio, motion = dataset.clip_arrays(index)
        wave = torch.from_numpy(audio).to(device)[None]  # (1, S)
        states = encoder(wave, motion.shape[0])[0]  # (T, D), often a transposed view
        features.append(np.ascontiguousarray(states.float().cpu().numpy(), dtype=np.float16))
        if time.perf_counter() - last > log_every_s:
            last = time.perf_counter()
            log.info("encoded %d/%d clips in %.0f s", index + 1, len(dataset), last - t0)
    encoder.train(was_training)
    return features


def load_features(path: Path, dataset, fingerprint: str) -> list[np.ndarray] | None:
    """The features stored at ``path`` if they belong to this encoder and these clips, else ``None``."""
    from safetensors import safe_open

    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="numpy") as f:
            if (f.metadata() or {}).get("encoder") != fingerprint:
                return None
            names = set(f.keys())
            if names != {clip.name for clip in dataset.clips}:
                return None
            features = [f.get_tensor(clip.name) for clip in dataset.clips]
    except Exception as exc:  # a truncated or foreign file: recompute rather than fail the run
        log.warning("%s: not reused (%s)", path, exc)
        return None
    for index, array in enumerate(features):
        if array.shape[0] != dataset.clip_motion(index).shape[0]:
            return None
    return features


def save_features(path: Path, dataset, features: list[np.ndarray], fingerprint: str) -> None:
    from safetensors.numpy import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        # C order: safetensors.numpy writes an array's buffer as it lies, so a transposed view would come
        # back scrambled (measured with safetensors 0.8.0: a (4, 3) transposed view of a (3, 4) array reads back wrong)
        save_file({clip.name: np.ascontiguousarray(array) for clip, array in zip(dataset.clips, features)}, str(tmp),
                  metadata={"encoder": fingerprint})


def cached_features(dataset, model, out: Path, device: torch.device, write: bool = True) -> list[np.ndarray]:
    """The frozen encoder's features of every clip of ``dataset``: from ``OUT/encoder-features.safetensors``
    when it matches, else computed (and, with ``write``, stored there atomically)."""
    if not is_frozen(model.encoder):
        raise DtsdkError(f"precompute_features needs a frozen encoder; '{model.config.encoder}' has trainable "
                         "parameters (its features change as it trains)")
    path = out / FEATURES_FILE
    fingerprint = encoder_fingerprint(model.config.encoder, model.config.encoder_config)
    features = load_features(path, dataset, fingerprint)
    if features is not None:
        log.info("reusing the encoder features in %s", path)
        return features
    log.info("encoding %d training clips once with the frozen encoder '%s'", len(dataset), model.config.encoder)
    features = encode_clips(dataset, model.encoder, device)
    if write:
        save_features(path, dataset, features, fingerprint)
    return features


__all__ = ["FEATURES_FILE", "cached_features", "encode_clips", "is_frozen", "load_features", "save_features"]
