"""The identity store: enrolled talking identities on disk, one folder each.

Layout (also the Hub layout :mod:`dtsdk.identities.sharing` exports and pulls)::

    $DTSDK_HOME/identities/NAME/
        config.json            format, name, model_fingerprint, embedding_dim, created, source, metrics
        identity.safetensors   "embedding": (E,) float32, the style the denoiser sees; optional
                               "voice_keys": (K, E) float32, what ``auto`` matches a voice against
                               (the audio-to-identity queries of the enrolled windows; without
                               them, the embedding)
        README.md              a card saying what it is and which model it belongs to

``$DTSDK_HOME`` defaults to the user's cache folder (``$XDG_CACHE_HOME/dtsdk`` or ``~/.cache/dtsdk``;
``%LOCALAPPDATA%\\dtsdk`` on Windows). An identity belongs to one model, named by
:func:`model_fingerprint` (a hash of its config and weights); used with another model it is a
one-line error. Writes are atomic (a crash mid-write leaves the old identity or none) and
serialised per name by a lock file, so two processes can enroll into one store at once.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import torch

from dtsdk.errors import DtsdkError
from dtsdk.utils.atomic import atomic_dir

FORMAT = "dtsdk-identity"
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "identity.safetensors"
CARD_NAME = "README.md"
FILES = (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME)
# A letter or digit first (no hidden folders, no "..", no leading "-"), then letters, digits, . _ -;
# no "/" or "\\" (no path traversal), no ":" or "," (they spell identity mixes).
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RESERVED = ("auto", "none", "generic")

_CARD = """---
library_name: dtsdk
tags: [dtsdk, dtsdk-identity, talking-identity]
---
# {name}

A dtsdk talking identity: one embedding ({embedding_dim} numbers) enrolled for the DiffusionTalker model
with fingerprint `{fingerprint}` ({model}). It works with that model only.

Enrolled {created} from {files} recording(s), {seconds:.1f} s of audio ({mode}).

```python
from dtsdk.inference import Talker
talker = Talker(model, identity="{name}")  # after `dtsdk identities import` of this folder
```
"""


@dataclass(frozen=True)
class StoredIdentity:
    """An identity read from a folder: its ``embedding`` (E,) and its ``config.json`` as a dict."""

    name: str
    path: Path
    config: dict
    embedding: torch.Tensor = field(compare=False, repr=False)
    voice_keys: torch.Tensor | None = field(default=None, compare=False, repr=False)  # (K, E)

    @property
    def model_fingerprint(self) -> str:
        return self.config["model_fingerprint"]

    @property
    def match_keys(self) -> torch.Tensor:
        """What ``auto`` compares a clip's audio-to-identity query with (K, E): the voice keys, else the embedding."""
        return self.embedding[None] if self.voice_keys is None else self.voice_keys

    def tensors(self) -> dict[str, torch.Tensor]:
        """The identity.safetensors contents."""
        return identity_tensors(self.embedding, self.voice_keys)


def dtsdk_home() -> Path:
    """``$DTSDK_HOME``, else the user's cache folder + ``dtsdk``."""
    home = os.environ.get("DTSDK_HOME", "").strip()
    if home:
        return Path(home).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "dtsdk"
    cache = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(cache).expanduser() if cache else Path.home() / ".cache") / "dtsdk"


def store_root() -> Path:
    return dtsdk_home() / "identities"


def check_name(name) -> str:
    """A valid identity name, or a one-line DtsdkError saying what is allowed."""
    if not isinstance(name, str) or not name:
        raise DtsdkError(f"identity name {name!r}: give a non-empty name, e.g. --name alice")
    if not _NAME.fullmatch(name) or name.isdigit() or name.lower() in _RESERVED:
        raise DtsdkError(f"identity name '{name}': use 1-64 letters, digits, '.', '_' or '-', starting with a "
                         f"letter or digit, not only digits, not {', '.join(_RESERVED)} (no '/', ':' or ',')")
    return name


