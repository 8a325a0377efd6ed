"""The training loop: ``train(recipe) -> summary``.

One code path for one process and for `torchrun` (DDP): a DistributedSampler (one replica when not
distributed) decides the clip order per epoch, and all randomness is reseeded every step from
(seed, step, rank), so `resume` only needs weights, optimizer, scheduler and the step number to
continue exactly where an uninterrupted run would be.
"""
from __future__ import annotations

import collections
import hashlib
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable

import numpy as np
import torch
from torch import nn

from dtsdk.data.dataset import LengthBatchSampler, TalkingFaceDataset
from dtsdk.data.features import cached_features
from dtsdk.data.sources import training_data
from dtsdk.errors import DtsdkError
from dtsdk.model.diffusion_talker import DiffusionTalker
from dtsdk.train.distributed import World, barrier, close_world, gather_strings, init_world, mean_across
from dtsdk.train.recipe import TrainRecipe
from dtsdk.train.state import load_checkpoint, save_checkpoint
from dtsdk.utils.device import autocast, autocast_dtype, resolve_device

log = logging.getLogger("dtsdk.train")


class _LossModule(nn.Module):
    """DDP only syncs gradients through ``forward``; this routes ``training_loss`` through it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, batch: dict, generator: torch.Generator) -> dict:
        return self.model.training_loss(batch, generator)


def motion_stats(dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (D,) over every frame of the dataset's clips (float64 sums)."""
    frames = np.concatenate([dataset.clip_motion(i) for i in range(len(dataset))])  # (N, D); fills its cache too
    return torch.from_numpy(frames.mean(0)).float(), torch.from_numpy(frames.std(0)).float()


def lr_lambda(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Linear warmup to 1, then cosine decay to 0 at ``total_steps`` (multiplier on the recipe lr)."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
    return factor


def make_optimizer(model: nn.Module, recipe: TrainRecipe) -> torch.optim.Optimizer:
    # No weight decay on biases, norms and embeddings' 1-D vectors: decaying them only hurts.
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                              {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr)


def weights_digest(model: nn.Module) -> str:
    h = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def _seed_step(seed: int, step: int, rank: int, generator: torch.Generator) -> None:
    # Deterministic per (seed, step, rank): ranks draw different noise, and a resumed run the same.
    value = (seed * 1_000_003 + step) * 4096 + rank
    torch.manual_seed(value)  # dropout
    generator.manual_seed(value)  # diffusion t, noise, identity dropout


def _drop_rows_after(path: Path, step: int) -> None:
    if path.is_file():
        rows = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= step]
        path.write_text("".join(row + "\n" for row in rows))


