"""torch.distributed plumbing for `torchrun`: one process per device, gloo on CPU, nccl on CUDA.

Without torchrun's environment (``WORLD_SIZE`` unset or 1) everything here is a no-op, so a single
process trains through the same code path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class World:
    rank: int = 0
    local_rank: int = 0
    size: int = 1
    owns_group: bool = False  # we called init_process_group, so we tear it down

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_world(device_type: str) -> World:
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return World()
    owns = False
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
        owns = True
    return World(dist.get_rank(), int(os.environ.get("LOCAL_RANK", "0")), dist.get_world_size(), owns)


def mean_across(world: World, values: dict[str, float], device) -> dict[str, float]:
    """Average logged scalars over ranks, so rank 0 logs the loss of the global batch."""
    if not world.distributed:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return {k: float(v) / world.size for k, v in zip(keys, t.tolist())}


def gather_strings(world: World, text: str) -> list[str]:
    if not world.distributed:
        return [text]
    out: list = [None] * world.size
    dist.all_gather_object(out, text)
    return out


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def close_world(world: World) -> None:
    # No barrier here: after an error on one rank, waiting for the others would hang.
    if world.owns_group:
        dist.destroy_process_group()