def model_fingerprint(model) -> str:
    """``sha256:<hex>`` of a model's config and weights (every tensor, in key order, as float32)."""
    digest = hashlib.sha256(json.dumps(model.config.to_dict(), sort_keys=True, default=str).encode())
    for key, tensor in sorted(model.state_dict().items()):
        value = tensor.detach().to("cpu", torch.float32).contiguous()
        digest.update(key.encode())
        digest.update(str(tuple(value.shape)).encode())
        digest.update(value.numpy().tobytes())
    return "sha256:" + digest.hexdigest()


def identity_path(name: str) -> Path:
    return store_root() / check_name(name)


def list_identities() -> list[StoredIdentity]:
    """Every readable identity in the store, by name (folders that do not read are left out)."""
    root = store_root()
    if not root.is_dir():
        return []
    found = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith(".") or not (entry / CONFIG_NAME).is_file():
            continue
        with contextlib.suppress(DtsdkError):
            found.append(read_identity(entry))
    return found


def load_identity(name_or_path) -> StoredIdentity:
    """A store name, or the path of an identity folder (a PathLike, or a string with a ``/`` in it,
    e.g. ``./me``) -> StoredIdentity (a one-line error otherwise)."""
    path = Path(os.fspath(name_or_path)).expanduser()
    if isinstance(name_or_path, os.PathLike) or os.sep in str(name_or_path) or "/" in str(name_or_path):
        if not path.is_dir():
            raise DtsdkError(f"{path}: no such identity folder")
        return read_identity(path)
    folder = identity_path(name_or_path)
    if not folder.is_dir():
        known = ", ".join(i.name for i in list_identities()) or "none"
        raise DtsdkError(f"no enrolled identity '{name_or_path}' in {store_root()} (enrolled: {known}); "
                         f"enroll one with `dtsdk enroll DIR --name {name_or_path}`")
    return read_identity(folder)


def read_identity(folder) -> StoredIdentity:
    """Read and check an identity folder (config.json + identity.safetensors)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    folder = Path(folder)
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            raise DtsdkError(f"{folder}: not an identity folder (no {path.name})")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DtsdkError(f"{config_path}: not readable JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise DtsdkError(f"{config_path}: not a {FORMAT} config (its 'format' is not '{FORMAT}')")
    for key in ("name", "model_fingerprint", "embedding_dim"):
        if key not in config:
            raise DtsdkError(f"{config_path}: '{key}' is missing")
    try:
        tensors = load_file(str(weights_path))
    except (SafetensorError, OSError) as exc:
        raise DtsdkError(f"{weights_path}: not a readable safetensors file ({exc})") from None
    size = int(config["embedding_dim"])
    embedding = _checked_tensor(tensors, "embedding", (size,), weights_path)
    voice_keys = _checked_tensor(tensors, "voice_keys", ("K", size), weights_path, required=False)
    return StoredIdentity(str(config["name"]), folder, config, embedding, voice_keys)


def _checked_tensor(tensors: dict, key: str, shape: tuple, weights_path: Path, required: bool = True):
    """``tensors[key]`` as float32 of ``shape`` (a str entry: any size from 1 on), or a one-line error naming the
    file; None when optional and absent."""
    value = tensors.get(key)
    if value is None and not required:
        return None
    fits = value is not None and value.dim() == len(shape) and all(
        (n >= 1) if isinstance(want, str) else n == want for n, want in zip(value.shape, shape))
    if not fits:
        found = None if value is None else tuple(value.shape)
        wanted = "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"
        raise DtsdkError(f"{weights_path}: expected {'an' if key[0] in 'aeiou' else 'a'} '{key}' of shape {wanted}, "
                         f"found {found}")
    if not torch.isfinite(value).all():
        raise DtsdkError(f"{weights_path}: the {key} holds NaN or infinite values")
    return value.float()


def identity_tensors(embedding: torch.Tensor, voice_keys: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """What identity.safetensors holds: the embedding and, when there are some, the voice keys (K, E)."""
    tensors = {"embedding": embedding}
    if voice_keys is not None:
        tensors["voice_keys"] = voice_keys
    return {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in tensors.items()}


def check_belongs_to(identity: StoredIdentity, model, fingerprint: str | None = None) -> None:
    """One-line error when ``identity`` was enrolled for another model than ``model``."""
    fingerprint = fingerprint or model_fingerprint(model)
    if identity.model_fingerprint != fingerprint:
        enrolled_for = identity.config.get("model") or "another model"
        raise DtsdkError(f"{identity.path}: identity '{identity.name}' belongs to the model "
                         f"{identity.model_fingerprint[:19]} ({enrolled_for}), not to this one ({fingerprint[:19]}); "
                         f"enroll it again with this model")
    size = model.config.personalizer.identity_dim
    if identity.embedding.shape != (size,):
        raise DtsdkError(f"{identity.path}: embedding size {identity.embedding.shape[0]}, the model's is {size}")


def identities_for(model, fingerprint: str | None = None) -> list[StoredIdentity]:
    """The store's identities that belong to ``model`` (what ``identity="auto"`` also matches)."""
    stored = list_identities()
    if not stored:  # nothing to compare: no fingerprint to compute
        return []
    fingerprint = fingerprint or model_fingerprint(model)
    return [i for i in stored if i.model_fingerprint == fingerprint]


