"""Trainer state next to each checkpoint, without pickle.

``trainer_state.safetensors`` holds the optimizer's tensors (``optimizer.<param index>.<name>``);
``trainer_state.json`` holds everything else: step, epoch, the scheduler state, the optimizer's
param groups and the recipe. Random state needs no file: the loop reseeds every step from
(seed, step, rank), so a resumed run draws the same noise as an uninterrupted one.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from dtsdk.errors import DtsdkError

STATE_TENSORS = "trainer_state.safetensors"
STATE_JSON = "trainer_state.json"


def save_checkpoint(directory: Path, model, optimizer, scheduler, step: int, extra: dict) -> Path:
    """Write ``directory`` (model in Hub layout + trainer state) atomically: a half-written folder never
    carries the final name, so `--resume` cannot pick up a checkpoint cut off by a crash."""
    from safetensors.torch import save_file

    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    opt = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in opt["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"optimizer.{index}.{name}"] = value.detach().contiguous().cpu()
            else:
                scalars[f"{index}.{name}"] = value
    save_file(tensors, str(tmp / STATE_TENSORS), metadata={"format": "dtsdk-trainer-state"})
    state = {"step": step, "scheduler": scheduler.state_dict(), "optimizer_param_groups": opt["param_groups"],
             "optimizer_scalars": scalars,
             "rng": "reseeded every step from (seed, step, rank); nothing to restore", **extra}
    (tmp / STATE_JSON).write_text(json.dumps(state, indent=2) + "\n")
    shutil.rmtree(directory, ignore_errors=True)
    tmp.rename(directory)
    return directory


def load_checkpoint(directory: Path, model, optimizer, scheduler) -> dict:
    """Restore model weights, optimizer and scheduler from ``directory``; returns the JSON state."""
    from safetensors.torch import load_file

    directory = Path(directory)
    for name in ("model.safetensors", STATE_TENSORS, STATE_JSON):
        if not (directory / name).is_file():
            raise DtsdkError(f"{directory}: not a training checkpoint (no {name}); "
                             "pass an OUT/checkpoint-<step> folder")
    state = json.loads((directory / STATE_JSON).read_text())
    saved = json.loads((directory / "config.json").read_text())
    if saved.get("identities") != model.config.identities:
        raise DtsdkError(f"{directory}: trained on speakers {saved.get('identities')}, "
                         f"but this corpus has {model.config.identities}")
    device = next(model.parameters()).device
    weights = load_file(str(directory / "model.safetensors"), device=str(device))
    model.load_state_dict(weights)

    tensors = load_file(str(directory / STATE_TENSORS), device=str(device))
    opt_state: dict = {}
    for key, value in tensors.items():
        _, index, name = key.split(".", 2)
        # AdamW keeps `step` on the CPU unless capturable/fused; match what a fresh step would make
        opt_state.setdefault(int(index), {})[name] = value.cpu() if name == "step" else value
    for key, value in state["optimizer_scalars"].items():
        index, name = key.split(".", 1)
        opt_state.setdefault(int(index), {})[name] = value
    optimizer.load_state_dict({"state": opt_state, "param_groups": state["optimizer_param_groups"]})
    scheduler.load_state_dict(state["scheduler"])
    return state
