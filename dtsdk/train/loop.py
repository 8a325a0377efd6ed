"""The training loop: ``train(recipe) -> summary``.

One code path for one process and for `torchrun` (DDP): a DistributedSampler (one replica when not
distributed) decides the clip order per epoch, and all randomness is reseeded every step from
(seed, step, rank), so `resume` only needs weights, optimizer, scheduler and the step number to
continue exactly where an uninterrupted run would be.
"""
from __future__ import annotations

import collections
import contextlib
import hashlib
import json
import logging
import math
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from dtsdk.errors import DtsdkError
from dtsdk.train.distributed import World, barrier, close_world, gather_strings, init_world, mean_across
from dtsdk.train.recipe import TrainRecipe
from dtsdk.train.state import load_checkpoint, save_checkpoint

log = logging.getLogger("dtsdk.train")


class _LossModule(nn.Module):
    """DDP only syncs gradients through ``forward``; this routes ``training_loss`` through it."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, batch: dict, generator: torch.Generator) -> dict:
        return self.model.training_loss(batch, generator)


def resolve_device(name: str, world: World) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and world.distributed:
        name = f"cuda:{world.local_rank}"  # torchrun: one GPU per process
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DtsdkError(f"device '{name}' asked for, but torch sees no CUDA device; use device: cpu or auto")
    return torch.device(name)


def training_speakers(manifest: dict) -> list[str]:
    return sorted(s["speaker"] for s in manifest["speakers"] if s["role"] == "train")


def training_data(recipe: TrainRecipe):
    """The training ``TalkingFaceDataset`` and the model config the data decides.

    A dtsdk corpus (``manifest.yaml``) gives its train split in ARKit-52; a capture folder gives
    every clip its reader finds, in the reader's motion space (ARKit-52 for Live Link Face, vertex
    offsets in mm for VOCASET/BIWI), with the speakers the reader names.
    """
    from dtsdk.corpus.manifest import read_manifest
    from dtsdk.data.dataset import TalkingFaceDataset

    if (Path(recipe.corpus) / "manifest.yaml").is_file() or not Path(recipe.corpus).exists():
        manifest = read_manifest(recipe.corpus)  # a missing folder fails here, naming it
        speakers = training_speakers(manifest)
        data = TalkingFaceDataset.from_corpus(recipe.corpus, "train", window_s=recipe.window_s, seed=recipe.seed,
                                              speakers=speakers)
        return data, recipe.model_config(speakers, manifest["fps"])
    reader = recipe.reader
    if not reader:
        from dtsdk.capture import find_capture_reader

        try:
            reader = find_capture_reader(recipe.corpus)
        except DtsdkError as exc:
            raise DtsdkError(f"{exc}; nor is it a dtsdk corpus (no manifest.yaml)") from None
    data = TalkingFaceDataset.from_captures(recipe.corpus, reader=reader, window_s=recipe.window_s, seed=recipe.seed)
    if len(data) == 0:
        raise DtsdkError(f"{recipe.corpus}: the capture reader found no clips to train on")
    first = data.clips[0].load()[1]  # an Animation: its width and rig are the model's motion space
    return data, recipe.model_config(data.speakers, data.fps, motion_dim=first.weights.shape[1], rig=first.rig)


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


def autocast_for(device: torch.device):
    """bf16 (or fp16 where bf16 is missing) autocast on CUDA; full precision on CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext, None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None
    return (lambda: torch.autocast("cuda", dtype=dtype)), scaler


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
    from dtsdk.data.dataset import TalkingFaceDataset

    try:
        data = TalkingFaceDataset.from_corpus(corpus, split, window_s=recipe.window_s, random_crop=False,
                                              speakers=model.config.identities)
    except DtsdkError:
        return None
    model.eval()
    generator = torch.Generator(device=device).manual_seed(recipe.seed)
    total, count = 0.0, 0
    for batch in torch.utils.data.DataLoader(data, batch_size=recipe.batch_size):
        batch = _to(batch, device)
        n = batch["motion"].shape[0]
        total += float(model.training_loss(batch, generator)["loss"]) * n
        count += n
    model.train()
    return total / count


