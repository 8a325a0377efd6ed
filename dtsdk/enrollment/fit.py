"""Fitting one new identity embedding to a frozen model (textual inversion for a talking identity).

Only the embedding ``e`` (E,) is optimised; every model parameter stays bit-identical (gradients
flow through the frozen model to ``e`` alone). Audio features are computed once, up front.

* Start: the audio-to-identity head's query for the user's audio (the mean direction of the
  per-window queries), scaled to the library's mean embedding length.
* Contrastive loss ("infonce"), always: the user's windows must pick ``e`` among the library's
  embeddings and ``e`` (audio -> bank, as in training), and each library embedding, standing in for
  its speaker's voice (training pulls a voice's queries onto its row), must still pick itself with
  ``e`` among the candidates, so ``e`` does not take the place of a library identity.
* With captures: plus the frozen model's own training loss on the user's (audio, motion) windows
  with ``e`` as their identity (for the residual objective: diffusion loss + mean network loss),
  the contrastive term weighted by the model's ``infonce_weight`` as in training.
* Audio only: the contrastive loss alone decides only the direction of ``e``, so its length is held
  at the starting length (the library's mean).
* The result is the mean of the iterates over the last half of the steps (``average_from``), not
  the last one.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from dtsdk.enrollment.scan import Recording

log = logging.getLogger("dtsdk.enroll")
PROGRESS_EVERY = 25  # steps between progress lines

@dataclass
class EnrollSettings:
    steps: int = 100  # optimiser steps
    learning_rate: float = 0.05  # Adam, relative to the library embeddings' typical coordinate size
    batch_windows: int = 8  # captured windows per step of the motion loss
    window_s: float = 4.0  # recordings are cut into windows of this length (the last one padded)
    seed: int = 0
    # the result is the mean of the iterates from this share of the steps on (Polyak averaging: the
    # motion loss's noisy gradients keep a constant-step Adam jittering around the optimum; measured in
    # docs/enrollment.md, where a cosine decay of the step did not help); 1.0: the last iterate alone
    average_from: float = 0.5


@dataclass
class Windows:
    """The recordings cut into windows, encoded once."""

    features: torch.Tensor  # (N, T, D_audio)
    mask: torch.Tensor  # (N, T) bool
    motion: torch.Tensor | None  # (M, T, D) normalised motion of the captured windows, or None
    captured: torch.Tensor  # (M,) long: which windows the motion rows belong to


@dataclass
class FitResult:
    embedding: torch.Tensor  # (E,)
    metrics: dict


def cut_windows(model, recordings: list[Recording], window_s: float, chunk: int = 32) -> Windows:
    """Recordings -> fixed-length windows (audio features through the frozen encoder, once)."""
    config = model.config
    frames = max(1, round(window_s * config.fps))
    samples = round(frames / config.fps * config.sample_rate)
    audio, masks, motion, captured = [], [], [], []
    for recording in recordings:
        num_frames = len(recording.motion) if recording.motion is not None else max(
            1, round(len(recording.audio) / config.sample_rate * config.fps))
        for start in range(0, num_frames, frames):
            valid = min(frames, num_frames - start)
            if valid < min(frames, 8) and start > 0:
                continue  # a tail of a few frames teaches nothing and only pads
            a0 = round(start / config.fps * config.sample_rate)
            piece = np.zeros(samples, dtype=np.float32)
            part = recording.audio[a0:a0 + samples]
            piece[:len(part)] = part
            mask = np.zeros(frames, dtype=bool)
            mask[:valid] = True
            if recording.motion is not None:
                m = np.zeros((frames, config.motion_dim), dtype=np.float32)
                m[:valid] = recording.motion[start:start + valid]
                captured.append(len(audio))
                motion.append(m)
            audio.append(piece)
            masks.append(mask)
    device = model.motion_mean.device
    wave = torch.from_numpy(np.stack(audio)).to(device)  # (N, S)
    with torch.no_grad():
        features = torch.cat([model.encoder(wave[i:i + chunk], frames).float()
                              for i in range(0, len(wave), chunk)])  # (N, T, D_audio)
    mask = torch.from_numpy(np.stack(masks)).to(device)  # (N, T)
    x0 = None
    if motion:
        x0 = (torch.from_numpy(np.stack(motion)).to(device) - model.motion_mean) / model.motion_std  # (M, T, D)
    return Windows(features, mask, x0, torch.tensor(captured, dtype=torch.long, device=device))


def fit_identity(model, windows: Windows, settings: EnrollSettings) -> FitResult:
    """Optimise one embedding against the frozen ``model``; the model's parameters are not touched."""
    started = time.perf_counter()
    personalizer = model.personalizer
    with torch.no_grad():
        queries = personalizer.query(windows.features, windows.mask)  # (N, E)
        bank = personalizer.bank.detach()  # (L, E)
        length = bank.norm(dim=-1).mean()
        start = F.normalize(F.normalize(queries, dim=-1).mean(0), dim=0) * length  # (E,)
    embedding = start.clone().requires_grad_(True)
    step_size = settings.learning_rate * float(length) / bank.shape[1] ** 0.5
    optimiser = torch.optim.Adam([embedding], lr=step_size)
    average, averaged = torch.zeros_like(start), 0
    first_averaged = min(settings.steps, max(1, int(settings.average_from * settings.steps)))
    generator = torch.Generator(device=bank.device).manual_seed(settings.seed)
    with_motion = windows.motion is not None
    temperature = personalizer.config.temperature
    for step in range(1, settings.steps + 1):
        infonce = contrastive_loss(queries, bank, embedding, temperature)
        loss = infonce
        if with_motion:
            pick = torch.randperm(len(windows.captured), generator=generator, device=bank.device)
            pick = pick[:settings.batch_windows]
            loss = motion_loss(model, windows, embedding, pick, generator) + model.config.infonce_weight * infonce
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if not with_motion:  # only the direction is learnt from audio alone
            with torch.no_grad():
                embedding.mul_(length / embedding.norm())
        if step >= first_averaged:
            average += embedding.detach()
            averaged += 1
        if step % PROGRESS_EVERY == 0 or step == settings.steps:
            log.info("step %d/%d: loss %.4f (%.1f s)", step, settings.steps, float(loss.detach()),
                     time.perf_counter() - started)
    final = embedding.detach() if averaged <= 1 else average / averaged
    if not with_motion:
        final = final * (length / final.norm())
    metrics = _metrics(model, windows, queries, bank, start, final, settings, temperature)
    metrics["fit_seconds"] = round(time.perf_counter() - started, 3)
    return FitResult(final, metrics)


