"""The corpus manifest (``manifest.yaml``): splits, durations, checksums and the generator version."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import yaml

from dtsdk.errors import DtsdkError
from dtsdk.utils.atomic import atomic_open

# 2: every clip names its voice_speaker, style_speaker and kind (natural, swapped, pause). A version-1
# corpus still reads: its clips are natural, voice = style = speaker (clip_voice_speaker).
CORPUS_FORMAT_VERSION = 2
READABLE_FORMAT_VERSIONS = (1, 2)
MANIFEST_NAME = "manifest.yaml"


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_yaml(path: str | os.PathLike, data: dict) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, sort_keys=False, allow_unicode=True, width=120)


def read_manifest(root: str | os.PathLike) -> dict:
    """The manifest of the corpus at ``root``, checked for its format version."""
    path = Path(root) / MANIFEST_NAME
    if not path.is_file():
        raise DtsdkError(f"{root}: not a dtsdk corpus (no {MANIFEST_NAME}); build one with `dtsdk corpus build`")
    try:
        with open(path, encoding="utf-8") as f:
            manifest = yaml.safe_load(f)
    except yaml.YAMLError as exc:
        raise DtsdkError(f"{path}: not valid YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(manifest, dict) or manifest.get("format_version") not in READABLE_FORMAT_VERSIONS:
        got = manifest.get("format_version") if isinstance(manifest, dict) else None
        raise DtsdkError(f"{path}: corpus format version {got}, this dtsdk reads "
                         f"{' and '.join(map(str, READABLE_FORMAT_VERSIONS))}")
    return manifest


def clip_voice_speaker(clip: dict) -> str:
    """Whose voice a manifest clip's audio is (a version-1 corpus has only natural clips: ``speaker``)."""
    return clip.get("voice_speaker", clip["speaker"])


def clip_style_speaker(clip: dict) -> str:
    """Whose style a manifest clip's motion is; it is always the identity label ``speaker``."""
    return clip.get("style_speaker", clip["speaker"])


def verify_checksums(root: str | os.PathLike, manifest: dict | None = None) -> list[str]:
    """Files whose content no longer matches the manifest (empty when the corpus is intact)."""
    root = Path(root)
    manifest = manifest or read_manifest(root)
    bad = []
    for clip in manifest["clips"]:
        for kind in ("wav", "motion"):
            path = root / clip[kind]
            if not path.is_file() or file_sha256(path) != clip["sha256"][kind]:
                bad.append(clip[kind])
    return bad
