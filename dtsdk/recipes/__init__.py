"""YAML recipes (corpus, train, ...): the built-in ones shipped in this package, and the one reader.

The built-in recipes live beside this module, one folder per section: ``corpus/default.yaml``,
``train/teacher.yaml``, ...  They are package data, so a wheel install has them too. Wherever a
recipe path is taken, a built-in's name works as well (``dtsdk train teacher``,
``CorpusRecipe.from_yaml("default")``): a bare word, with no folder and no ``.yaml``/``.yml``
ending, is a name; anything else is a path (``./teacher`` for a local file without an extension).
Relative paths inside a recipe (``corpus: data/corpus``) are taken from the current directory,
wherever the recipe file itself lives.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from dtsdk.errors import DtsdkError

BUILTIN_DIR = Path(__file__).resolve().parent
_SUFFIXES = (".yaml", ".yml")


def builtin_recipes(section: str) -> dict[str, Path]:
    """The built-in recipes for ``section`` ("corpus", "train"), name -> file, sorted by name."""
    folder = BUILTIN_DIR / section
    if not folder.is_dir():
        return {}
    files = [p for p in folder.iterdir() if p.suffix in _SUFFIXES and p.is_file()]
    return {p.stem: p for p in sorted(files, key=lambda p: p.stem)}


def is_recipe_name(value: str | os.PathLike) -> bool:
    """Whether ``value`` is a bare recipe name (no folder, no YAML suffix) rather than a path."""
    text = os.fspath(value)
    return bool(text) and not any(sep in text for sep in ("/", os.sep)) and not text.lower().endswith(_SUFFIXES)


def find_recipe(value: str | os.PathLike, section: str) -> Path:
    """The recipe file ``value`` names: a built-in recipe name for ``section``, or a path (not checked here).

    An unknown name is a :class:`DtsdkError` listing the built-in names.
    """
    if not is_recipe_name(value):
        return Path(value)
    builtins = builtin_recipes(section)
    name = os.fspath(value)
    if name not in builtins:
        raise DtsdkError(f"{name}: no built-in {section} recipe of that name; "
                         f"built-in: {', '.join(builtins) or 'none'} (or give the path of a recipe file)")
    return builtins[name]


def read_recipe_section(path: str | os.PathLike, section: str, kind: str) -> dict:
    """The mapping under ``section:`` in the YAML recipe ``path`` (or the whole file if it has no such key).

    ``path`` is a file or the name of a built-in recipe of ``section`` (see :func:`find_recipe`).
    ``kind`` names the recipe in messages ("a corpus recipe must be a mapping of settings").
    """
    path = find_recipe(path, section)
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f) or {}
    except FileNotFoundError:
        raise DtsdkError(f"{where}: no such recipe file{_did_you_mean(path, section)}") from None
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


def _did_you_mean(path: Path, section: str) -> str:
    """A hint for a missing file that looks like an old ``recipes/NAME.yaml`` path of a built-in recipe."""
    builtins = builtin_recipes(section)
    # The corpus recipes were once recipes/corpus-NAME.yaml; their names are now NAME.
    stem = path.stem.removeprefix(f"{section}-")
    return f"; did you mean the built-in recipe '{stem}'?" if stem in builtins else ""
