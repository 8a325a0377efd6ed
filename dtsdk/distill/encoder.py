"""A small trainable audio encoder in place of a model's large frozen one (encoder distillation).

DiffusionTalker v2 drops its teacher's large pretrained speech encoder this way: a small encoder
learns to give the features the large one gives, on the training audio, and the model's mean
network, denoiser and identity head then read the small encoder's features as they are. Here the
large encoder is a frozen one (``whisper-tiny``: 8.2 M weights, a plugin and a 75 MB weights
package) and the small one the built-in ``logmel-conv`` with a linear head to the large one's width
(``out_dim``), so the model it gives needs neither the plugin nor the weights.

Loss: the mean squared error of the small encoder's features against the large one's, each feature
dimension standardised by the large features' statistics (so no dimension dominates), on random
crops of the training clips; the large encoder's features are those of each whole clip, computed
once (:mod:`dtsdk.data.features`). The small encoder hears the crop with noise added at a random
signal-to-noise ratio on a share of the crops, the large one's target stays the clean clip's: the
large encoder heard real voices and rooms, the small one hears only the corpus's TTS voices, so it
is taught to ignore what they do not vary.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from dtsdk.data.dataset import TalkingFaceDataset
from dtsdk.data.features import cached_features, is_frozen
from dtsdk.distill.common import optimizer_step
from dtsdk.errors import DtsdkError
from dtsdk.train.distributed import World
from dtsdk.train.loop import lr_lambda
from dtsdk.utils.config import dataclass_from_dict

log = logging.getLogger("dtsdk.distill")
SMALL_ENCODER = "logmel-conv"


@dataclass
class EncoderDistillSettings:
    # the shipped teacher's own log-mel encoder's size (1 M weights with the head to 384), not Whisper's 8 M
    encoder_config: dict = field(default_factory=lambda: {"dim": 128, "num_conv_layers": 3,
                                                          "num_transformer_layers": 2, "num_heads": 4})
    steps: int = 4000
    batch_size: int = 8
    window_s: float = 2.0  # crop length
    lr: float = 1e-3
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    noise_share: float = 0.5  # crops heard with added white noise
    noise_snr_db: list = field(default_factory=lambda: [10.0, 40.0])  # its SNR, uniform in this range
    seed: int = 0
    log_every: int = 100

    @classmethod
    def from_dict(cls, raw: dict, where: str) -> "EncoderDistillSettings":
        settings = dataclass_from_dict(cls, raw, f"{where}: encoder")
        checks = [(settings.steps >= 1 and 0 <= settings.warmup_steps < settings.steps,
                   "encoder.steps must be >= 1 and encoder.warmup_steps in [0, steps)"),
                  (0 <= settings.noise_share <= 1, "encoder.noise_share must be in [0, 1]"),
                  (len(settings.noise_snr_db) == 2 and settings.noise_snr_db[0] <= settings.noise_snr_db[1],
                   "encoder.noise_snr_db must be [low, high] in dB"),
                  ("out_dim" not in settings.encoder_config, "encoder.encoder_config.out_dim is the large "
                                                             "encoder's width; leave it out")]
        for ok, message in checks:
            if not ok:
                raise DtsdkError(f"{where}: {message}")
        return settings


def feature_stats(features: list[np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-dimension mean and std (D,) over every frame of every clip's features (float64 sums)."""
    total, squares, count = 0.0, 0.0, 0
    for array in features:
        frames = array.astype(np.float64)
        total, squares, count = total + frames.sum(0), squares + (frames ** 2).sum(0), count + len(frames)
    mean = total / count
    std = np.sqrt(np.maximum(squares / count - mean ** 2, 1e-12))
    return torch.from_numpy(mean).float(), torch.from_numpy(std).float()


def add_noise(wave: torch.Tensor, share: float, snr_db: list, generator: torch.Generator) -> torch.Tensor:
    """White noise at a random SNR (relative to each crop's RMS) on a random ``share`` of the batch (B, S)."""
    B = wave.shape[0]
    pick = torch.rand(B, generator=generator, device=wave.device) < share  # (B,)
    snr = torch.empty(B, device=wave.device).uniform_(snr_db[0], snr_db[1], generator=generator)  # (B,)
    rms = wave.pow(2).mean(-1).sqrt().clamp(min=1e-5)  # (B,)
    scale = rms / 10 ** (snr / 20) * pick  # (B,) 0 where no noise
    return wave + scale[:, None] * torch.randn(wave.shape, generator=generator, device=wave.device)