def _to(batch: dict, device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


@torch.no_grad()
def heldout_loss(model, corpus, recipe: TrainRecipe, device, split: str = "test") -> float | None:
    """Mean training loss on the first window of every clip of ``split`` with fixed noise (a stub for eval)."""
    try:
        data = TalkingFaceDataset.from_corpus(corpus, split, window_s=recipe.window_s, random_crop=False,
                                              speakers=model.config.identities)
    except DtsdkError:
        return None
    model.eval()
    generator = torch.Generator(device=device).manual_seed(recipe.seed)
    total, count = 0.0, 0
    if recipe.crop in ("clip", "span"):  # whole clips, also for span: the score should not vary by draw
        loader = torch.utils.data.DataLoader(data, batch_sampler=LengthBatchSampler(
            data, recipe.batch_size, data.window_frames, seed=recipe.seed, drop_last=False))
    else:
        loader = torch.utils.data.DataLoader(data, batch_size=recipe.batch_size)
    for batch in loader:
        batch = _to(batch, device)
        n = batch["motion"].shape[0]
        total += float(model.training_loss(batch, generator)["loss"]) * n
        count += n
    model.train()
    return total / count


# ---- one run: set-up, steps, checkpoints, summary ---------------------------------------------------
@dataclass
class _Run:
    """What one training run holds between its set-up, its steps and its summary."""

    recipe: TrainRecipe
    out: Path
    world: World
    device: torch.device
    data: TalkingFaceDataset
    model: DiffusionTalker
    sampler: torch.utils.data.DistributedSampler
    loader: torch.utils.data.DataLoader
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    engine: nn.Module  # the model's loss, wrapped in DDP when distributed
    scaler: torch.amp.GradScaler | None  # fp16 autocast only
    generator: torch.Generator
    step: int  # optimizer steps done, counting those before a resume
    metrics: IO[str] | None = None  # OUT/metrics.jsonl, open on rank 0
    last: dict = field(default_factory=dict)  # the losses last logged

    @property
    def extra(self) -> dict:
        """What every checkpoint's trainer state records besides the step."""
        return {"recipe": self.recipe.to_dict(), "world_size": self.world.size}


def train(recipe: TrainRecipe, output: str | None = None, resume: str | None = None,
          progress: Callable[[int, dict], None] | None = None) -> dict:
    """Train a DiffusionTalker as ``recipe`` says; returns a summary dict.

    Writes ``OUT/checkpoint-<step>/`` every ``checkpoint_every`` steps, ``OUT/final/`` at the end and
    ``OUT/metrics.jsonl`` (one line per logged step). ``resume``: a checkpoint folder to continue from.
    ``progress(step, losses)`` is called on rank 0 after every step (the CLI draws a bar with it).
    Under `torchrun` only rank 0 writes; all ranks return the summary.
    """
    device = resolve_device(recipe.device)
    world = init_world(device.type)
    try:
        run = set_up(recipe, Path(output or recipe.output), resume, world, device)
        start_step, t0 = run.step, time.perf_counter()
        run_steps(run, progress, t0)
        return finish(run, start_step, time.perf_counter() - t0)
    finally:
        close_world(world)


def set_up(recipe: TrainRecipe, out: Path, resume: str | None, world: World, device: torch.device) -> _Run:
    """Data, model, optimizer and schedule, restored from ``resume`` when given; OUT opened on rank 0."""
    device = _rank_device(device, world)
    random.seed(recipe.seed)
    np.random.seed(recipe.seed)
    torch.manual_seed(recipe.seed)  # identical initial weights on every rank (DDP also broadcasts them)

    found = training_data(recipe.corpus, reader=recipe.reader, window_s=recipe.window_s, seed=recipe.seed,
                          include_heldout=recipe.include_heldout)
    model = DiffusionTalker(recipe.model_config(found.speakers, found.fps, **found.motion_space))
    model.set_motion_stats(*motion_stats(found.dataset))
    model.to(device).train()
    if recipe.precompute_features:
        found.dataset.features = _encoder_features(found.dataset, model, out, world, device)
    sampler, loader = _loader(found.dataset, recipe, world, device)
    optimizer = make_optimizer(model, recipe)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(recipe.warmup_steps, recipe.steps))
    step = _resume(resume, model, optimizer, scheduler, world)
    engine = nn.parallel.DistributedDataParallel(_LossModule(model), device_ids=[device] if device.type == "cuda"
                                                 else None) if world.distributed else _LossModule(model)
    scaler = torch.amp.GradScaler("cuda") if autocast_dtype(device) == torch.float16 else None
    run = _Run(recipe, out, world, device, found.dataset, model, sampler, loader, optimizer, scheduler, engine,
               scaler, torch.Generator(device=device), step)
    run.metrics = _open_output(run, resumed=bool(resume))
    return run


def _encoder_features(data, model, out: Path, world: World, device: torch.device):
    """Rank 0 encodes the clips (or reuses OUT's stored features) and writes them; the others read them."""
    if world.is_main:
        features = cached_features(data, model, out, device)
    barrier(world)
    if not world.is_main:
        features = cached_features(data, model, out, device, write=False)
    return features


