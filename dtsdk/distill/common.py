"""What the distillation rounds and the compact student share: batches, the frozen parts' inputs, gradients."""
from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn

from dtsdk.train.distributed import World


def endless_batches(loader, sampler, data_seed: int):
    """Batches forever, a new clip order and new crops each epoch."""
    epoch = 0
    while True:
        sampler.set_epoch(data_seed + epoch)
        loader.dataset.set_epoch(data_seed + epoch)
        yield from loader
        epoch += 1


def frozen_inputs(model, batch: dict, identity_dropout: float, generator: torch.Generator,
                  device) -> tuple[torch.Tensor, dict]:
    """What the frozen parts give a batch: the sampler-space clean motion x0 (B, T, D) (for the residual
    objective, the normalised motion minus the mean network's) and the denoiser's cond."""
    with torch.no_grad():
        motion, mask = batch["motion"].to(device), batch["mask"].to(device).bool()
        x0 = (motion - model.motion_mean) / model.motion_std  # (B, T, D)
        audio = model.encoder(batch["audio"].to(device), motion.shape[1])  # (B, T, D_audio)
        identity = model.personalizer.embed(batch["speaker"].to(device).long(), motion.shape[0])  # (B, E)
        identity, _ = model.personalizer.drop_identity(identity, identity_dropout, generator)
        cond = {"audio": audio, "identity": identity, "mask": mask}
        if "mean" in model.objective.cond_keys:  # the residual objective samples x0 - mean
            cond["mean"] = model.objective.mean(cond)
            x0 = x0 - cond["mean"]
    return x0, cond


def average_gradients(params, world: World) -> None:
    if not world.distributed:
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world.size


def optimizer_step(loss: torch.Tensor, params: list, optimizer, scheduler, world: World, grad_clip: float) -> None:
    """Backward, gradients averaged over the ranks, clipped (``grad_clip`` > 0), one optimizer and schedule step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    average_gradients(params, world)
    if grad_clip > 0:
        nn.utils.clip_grad_norm_(params, grad_clip)
    optimizer.step()
    scheduler.step()