def contrastive_loss(queries: torch.Tensor, bank: torch.Tensor, embedding: torch.Tensor,
                     temperature: float) -> torch.Tensor:
    """queries (N, E) of the user's windows, library bank (L, E), the new embedding (E,) -> scalar."""
    candidates = F.normalize(torch.cat([bank, embedding[None]]), dim=-1)  # (L + 1, E)
    user = F.normalize(queries, dim=-1) @ candidates.T / temperature  # (N, L + 1)
    mine = torch.full((len(queries),), len(bank), dtype=torch.long, device=queries.device)
    library = F.normalize(bank, dim=-1) @ candidates.T / temperature  # (L, L + 1)
    own = torch.arange(len(bank), device=bank.device)
    return 0.5 * (F.cross_entropy(user, mine) + F.cross_entropy(library, own))


def motion_loss(model, windows: Windows, embedding: torch.Tensor, pick: torch.Tensor,
                generator: torch.Generator | None) -> torch.Tensor:
    """The frozen model's training objective on captured windows ``pick`` with ``embedding`` as identity."""
    rows = windows.captured[pick]
    cond = {"audio": windows.features[rows], "identity": embedding.expand(len(rows), -1),
            "mask": windows.mask[rows]}
    return model.objective.training_loss(windows.motion[pick], cond, generator)["loss"]


def _metrics(model, windows, queries, bank, start, final, settings, temperature) -> dict:
    with torch.no_grad():
        candidates = F.normalize(torch.cat([bank, final[None]]), dim=-1)
        chosen = (F.normalize(queries, dim=-1) @ candidates.T).argmax(dim=-1)  # (N,)
        nearest = (F.normalize(bank, dim=-1) @ F.normalize(final, dim=0)).max(dim=0)
        metrics = {
            "steps": settings.steps, "windows": len(queries), "window_s": settings.window_s, "seed": settings.seed,
            "contrastive_loss_start": round(float(contrastive_loss(queries, bank, start, temperature)), 5),
            "contrastive_loss_end": round(float(contrastive_loss(queries, bank, final, temperature)), 5),
            "windows_matching_it": round(float((chosen == len(bank)).float().mean()), 4),
            "nearest_library_identity": model.config.identities[int(nearest.indices)],
            "nearest_library_cosine": round(float(nearest.values), 4),
        }
        if windows.motion is not None:
            every = torch.arange(min(len(windows.captured), 64), device=bank.device)

            def score(e):  # the same windows, noise and steps for both, so the two compare
                return float(motion_loss(model, windows, e, every, torch.Generator(bank.device).manual_seed(1)))

            metrics["motion_loss_start"] = round(score(start), 5)
            metrics["motion_loss_end"] = round(score(final), 5)
    return metrics
