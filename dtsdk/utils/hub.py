"""A local folder or a Hugging Face Hub repo id -> a local folder (the one resolver for models and identities)."""
from __future__ import annotations

import os
from pathlib import Path

from dtsdk.errors import DtsdkError


def folder_or_snapshot(source, what: str, files, revision=None, local_files_only=None, cache_dir=None,
                       offline_by_default: bool = False, kind: str = "") -> Path:
    """``source`` if it is a folder, else the snapshot of the Hub repo ``owner/name`` with ``files``.

    ``local_files_only=None`` follows ``HF_HUB_OFFLINE``; when it is unset the cache alone is used if
    ``offline_by_default`` (identities: nothing leaves or arrives unasked), the network otherwise.
    ``what`` names the expected folder in errors ("checkpoint directory", "identity folder"), ``kind``
    what is fetched ("identity"; empty: just the id).
    """
    path = Path(os.fspath(source)).expanduser()
    if path.is_dir():
        return path
    if path.exists() or str(source).count("/") != 1:
        raise DtsdkError(f"{source}: not a {what} nor a Hub repo id (owner/name)")
    from huggingface_hub import snapshot_download

    if local_files_only is None:
        default = "1" if offline_by_default else ""
        local_files_only = os.environ.get("HF_HUB_OFFLINE", default).strip() not in ("", "0")
    try:
        return Path(snapshot_download(str(source), revision=revision, cache_dir=cache_dir,
                                      local_files_only=local_files_only, allow_patterns=list(files)))
    except Exception as exc:
        where = ("the local Hub cache (set HF_HUB_OFFLINE=0 to download)" if local_files_only
                 else "the Hub cache or the network")
        raise DtsdkError(f"could not get {kind + ' ' if kind else ''}'{source}' from {where}: {exc}") from exc