def small_encoder_model(model, encoder_config: dict):
    """``model`` with a new ``logmel-conv`` encoder as wide as its own (weights of everything else copied)."""
    from dtsdk.model import DiffusionTalker

    from dtsdk.model.config import DiffusionTalkerConfig

    config = {**model.config.to_dict(), "encoder": SMALL_ENCODER,
              "encoder_config": {**encoder_config, "out_dim": int(model.encoder.feature_dim)}}
    small = DiffusionTalker(DiffusionTalkerConfig.from_dict(config))
    rest = {k: v for k, v in model.state_dict().items() if not k.startswith("encoder.")}
    missing, unexpected = small.load_state_dict(rest, strict=False)
    if unexpected or any(not k.startswith("encoder.") for k in missing):
        raise DtsdkError(f"the model does not take a new encoder cleanly: missing {missing}, unexpected {unexpected}")
    return small


def distill_encoder(model, corpus, settings: EncoderDistillSettings, out: Path, device: torch.device,
                    progress=None):
    """Train a small encoder on ``corpus``'s training clips to give ``model``'s frozen encoder's features;
    returns (``model`` with the small encoder, the last logged losses). Writes ``out/metrics.jsonl``."""
    if not is_frozen(model.encoder):
        raise DtsdkError(f"encoder distillation replaces a frozen encoder; '{model.config.encoder}' is trainable "
                         "(distil the model as it is)")
    data = TalkingFaceDataset.from_corpus(corpus, "train", window_s=settings.window_s, seed=settings.seed,
                                          speakers=model.config.identities)
    data.features = cached_features(data, model, out, device)
    mean, std = (t.to(device) for t in feature_stats(data.features))
    torch.manual_seed(settings.seed)
    small = small_encoder_model(model, settings.encoder_config).to(device)
    encoder = small.encoder.train()
    params = list(encoder.parameters())
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(settings.warmup_steps, settings.steps))
    generator = torch.Generator(device=device).manual_seed(settings.seed)
    loader = torch.utils.data.DataLoader(data, batch_size=settings.batch_size, shuffle=True, drop_last=True,
                                         generator=torch.Generator().manual_seed(settings.seed))
    window, last, step, t0 = [], {}, 0, time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as metrics:
        while step < settings.steps:
            data.set_epoch(step // len(loader))
            for batch in loader:
                step += 1
                loss = _feature_loss(encoder, batch, mean, std, settings, generator, device)
                optimizer_step(loss, params, optimizer, scheduler, World(), settings.grad_clip)  # one process
                window.append(float(loss.detach()))
                if step % settings.log_every == 0 or step == settings.steps:
                    last = {"loss": sum(window) / len(window)}
                    window = []
                    row = {"round": "encoder", "step": step, **last, "lr": scheduler.get_last_lr()[0],
                           "seconds": round(time.perf_counter() - t0, 2)}
                    metrics.write(json.dumps(row) + "\n")
                    metrics.flush()
                    log.info("encoder step %d/%d loss %.4f", step, settings.steps, last["loss"])
                if progress is not None:
                    progress(step, last)
                if step >= settings.steps:
                    break
    small.eval().requires_grad_(False)
    return small, last


def _feature_loss(encoder, batch: dict, mean, std, settings: EncoderDistillSettings, generator, device):
    wave = add_noise(batch["audio"].to(device), settings.noise_share, settings.noise_snr_db, generator)  # (B, S)
    target = (batch["features"].to(device) - mean) / std  # (B, T, D)
    mask = batch["mask"].to(device).bool()  # (B, T)
    pred = (encoder(wave, target.shape[1]) - mean) / std  # (B, T, D)
    return ((pred - target) ** 2).mean(-1)[mask].mean()


@torch.no_grad()
def feature_agreement(small, large, waves: list[np.ndarray], fps: float, sample_rate: int) -> float:
    """Mean per-frame cosine between the two encoders' features on whole recordings ``waves``."""
    cosines = []
    for wave in waves:
        frames = max(1, round(len(wave) / sample_rate * fps))
        x = torch.from_numpy(np.asarray(wave, np.float32))[None]
        a, b = small.encoder(x, frames)[0], large.encoder(x, frames)[0]  # (T, D)
        cosines.append(torch.nn.functional.cosine_similarity(a, b, dim=-1).mean().item())
    return float(np.mean(cosines))


__all__ = ["EncoderDistillSettings", "distill_encoder", "feature_agreement", "small_encoder_model"]
