"""The one strict reader of settings: a dataclass from a plain dict, where an unknown key is an error.

Recipes, model configs and speaker styles are plain data that users type; a misspelt key must
surface as a one-line error naming where it was and what is known, never be dropped silently.
"""
from __future__ import annotations

import dataclasses
from typing import Iterable, Mapping

from dtsdk.errors import ConfigError


def reject_unknown_keys(data: Mapping, known: Iterable[str], where: str) -> None:
    """ConfigError ``"<where>: unknown setting(s) a, b; known: ..."`` when ``data`` has keys not in ``known``."""
    known = list(known)
    unknown = sorted(set(data) - set(known), key=str)
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {', '.join(map(str, unknown))}; known: {', '.join(known)}")


def dataclass_from_dict(cls, data: Mapping, where: str, nested: Mapping[str, type] | None = None):
    """An instance of dataclass ``cls`` from ``data`` (missing keys take the defaults).

    ``where`` names the source in errors (a recipe file, ``DiffusionTalkerConfig``). ``nested`` maps a
    field name to the dataclass its dict value is read into, the same way (errors name ``where.field``).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of settings, got {type(data).__name__}")
    reject_unknown_keys(data, [f.name for f in dataclasses.fields(cls)], where)
    nested = nested or {}
    kwargs = {}
    for name, value in data.items():
        sub = nested.get(name)
        if sub and isinstance(value, Mapping):
            value = dataclass_from_dict(sub, value, f"{where}.{name}")
        kwargs[name] = value
    return cls(**kwargs)
