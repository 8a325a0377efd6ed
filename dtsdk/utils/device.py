"""The one device choice and the one autocast choice, shared by inference (``Talker``) and training."""
from __future__ import annotations

import contextlib

import torch

from dtsdk.errors import DtsdkError


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` or ``"auto"`` -> CUDA when available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a
    ``torch.device`` as given. Asking for CUDA where torch sees none is an error, not a silent fallback.

    Under torchrun the caller picks the GPU of its local rank (see :mod:`dtsdk.train.loop`).
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise DtsdkError(f"unknown device '{device}'; use auto, cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise DtsdkError(f"device '{device}' was asked for, but torch sees no CUDA GPU here; use cpu or auto")
    return resolved


def autocast_dtype(device: torch.device) -> torch.dtype | None:
    """bf16 on CUDA (fp16 on GPUs without bf16); ``None`` (full fp32) on CPU, where autocast does not pay."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def autocast(device: torch.device):
    """A fresh context manager running the enclosed ops in :func:`autocast_dtype` (a no-op on CPU)."""
    dtype = autocast_dtype(device)
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)
