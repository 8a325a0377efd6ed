"""What ships inside the package, by name: the training recipes and the trained checkpoints.

Light on purpose (no torch): the command-line parser lists these when it is built.
"""
from __future__ import annotations

import os
from pathlib import Path

HERE = Path(__file__).resolve().parent
RECIPE_DIR = HERE / "recipes"
CHECKPOINT_DIR = HERE / "checkpoints"
DEFAULT_CHECKPOINT = "portrait-64"  # what Portrait() and the portrait renderer load without --checkpoint


def shipped_recipes() -> list[str]:
    """The recipes ``dtsdk portrait train NAME`` finds by name."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def shipped_checkpoints() -> list[str]:
    """The checkpoints ``--checkpoint NAME`` finds by name (the default first)."""
    names = sorted(p.name for p in CHECKPOINT_DIR.iterdir() if (p / "config.json").is_file())
    return sorted(names, key=lambda n: n != DEFAULT_CHECKPOINT)


def checkpoint_folder(value: str | os.PathLike | None) -> Path:
    """The folder of ``value``: None is the default checkpoint, a shipped name is that checkpoint,
    anything else is a path (a ``dtsdk portrait train`` output)."""
    if value is None:
        return CHECKPOINT_DIR / DEFAULT_CHECKPOINT
    text = os.fspath(value)
    if not Path(text).exists() and (CHECKPOINT_DIR / text / "config.json").is_file():
        return CHECKPOINT_DIR / text
    return Path(text)
