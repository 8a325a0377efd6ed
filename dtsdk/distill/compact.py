"""A compact student: a smaller DiffusionTalker (encoder, mean network and denoiser all narrower)
trained to reproduce a full-size distilled student, so it samples with the same step count.

Knowledge distillation of every part at once, from the frozen full student, on the corpus's audio:
  * the mean network's motion against the full one's (masked MSE);
  * the denoiser's clean estimate at the student's own grid steps, on inputs noised from the data
    residual, against the full student's (the truncated-SNR weighted MSE of
    :mod:`dtsdk.distill.progressive`): matching it at those steps is matching its sampler;
  * the audio-to-identity head: KL of its match probabilities over the identity bank from the full
    one's, so ``auto`` picks the same speakers.
The identity bank and the null identity are copied and frozen: identities stay the teacher's (the
compact model's denoiser reads the same embeddings). The encoder is a new, smaller one learned
through these losses only; no feature of the full encoder is needed at run time (DiffusionTalker v2
does the same to drop its large pretrained encoder).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from dtsdk.distill.common import frozen_inputs, optimizer_step
from dtsdk.errors import DtsdkError
from dtsdk.model.objectives.base import masked_mean
from dtsdk.samplers.distilled import distilled_timesteps
from dtsdk.train.loop import lr_lambda
from dtsdk.utils.config import dataclass_from_dict

log = logging.getLogger("dtsdk.distill")


@dataclass
class CompactSettings:
    from_steps: int = 8  # the round's student it learns from (and the step count it samples with)
    model: dict = field(default_factory=dict)  # DiffusionTalkerConfig overrides: encoder_config, denoiser, ...
    steps: int = 8000
    lr: float = 1e-3
    warmup_steps: int = 200
    mean_weight: float = 1.0
    denoise_weight: float = 1.0
    match_weight: float = 0.1

    @classmethod
    def from_dict(cls, raw: dict, where: str) -> "CompactSettings":
        settings = dataclass_from_dict(cls, raw, f"{where}: compact")
        if settings.steps < 1 or not 0 <= settings.warmup_steps < settings.steps:
            raise DtsdkError(f"{where}: compact.steps must be >= 1 and compact.warmup_steps in [0, steps)")
        return settings


def compact_model(full, overrides: dict):
    """A smaller DiffusionTalker: the full model's config with ``overrides``, its identity bank, null
    identity and motion statistics copied (the bank frozen)."""
    from dtsdk.model import DiffusionTalker
    from dtsdk.model.config import DiffusionTalkerConfig

    fixed = {"identities", "motion_dim", "rig", "fps", "sample_rate", "personalizer"}
    if fixed & set(overrides):
        raise DtsdkError(f"compact.model may not change {', '.join(sorted(fixed & set(overrides)))}: the compact "
                         "student shares the full one's identities and motion space")
    base = full.config.to_dict()
    for key, value in overrides.items():
        base[key] = {**base[key], **value} if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    model = DiffusionTalker(DiffusionTalkerConfig.from_dict(base))
    with torch.no_grad():
        model.personalizer.bank.copy_(full.personalizer.bank)
        model.personalizer.null_identity.copy_(full.personalizer.null_identity)
        model.set_motion_stats(full.motion_mean, full.motion_std)
    model.personalizer.bank.requires_grad_(False)
    model.personalizer.null_identity.requires_grad_(False)
    return model


def compact_losses(compact, full, batch: dict, identity_dropout: float, generator: torch.Generator,
                   device) -> dict:
    """The three matching losses (see the module docstring) on one batch -> dict with the total in ``loss``."""
    x0, cond_full = frozen_inputs(full, batch, identity_dropout, generator, device)  # residual from full mean
    mask = cond_full["mask"]
    audio = compact.encoder(batch["audio"].to(device), x0.shape[1])  # (B, T, D_small)
    cond = {"audio": audio, "identity": cond_full["identity"], "mask": mask}
    mean_loss = masked_mean((compact.objective.mean(cond) - cond_full["mean"]) ** 2, mask)

    grid = torch.tensor(distilled_timesteps(full.schedule.num_steps, full.config.default_steps), device=device)
    t = grid[torch.randint(0, len(grid), (x0.shape[0],), generator=generator, device=device)]  # (B,)
    abar = full.schedule.abar(t, x0)  # (B, 1, 1)
    noise = torch.randn(x0.shape, generator=generator, device=device, dtype=x0.dtype)
    x_t = abar.sqrt() * x0 + (1 - abar).sqrt() * noise  # (B, T, D)
    with torch.no_grad():
        target = full.objective.denoise(x_t, t, cond_full)  # (B, T, D)
    weight = (abar / (1 - abar)).clamp(min=1.0)
    denoise_loss = masked_mean(weight * (compact.objective.denoise(x_t, t, cond) - target) ** 2, mask)

    with torch.no_grad():
        full_probs = full.personalizer.logits(full.personalizer.query(cond_full["audio"], mask)).softmax(-1)
    log_probs = compact.personalizer.logits(compact.personalizer.query(audio, mask)).log_softmax(-1)
    match_loss = F.kl_div(log_probs, full_probs, reduction="batchmean")
    return {"mean": mean_loss, "denoise": denoise_loss, "match": match_loss}


def distill_compact(full, settings: CompactSettings, batches, recipe, world, device, out: Path, progress=None):
    """Train a compact copy of the full student ``full`` for ``settings.steps``; returns (model, losses)."""
    full.eval().requires_grad_(False)
    # Every rank must start from the same weights (gradients are averaged, weights never broadcast); the
    # global RNG has drawn rank-specific noise by now, so seed it (found by the 2-process test)
    torch.manual_seed(recipe.seed * 1_000_003 + 555_555)
    compact = compact_model(full, settings.model).to(device).eval()  # eval: no dropout, the targets are exact
    params = [p for p in compact.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=settings.lr, weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(settings.warmup_steps, settings.steps))
    generator = torch.Generator(device=device)
    weights = {"mean": settings.mean_weight, "denoise": settings.denoise_weight, "match": settings.match_weight}
    window: dict[str, list[float]] = {}
    last: dict = {}
    t0 = time.perf_counter()
    with open(out / "metrics.jsonl", "a", encoding="utf-8") if world.is_main else _Nowhere() as metrics:
        for step in range(1, settings.steps + 1):
            generator.manual_seed((recipe.seed * 1_000_003 + 777_777 + step) * 4096 + world.rank)
            parts = compact_losses(compact, full, next(batches), recipe.identity_dropout, generator, device)
            parts["loss"] = sum(weights[k] * parts[k] for k in weights)
            optimizer_step(parts["loss"], params, optimizer, scheduler, world, recipe.grad_clip)
            for key, value in parts.items():
                window.setdefault(key, []).append(float(value.detach()))
            if step % recipe.log_every == 0 or step == settings.steps:
                last = {key: sum(v) / len(v) for key, v in window.items()}
                window = {}
                metrics.write(json.dumps({"round": "compact", "student_steps": full.config.default_steps, "step": step,
                                          **last, "lr": scheduler.get_last_lr()[0],
                                          "seconds": round(time.perf_counter() - t0, 2)}) + "\n")
                metrics.flush()
                log.info("compact step %d/%d loss %.5f (mean %.5f denoise %.5f match %.4f)", step, settings.steps,
                         last["loss"], last["mean"], last["denoise"], last["match"])
            if progress is not None and world.is_main:
                progress(step, last)
    compact.requires_grad_(False)
    compact.config = dataclasses.replace(compact.config)  # re-validated
    return compact, last


class _Nowhere:
    """A metrics file for ranks that do not write."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
