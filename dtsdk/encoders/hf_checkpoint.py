"""Find and read a Hugging Face speech checkpoint (``config.json`` + weights) without touching the network.

A model is either a local folder or a repo id that is already in the local Hugging Face cache
(``huggingface_hub.snapshot_download(..., local_files_only=True)``). Weights load from safetensors,
or from ``pytorch_model.bin`` through ``torch.load(weights_only=True)``, so no pickle code ever runs.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch

from dtsdk.errors import DtsdkError, file_error

_FILES = ["config.json", "preprocessor_config.json", "model.safetensors", "model.safetensors.index.json",
          "pytorch_model.bin"]


def resolve_model_dir(model: str | Path, cache_dir: str | Path | None = None, revision: str | None = None) -> Path:
    """A local folder as is, else the cached snapshot of the Hub repo ``model``; never downloads."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import constants, snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(repo_id=str(model), revision=revision, cache_dir=cache_dir,
                                   local_files_only=True, allow_patterns=_FILES)
    except (LocalEntryNotFoundError, HFValidationError, FileNotFoundError) as exc:
        cache = cache_dir if cache_dir is not None else constants.HF_HUB_CACHE
        raise DtsdkError(
            f"speech model '{model}' is neither a local folder nor in the local Hugging Face cache ({cache}); "
            f"dtsdk never downloads at run time. Download it once with `hf download {model}` "
            f"(older huggingface-hub: `huggingface-cli download {model}`), or pass a local folder"
        ) from exc
    return Path(folder)


def read_config(folder: Path) -> tuple[dict, dict]:
    """``(config.json, preprocessor_config.json or {})`` of a checkpoint folder."""
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise file_error(DtsdkError, folder, "no config.json: not a Hugging Face model folder")
    config = json.loads(config_path.read_text())
    pre_path = folder / "preprocessor_config.json"
    preprocessor = json.loads(pre_path.read_text()) if pre_path.is_file() else {}
    return config, preprocessor


def read_state_dict(folder: Path) -> dict[str, torch.Tensor]:
    """All tensors of the checkpoint (single or sharded safetensors, or a weights-only ``.bin``) on CPU."""
    from safetensors.torch import load_file

    if (folder / "model.safetensors").is_file():
        return load_file(folder / "model.safetensors", device="cpu")
    index = folder / "model.safetensors.index.json"
    if index.is_file():
        shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        state: dict[str, torch.Tensor] = {}
        for shard in shards:
            state.update(load_file(folder / shard, device="cpu"))
        return state
    if (folder / "pytorch_model.bin").is_file():
        try:  # weights_only: a .bin from the Hub must never run pickled code
            return torch.load(folder / "pytorch_model.bin", map_location="cpu", weights_only=True)
        except Exception as exc:
            raise file_error(DtsdkError, folder / "pytorch_model.bin", f"cannot load as plain tensors: {exc}") from exc
    raise file_error(DtsdkError, folder, "no model.safetensors or pytorch_model.bin")


def fold_weight_norm(g: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``w = g * v / ||v||``: the norm runs over every dim where ``g`` has size 1 (HF/fairseq use dim=2)."""
    dims = [d for d in range(v.dim()) if g.shape[d] == 1]
    return g * v / v.norm(dim=dims, keepdim=True)


def to_backbone_state_dict(state: dict[str, torch.Tensor], model_type: str) -> dict[str, torch.Tensor]:
    """Checkpoint keys -> the plain keys of :class:`dtsdk.encoders.hubert.SpeechTransformer`.

    Drops the task-head prefix (``hubert.`` / ``wav2vec2.`` in ``*ForCTC`` checkpoints) and folds the
    positional conv's weight norm, stored either as ``weight_g``/``weight_v`` (old ``nn.utils.weight_norm``)
    or as ``parametrizations.weight.original0/1`` (torch's newer parametrization), into one ``weight``.
    Heads and pre-training-only tensors are left for the caller's strict check to ignore.
    """
    prefix = f"{model_type}."
    if any(k.startswith(prefix) for k in state):
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    out = dict(state)
    conv = "encoder.pos_conv_embed.conv."
    pairs = [(conv + "weight_g", conv + "weight_v"),
             (conv + "parametrizations.weight.original0", conv + "parametrizations.weight.original1")]
    for g_key, v_key in pairs:
        if g_key in out and v_key in out:
            out[conv + "weight"] = fold_weight_norm(out.pop(g_key), out.pop(v_key))
    return out