def write_identity(name: str, embedding: torch.Tensor, model_fingerprint: str, *, model_label: str = "",
                   source: dict | None = None, metrics: dict | None = None, force: bool = False,
                   voice_keys: torch.Tensor | None = None) -> Path:
    """Write an identity into the store atomically; an existing name needs ``force=True``."""
    folder = identity_path(name)
    config = {"format": FORMAT, "format_version": FORMAT_VERSION, "name": name,
              "model_fingerprint": model_fingerprint, "model": model_label,
              "embedding_dim": int(embedding.shape[0]),
              "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "source": source or {}, "metrics": metrics or {}}
    with name_lock(name):
        if folder.exists() and not force:
            raise DtsdkError(f"{folder}: identity '{name}' exists already; pass --force (force=True) to replace it")
        with atomic_dir(folder) as tmp:
            write_identity_files(tmp, config, identity_tensors(embedding, voice_keys))
    return folder


def write_identity_files(folder: Path, config: dict, tensors: dict[str, torch.Tensor]) -> None:
    """The three files of an identity into ``folder`` (a temporary one: the caller moves it into place);
    ``tensors``: :func:`identity_tensors`."""
    from safetensors.torch import save_file

    (folder / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    save_file(tensors, str(folder / WEIGHTS_NAME), metadata={"format": "pt"})
    source = config.get("source") or {}
    (folder / CARD_NAME).write_text(_CARD.format(
        name=config["name"], embedding_dim=config["embedding_dim"], fingerprint=config["model_fingerprint"][:19],
        model=config.get("model") or "unnamed", created=config["created"], files=source.get("files", "?"),
        seconds=float(source.get("seconds", 0.0)), mode=source.get("mode", "unknown")), encoding="utf-8")


def remove_identity(name: str) -> Path:
    folder = identity_path(name)
    with name_lock(name):
        if not folder.is_dir():
            raise DtsdkError(f"no enrolled identity '{name}' in {store_root()}")
        # Renamed away first, so a crash while deleting never leaves a half identity under the name.
        parked = folder.with_name(f".{name}.removed.{os.getpid()}")
        os.replace(folder, parked)
        shutil.rmtree(parked, ignore_errors=True)
    return folder


@contextlib.contextmanager
def name_lock(name: str) -> Iterator[None]:
    """Serialise writers of one name across processes (an advisory lock the OS drops with the process)."""
    locks = store_root() / ".locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{name}.lock", "a+b") as handle:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; the atomic rename still keeps the store whole
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
