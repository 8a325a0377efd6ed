"""Helpers for the benchmark scripts' tests: load a script as a module, write a tiny untrained checkpoint."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
TINY = dict(encoder_config={"dim": 16, "num_conv_layers": 1, "num_transformer_layers": 1, "num_heads": 2},
            diffusion_steps=50, default_steps=2)


def load_benchmark(name: str):
    """benchmarks/NAME.py as a module (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiny_checkpoint(directory: Path, identities: list[str]) -> Path:
    from dtsdk.model import DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, PersonalizerConfig

    torch.manual_seed(0)
    model = DiffusionTalker(DiffusionTalkerConfig(
        identities=identities, denoiser=DenoiserConfig(d_model=16, num_layers=1, num_heads=2, dropout=0.0),
        personalizer=PersonalizerConfig(identity_dim=8, hidden_dim=16), **TINY))
    model.save_pretrained(directory)
    return directory
