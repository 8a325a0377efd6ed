"""Moving identities in and out of the store: export to a folder, import from a folder or the Hub.

An exported folder is the store's own layout (config.json + identity.safetensors + README.md), which
is also a Hub model repo's layout, so ``huggingface-cli upload`` or :func:`push_identity` can
publish it and :func:`import_identity` reads it back from a local folder, a Hub repo already in the
local Hub cache, or (when the network is allowed) the Hub itself. Weights are safetensors only.
"""
from __future__ import annotations

from pathlib import Path

from dtsdk.errors import DtsdkError
from dtsdk.identities.store import (FILES, check_name, load_identity, name_lock, read_identity, store_root,
                                    write_identity_files)
from dtsdk.utils.atomic import atomic_dir
from dtsdk.utils.hub import folder_or_snapshot


def export_identity(name_or_path, destination, force: bool = False) -> Path:
    """Write a stored identity to the folder ``destination`` (Hub layout), atomically."""
    identity = load_identity(name_or_path)
    destination = Path(destination).expanduser()
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())) and not force:
        raise DtsdkError(f"{destination}: exists and is not empty; pass --force (force=True) to replace it")
    with atomic_dir(destination) as tmp:
        write_identity_files(tmp, identity.config, identity.tensors())
    return destination


def import_identity(source, name: str | None = None, force: bool = False, revision: str | None = None,
                    local_files_only: bool | None = None, cache_dir=None) -> Path:
    """Copy an identity from a folder or a Hub repo id (``owner/name``) into the store; returns its folder.

    ``name`` renames it (default: the name in its config.json). An existing name needs ``force``.
    """
    folder = _source_folder(source, revision, local_files_only, cache_dir)
    identity = read_identity(folder)
    name = check_name(name or identity.name)
    target = store_root() / name
    config = {**identity.config, "name": name}
    with name_lock(name):
        if target.exists() and not force:
            raise DtsdkError(f"{target}: identity '{name}' exists already; pass --force (force=True) to replace "
                             f"it, or --name to import it under another name")
        with atomic_dir(target) as tmp:
            write_identity_files(tmp, config, identity.tensors())
    return target


def push_identity(name_or_path, repo_id: str, private: bool = True, token: str | None = None) -> str:
    """Upload a stored identity to the Hub repo ``repo_id`` (needs the network and a write token)."""
    from huggingface_hub import HfApi

    identity = load_identity(name_or_path)
    api = HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=str(identity.path), allow_patterns=list(FILES),
                          commit_message=f"dtsdk identity {identity.name}")
    except Exception as exc:  # network, auth, permissions: one line for the user
        raise DtsdkError(f"could not push identity '{identity.name}' to {repo_id}: {exc}") from exc
    return repo_id


def _source_folder(source, revision, local_files_only, cache_dir) -> Path:
    return folder_or_snapshot(source, "identity folder", FILES, revision, local_files_only, cache_dir,
                              offline_by_default=True, kind="identity")
