"""Lazy imports of optional dependencies, with an error that names the pip extra."""
from __future__ import annotations

import importlib
from types import ModuleType

from dtsdk.errors import MissingExtraError


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming ``pip install 'dtsdk[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{purpose} needs the '{module}' package, which is not installed: pip install 'dtsdk[{extra}]'"
        ) from exc
