"""Checkpoints in huggingface-hub's PyTorchModelHubMixin layout: config.json + model.safetensors + README.md.

Implemented here rather than through the mixin because the mixin falls back to ``pytorch_model.bin``
(a pickle) when no safetensors file exists, and its dataclass-config handling does not rebuild the
nested configs. Loading reads safetensors only; a directory or repo without ``model.safetensors``
is refused with a message, never unpickled. Repo ids go through ``snapshot_download`` restricted
to the three files, so pickles are not even downloaded.
"""
from __future__ import annotations

import json
from pathlib import Path

from dtsdk.errors import DtsdkError
from dtsdk.utils.hub import folder_or_snapshot

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
FORMAT = "dtsdk-diffusion-talker"

_CARD = """---
library_name: dtsdk
tags: [speech-driven-3d-facial-animation, diffusion, dtsdk]
---
# {name}

A dtsdk DiffusionTalker checkpoint: speech (16 kHz) in, `{rig}` face motion ({motion_dim} channels,
{fps:g} fps) out. Identities: {identities}.

```python
from dtsdk.model import DiffusionTalker
model = DiffusionTalker.from_pretrained("{name}")
```
"""


def save_checkpoint(model, directory, model_card: str | None = None, dtype=None) -> None:
    """``dtype`` (e.g. ``torch.float16``) stores floating tensors at that precision to halve the file;
    loading casts them back to the model's float32 parameters."""
    from safetensors.torch import save_file

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = {"format": FORMAT, **model.config.to_dict()}
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if dtype is not None:
        state = {k: v.to(dtype) if v.is_floating_point() else v for k, v in state.items()}
    save_file(state, str(directory / WEIGHTS_NAME), metadata={"format": "pt"})
    c = model.config
    card = model_card or _CARD.format(name=directory.name, rig=c.rig, motion_dim=c.motion_dim, fps=c.fps,
                                      identities=", ".join(c.identities) or "none")
    (directory / CARD_NAME).write_text(card)


def _resolve(dir_or_repo_id, revision, local_files_only, cache_dir) -> Path:
    return folder_or_snapshot(dir_or_repo_id, "checkpoint directory", [CONFIG_NAME, WEIGHTS_NAME, CARD_NAME],
                              revision, local_files_only, cache_dir)


def load_checkpoint(cls, dir_or_repo_id, revision=None, local_files_only=None, cache_dir=None):
    from safetensors.torch import load_file

    from dtsdk.model.config import DiffusionTalkerConfig

    root = _resolve(dir_or_repo_id, revision, local_files_only, cache_dir)
    weights = root / WEIGHTS_NAME
    if not weights.is_file():
        pickles = sorted(p.name for p in root.iterdir() if p.suffix in (".bin", ".pt", ".pth", ".pkl", ".ckpt"))
        hint = f" It holds {', '.join(pickles)}: pickle files are never loaded (they can run code)." if pickles else ""
        raise DtsdkError(f"{root}: no {WEIGHTS_NAME}.{hint} Convert the weights to safetensors "
                         "(safetensors.torch.save_file) and save config.json beside them.")
    config_path = root / CONFIG_NAME
    if not config_path.is_file():
        raise DtsdkError(f"{root}: no {CONFIG_NAME} beside {WEIGHTS_NAME}")
    data = json.loads(config_path.read_text())
    if data.pop("format", FORMAT) != FORMAT:
        raise DtsdkError(f"{config_path}: not a {FORMAT} checkpoint")
    model = cls(DiffusionTalkerConfig.from_checkpoint_dict(data))
    model.load_state_dict(load_file(str(weights)), strict=True)
    return model.eval()
