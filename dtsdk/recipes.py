"""Reading YAML recipes (corpus, train, ...) with errors that name the file."""
from __future__ import annotations

import os

import yaml

from dtsdk.errors import DtsdkError


def read_recipe_section(path: str | os.PathLike, section: str, kind: str) -> dict:
    """The mapping under ``section:`` in the YAML file ``path`` (or the whole file if it has no such key).

    ``kind`` names the recipe in messages ("a corpus recipe must be a mapping of settings").
    """
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise DtsdkError(f"{where}: no such recipe file") from None
    except IsADirectoryError:
        raise DtsdkError(f"{where}: is a folder, not a recipe file") from None
    except yaml.YAMLError as exc:
        raise DtsdkError(f"{where}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(raw, dict):
        raise DtsdkError(f"{where}: a {kind} recipe must be a mapping of settings")
    raw = raw.get(section, raw)
    if not isinstance(raw, dict):
        raise DtsdkError(f"{where}: '{section}' must be a mapping of settings")
    return raw