def train(recipe: TrainRecipe, output: str | None = None, resume: str | None = None,
          progress: Callable[[int, dict], None] | None = None) -> dict:
    """Train a DiffusionTalker as ``recipe`` says; returns a summary dict.

    Writes ``OUT/checkpoint-<step>/`` every ``checkpoint_every`` steps, ``OUT/final/`` at the end and
    ``OUT/metrics.jsonl`` (one line per logged step). ``resume``: a checkpoint folder to continue from.
    ``progress(step, losses)`` is called on rank 0 after every step (the CLI draws a bar with it).
    Under `torchrun` only rank 0 writes; all ranks return the summary.
    """
    from dtsdk.model.diffusion_talker import DiffusionTalker

    out = Path(output or recipe.output)
    wants_cuda = recipe.device.startswith("cuda") or (recipe.device == "auto" and torch.cuda.is_available())
    device_type = "cuda" if wants_cuda else "cpu"
    world = init_world(device_type)
    try:
        device = resolve_device(recipe.device, world)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        random.seed(recipe.seed)
        np.random.seed(recipe.seed)
        torch.manual_seed(recipe.seed)  # identical initial weights on every rank (DDP also broadcasts them)

        data, config = training_data(recipe)
        model = DiffusionTalker(config)
        model.set_motion_stats(*motion_stats(data))
        model.to(device).train()

        sampler = torch.utils.data.DistributedSampler(data, num_replicas=world.size, rank=world.rank,
                                                      shuffle=True, seed=recipe.seed, drop_last=True)
        loader = torch.utils.data.DataLoader(data, batch_size=recipe.batch_size, sampler=sampler, drop_last=True,
                                             num_workers=recipe.num_workers, pin_memory=device.type == "cuda",
                                             persistent_workers=recipe.num_workers > 0)
        batches_per_epoch = len(loader)
        if batches_per_epoch == 0:
            raise DtsdkError(f"{recipe.corpus}: {len(data)} training clips over {world.size} process(es) do not fill "
                             f"one batch of {recipe.batch_size}; lower batch_size")

        optimizer = make_optimizer(model, recipe)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(recipe.warmup_steps, recipe.steps))
        step = 0
        if resume:
            step = int(load_checkpoint(Path(resume), model, optimizer, scheduler)["step"])
            if world.is_main:
                log.info("resumed from %s at step %d", resume, step)
        engine = nn.parallel.DistributedDataParallel(_LossModule(model), device_ids=[device] if device.type == "cuda"
                                                     else None) if world.distributed else _LossModule(model)
        autocast, scaler = autocast_for(device)
        generator = torch.Generator(device=device)
        if world.is_main:
            out.mkdir(parents=True, exist_ok=True)
            (out / "recipe.json").write_text(json.dumps(recipe.to_dict(), indent=2) + "\n")
        if world.is_main and resume:
            _drop_rows_after(out / "metrics.jsonl", step)  # resuming into the same OUT: no duplicate steps
        metrics = open(out / "metrics.jsonl", "a", encoding="utf-8") if world.is_main else None
        extra = {"recipe": recipe.to_dict(), "world_size": world.size}

        start_step, t0 = step, time.perf_counter()
        window: dict[str, list[float]] = collections.defaultdict(list)  # every loss part the model reports
        last: dict = {}
        while step < recipe.steps:
            epoch, skip = divmod(step, batches_per_epoch)
            sampler.set_epoch(epoch)
            data.set_epoch(epoch)  # new random crops, the same on every rank
            for i, batch in enumerate(loader):
                if i < skip:  # resuming mid-epoch: the same batches an uninterrupted run would see next
                    continue
                if step >= recipe.steps:
                    break
                _seed_step(recipe.seed, step, world.rank, generator)
                with autocast():
                    losses = engine(_to(batch, device), generator)
                optimizer.zero_grad(set_to_none=True)
                if scaler is not None:
                    scaler.scale(losses["loss"]).backward()
                    scaler.unscale_(optimizer)
                else:
                    losses["loss"].backward()
                if recipe.grad_clip > 0:
                    nn.utils.clip_grad_norm_(model.parameters(), recipe.grad_clip)
                if scaler is not None:
                    scaler.step(optimizer)
                    scaler.update()
                else:
                    optimizer.step()
                scheduler.step()
                step += 1
                for k, v in losses.items():
                    window[k].append(float(v.detach()))
                if step % recipe.log_every == 0 or step == recipe.steps:
                    last = mean_across(world, {k: sum(v) / len(v) for k, v in window.items()}, device)
                    window = collections.defaultdict(list)
                    if world.is_main:
                        seconds = time.perf_counter() - t0
                        row = {"step": step, **last, "lr": scheduler.get_last_lr()[0], "seconds": round(seconds, 3)}
                        metrics.write(json.dumps(row) + "\n")
                        metrics.flush()
                        log.info("step %d/%d loss %.4f (recon %.4f vel %.4f nce %.4f) lr %.2e", step, recipe.steps,
                                 last["loss"], last["recon"], last["velocity"], last["infonce"], row["lr"])
                if world.is_main and progress is not None:
                    progress(step, last)
                if recipe.checkpoint_every and step % recipe.checkpoint_every == 0 and world.is_main:
                    save_checkpoint(out / f"checkpoint-{step}", model, optimizer, scheduler, step, extra)
        seconds = time.perf_counter() - t0

        digests = gather_strings(world, weights_digest(model))
        if len(set(digests)) != 1:  # DDP keeps ranks in lockstep; a mismatch is a bug worth stopping on
            raise DtsdkError(f"ranks ended with different weights: {digests}")
        summary = {"steps": step, "steps_this_run": step - start_step, "final_loss": last.get("loss"),
                   "seconds": round(seconds, 2), "steps_per_s": round((step - start_step) / max(seconds, 1e-9), 3),
                   "world_size": world.size, "device": str(device), "output": str(out),
                   "weights_sha256_per_rank": digests}
        if world.is_main:
            metrics.close()
            model.save_pretrained(out / "final")
            summary["test_loss"] = heldout_loss(model, recipe.corpus, recipe, device)
            (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            log.info("trained %d steps in %.1f s (%.2f steps/s); final loss %s, test loss %s -> %s/final",
                     step, seconds, summary["steps_per_s"], summary["final_loss"], summary["test_loss"], out)
        barrier(world)  # ranks leave together, after rank 0 wrote the final model
        return summary
    finally:
        close_world(world)