def _rank_device(device: torch.device, world: World) -> torch.device:
    """Under torchrun, plain ``cuda`` means this process's GPU (one per local rank)."""
    if device.type == "cuda" and device.index is None and world.distributed:
        device = torch.device("cuda", world.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def _loader(data, recipe: TrainRecipe, world: World, device: torch.device):
    """The per-epoch clip order (shared by every rank, a different share each) and the batches."""
    workers = {"num_workers": recipe.num_workers, "pin_memory": device.type == "cuda",
               "persistent_workers": recipe.num_workers > 0}
    if recipe.crop in ("clip", "span"):
        min_frames = round(recipe.min_window_s * data.fps) if recipe.crop == "span" else None
        sampler = LengthBatchSampler(data, recipe.batch_size, data.window_frames, seed=recipe.seed,
                                     num_replicas=world.size, rank=world.rank, min_frames=min_frames)
        loader = torch.utils.data.DataLoader(data, batch_sampler=sampler, **workers)
    else:
        sampler = torch.utils.data.DistributedSampler(data, num_replicas=world.size, rank=world.rank,
                                                      shuffle=True, seed=recipe.seed, drop_last=True)
        loader = torch.utils.data.DataLoader(data, batch_size=recipe.batch_size, sampler=sampler, drop_last=True,
                                             **workers)
    if len(loader) == 0:
        raise DtsdkError(f"{recipe.corpus}: {len(data)} training clips over {world.size} process(es) do not fill "
                         f"one batch of {recipe.batch_size}; lower batch_size")
    return sampler, loader


def _resume(resume: str | None, model, optimizer, scheduler, world: World) -> int:
    """The step to continue from: 0, or the checkpoint's after loading its weights and trainer state."""
    if not resume:
        return 0
    step = int(load_checkpoint(Path(resume), model, optimizer, scheduler)["step"])
    if world.is_main:
        log.info("resumed from %s at step %d", resume, step)
    return step


def _open_output(run: _Run, resumed: bool) -> IO[str] | None:
    """On rank 0: OUT with the recipe, and metrics.jsonl open for appending; ``None`` on other ranks."""
    if not run.world.is_main:
        return None
    run.out.mkdir(parents=True, exist_ok=True)
    (run.out / "recipe.json").write_text(json.dumps(run.recipe.to_dict(), indent=2) + "\n")
    if resumed:
        _drop_rows_after(run.out / "metrics.jsonl", run.step)  # resuming into the same OUT: no duplicate steps
    return open(run.out / "metrics.jsonl", "a", encoding="utf-8")


def run_steps(run: _Run, progress: Callable[[int, dict], None] | None, t0: float) -> None:
    """Train until ``recipe.steps``, logging every ``log_every`` steps and checkpointing on schedule."""
    recipe = run.recipe
    window: dict[str, list[float]] = collections.defaultdict(list)  # every loss part the model reports
    for batch in _remaining_batches(run):
        losses = train_step(run, batch)
        run.step += 1
        for k, v in losses.items():
            window[k].append(float(v.detach()))
        if run.step % recipe.log_every == 0 or run.step == recipe.steps:
            run.last = _log_losses(run, window, t0)
            window = collections.defaultdict(list)
        if run.world.is_main and progress is not None:
            progress(run.step, run.last)
        if recipe.checkpoint_every and run.step % recipe.checkpoint_every == 0 and run.world.is_main:
            save_checkpoint(run.out / f"checkpoint-{run.step}", run.model, run.optimizer, run.scheduler, run.step,
                            run.extra)


def _remaining_batches(run: _Run):
    """The batches still to train on, epoch by epoch; checks ``run.step`` as the caller advances it."""
    while run.step < run.recipe.steps:
        epoch, skip = divmod(run.step, len(run.loader))
        run.sampler.set_epoch(epoch)
        run.data.set_epoch(epoch)  # new random crops, the same on every rank
        for i, batch in enumerate(run.loader):
            if i < skip:  # resuming mid-epoch: the same batches an uninterrupted run would see next
                continue
            if run.step >= run.recipe.steps:
                break
            yield batch


def train_step(run: _Run, batch: dict) -> dict[str, torch.Tensor]:
    """One optimizer step on ``batch``, its randomness seeded from (seed, step, rank); returns the losses."""
    _seed_step(run.recipe.seed, run.step, run.world.rank, run.generator)
    with autocast(run.device):
        losses = run.engine(_to(batch, run.device), run.generator)
    run.optimizer.zero_grad(set_to_none=True)
    if run.scaler is not None:
        run.scaler.scale(losses["loss"]).backward()
        run.scaler.unscale_(run.optimizer)
    else:
        losses["loss"].backward()
    if run.recipe.grad_clip > 0:
        nn.utils.clip_grad_norm_(run.model.parameters(), run.recipe.grad_clip)
    if run.scaler is not None:
        run.scaler.step(run.optimizer)
        run.scaler.update()
    else:
        run.optimizer.step()
    run.scheduler.step()
    return losses


def _log_losses(run: _Run, window: dict[str, list[float]], t0: float) -> dict:
    """The window's mean losses over every rank; rank 0 writes them to metrics.jsonl and the log."""
    last = mean_across(run.world, {k: sum(v) / len(v) for k, v in window.items()}, run.device)
    if run.world.is_main:
        row = {"step": run.step, **last, "lr": run.scheduler.get_last_lr()[0],
               "seconds": round(time.perf_counter() - t0, 3)}
        run.metrics.write(json.dumps(row) + "\n")
        run.metrics.flush()
        log.info("step %d/%d loss %.4f (recon %.4f vel %.4f nce %.4f) lr %.2e", run.step, run.recipe.steps,
                 last["loss"], last["recon"], last["velocity"], last["infonce"], row["lr"])
    return last


def finish(run: _Run, start_step: int, seconds: float) -> dict:
    """Check the ranks agree, write OUT/final and summary.json on rank 0; every rank returns the summary."""
    digests = gather_strings(run.world, weights_digest(run.model))
    if len(set(digests)) != 1:  # DDP keeps ranks in lockstep; a mismatch is a bug worth stopping on
        raise DtsdkError(f"ranks ended with different weights: {digests}")
    step = run.step
    summary = {"steps": step, "steps_this_run": step - start_step, "final_loss": run.last.get("loss"),
               "seconds": round(seconds, 2), "steps_per_s": round((step - start_step) / max(seconds, 1e-9), 3),
               "world_size": run.world.size, "device": str(run.device), "output": str(run.out),
               "weights_sha256_per_rank": digests}
    if run.world.is_main:
        run.metrics.close()
        run.model.save_pretrained(run.out / "final")
        summary["test_loss"] = heldout_loss(run.model, run.recipe.corpus, run.recipe, run.device)
        (run.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        log.info("trained %d steps in %.1f s (%.2f steps/s); final loss %s, test loss %s -> %s/final",
                 step, seconds, summary["steps_per_s"], summary["final_loss"], summary["test_loss"], run.out)
    barrier(run.world)  # ranks leave together, after rank 0 wrote the final model
    return summary
