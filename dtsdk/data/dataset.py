"""Aligned (audio window, motion window, speaker) samples for training.

Alignment convention: motion frame ``f`` starts at ``f / fps`` seconds, so a crop starting at frame
``f0`` starts at audio sample ``round(f0 * sample_rate / fps)`` and spans
``round(window_frames * sample_rate / fps)`` samples. Clips shorter than the window are padded
with silence and neutral motion, and ``mask`` marks the real frames.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError


@dataclass
class Clip:
    """One aligned take, loaded lazily: ``load() -> (audio (S,) float32 at 16 kHz, Animation)``."""

    name: str
    speaker: str  # the identity label: whose style the motion is
    load: Callable[[], tuple[np.ndarray, Animation]]
    duration_s: float | None = None
    voice_speaker: str | None = None  # whose voice the audio is; None: the speaker's own

    @property
    def voice_is_identity(self) -> bool:
        """False for a style-swapped clip (another speaker's voice): the audio-to-identity head must
        not learn to map that voice to this identity."""
        return self.voice_speaker is None or self.voice_speaker == self.speaker


def _corpus_loader(root: Path, wav: str, motion: str):
    def load():
        from dtsdk.audio import load_audio

        return load_audio(root / wav, sr=16000), Animation.load(root / motion)

    return load


class TalkingFaceDataset(torch.utils.data.Dataset):
    """One item per clip per epoch: a random (or, with ``random_crop=False``, the first) window.

    Items: ``audio`` (S,) float32 (once ``features`` is set, also ``features`` (T, D_audio)), ``motion``
    (T, D) float32, ``mask`` (T,) bool, ``speaker`` int (index into ``self.speakers``: the identity),
    ``voice_is_identity`` bool (False on a style-swapped clip, whose audio is another speaker's voice),
    ``clip`` str. Batch with the default ``DataLoader`` collate.
    """

    def __init__(self, clips: Sequence[Clip], window_s: float = 2.0, fps: float = 30.0, sample_rate: int = 16000,
                 random_crop: bool = True, seed: int = 0, speakers: Sequence[str] | None = None, cache: bool = True):
        if not clips:
            raise DtsdkError("the dataset has no clips (check the split name and the corpus path)")
        self.clips = list(clips)
        self.fps = float(fps)
        self.sample_rate = int(sample_rate)
        self.window_frames = max(1, int(round(window_s * fps)))
        self.window_samples = int(round(self.window_frames * sample_rate / fps))
        self.random_crop = random_crop
        self.seed = seed
        self.epoch = 0
        self.speakers = list(speakers) if speakers is not None else sorted({c.speaker for c in self.clips})
        unknown = sorted({c.speaker for c in self.clips} - set(self.speakers))
        if unknown:
            raise DtsdkError(f"clips of speakers not in the speaker list: {', '.join(unknown)}")
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] | None = {} if cache else None
        # per clip (T, D_audio): a frozen encoder's features of the whole clip (dtsdk.data.features); when
        # set, items carry their slice as ``features`` (the model then skips its encoder)
        self.features: list[np.ndarray] | None = None

    # ---- construction ----------------------------------------------------------------------------
    @classmethod
    def from_corpus(cls, root: str | os.PathLike, split: str | Sequence[str] = "train",
                    **kwargs) -> "TalkingFaceDataset":
        """Clips of one split (or several, in manifest order) of a corpus built by ``dtsdk corpus build``."""
        from dtsdk.corpus.manifest import clip_voice_speaker, read_manifest
        from dtsdk.corpus.splits import SPLITS

        splits = (split,) if isinstance(split, str) else tuple(split)
        for name in splits:
            if name not in SPLITS:
                raise DtsdkError(f"unknown split '{name}'; choose one of {', '.join(SPLITS)}")
        root = Path(root)
        manifest = read_manifest(root)
        clips = [Clip(c["clip"], c["speaker"], _corpus_loader(root, c["wav"], c["motion"]), c["duration_s"],
                      clip_voice_speaker(c))
                 for c in manifest["clips"] if c["split"] in splits]
        kwargs.setdefault("fps", manifest["fps"])
        return cls(clips, **kwargs)

    @classmethod
    def from_captures(cls, path: str | os.PathLike, reader: str | None = None, **kwargs) -> "TalkingFaceDataset":
        """Clips from real capture data, through a capture-reader plugin (Live Link Face, VOCASET, BIWI)."""
        from dtsdk.capture import read_captures

        clips = []
        for c in read_captures(path, reader=reader):
            if c.sample_rate != 16000:
                raise DtsdkError(f"{path}: capture reader returned {c.sample_rate} Hz audio; "
                                 "readers must resample to 16000")
            clips.append(Clip(c.name, c.speaker, (lambda a=c.audio, m=c.animation: (a, m)),
                              len(c.audio) / c.sample_rate))
        if clips:
            kwargs.setdefault("fps", clips[0].load()[1].fps)
        return cls(clips, **kwargs)

    # ---- items -----------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Change the random crops (call once per epoch; DDP ranks call it with the same epoch)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.clips)

    def clip_arrays(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Clip ``index`` whole: audio ``(S,)`` float32 at the dataset's rate and motion ``(T, D)`` at its fps."""
        if self._cache is not None and index in self._cache:
            return self._cache[index]
        clip = self.clips[index]
        audio, anim = clip.load()
        if abs(anim.fps - self.fps) > 1e-6:
            anim = anim.resample(self.fps)
        expected = len(audio) / self.sample_rate * self.fps
        if abs(anim.num_frames - expected) > 2:
            raise DtsdkError(f"clip {clip.name}: {anim.num_frames} motion frames but the audio covers "
                             f"{expected:.1f} frames at {self.fps:g} fps (misaligned)")
        arrays = (np.asarray(audio, np.float32), anim.weights)
        if self._cache is not None:
            self._cache[index] = arrays
        return arrays

    def clip_motion(self, index: int) -> np.ndarray:
        """The whole motion of clip ``index`` at the dataset fps, ``(T, D)`` (e.g. for normalisation stats)."""
        return self.clip_arrays(index)[1]

    def clip_frames(self, index: int) -> int:
        """Motion frames of clip ``index`` (from its recorded duration when known, without loading it)."""
        duration = self.clips[index].duration_s
        if duration is None:
            return self.clip_arrays(index)[1].shape[0]
        return int(round(duration * self.fps))

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        """``key``: a clip index (a window of ``window_frames``), or ``(index, frames)`` for a window of
        ``frames`` (what :class:`LengthBatchSampler` asks for)."""
        index, window_frames = key if isinstance(key, tuple) else (key, self.window_frames)
        window_samples = int(round(window_frames * self.sample_rate / self.fps))
        audio, motion = self.clip_arrays(index)
        n_frames = motion.shape[0]
        span = max(0, n_frames - window_frames)
        if self.random_crop and span > 0:
            start = int(np.random.default_rng([self.seed, self.epoch, index]).integers(0, span + 1))
        else:
            start = 0
        frames = motion[start:start + window_frames]  # (<=T, D)
        a0 = int(round(start * self.sample_rate / self.fps))
        samples = audio[a0:a0 + window_samples]  # (<=S,)
        motion_win = np.zeros((window_frames, motion.shape[1]), np.float32)
        motion_win[:len(frames)] = frames
        audio_win = np.zeros(window_samples, np.float32)
        audio_win[:len(samples)] = samples
        mask = np.zeros(window_frames, bool)
        mask[:len(frames)] = True
        item = {"audio": torch.from_numpy(audio_win), "motion": torch.from_numpy(motion_win),
                "mask": torch.from_numpy(mask), "speaker": self.speakers.index(self.clips[index].speaker),
                "voice_is_identity": self.clips[index].voice_is_identity, "clip": self.clips[index].name}
        if self.features is not None:
            feats = self.features[index][start:start + window_frames]  # (<=T, D_audio)
            item["features"] = torch.from_numpy(np.zeros((window_frames, feats.shape[1]), np.float32))
            item["features"][:len(feats)] = torch.from_numpy(feats)
        return item


class LengthBatchSampler(torch.utils.data.Sampler):
    """Batches of clips of similar length, each cropped to its shortest clip (at most ``max_frames``).

    Training on whole sentences, as ``Talker`` animates them, with no padding: padded audio would enter
    the audio encoder's per-window normalisation. Each epoch (``set_epoch``) shuffles the clips, sorts
    them by length within pools of ``pool`` batches (so batches differ between epochs), and shuffles the
    batch order. Under DDP every rank sees the same batch list and takes every ``num_replicas``-th batch.
    Yields lists of ``(index, frames)`` keys for :meth:`TalkingFaceDataset.__getitem__`.

    With ``min_frames`` (recipe ``crop: span``) each batch's length is drawn uniformly between
    ``min_frames`` and that cap instead, so the crops (at random offsets, the dataset's ``random_crop``)
    begin and end anywhere in a sentence rather than on its leading and trailing silence.
    """

    def __init__(self, data: TalkingFaceDataset, batch_size: int, max_frames: int, seed: int = 0,
                 num_replicas: int = 1, rank: int = 0, pool: int = 50, drop_last: bool = True,
                 min_frames: int | None = None):
        self.frames = [data.clip_frames(i) for i in range(len(data))]
        self.batch_size, self.max_frames, self.seed = int(batch_size), int(max_frames), int(seed)
        self.min_frames = None if min_frames is None else max(1, int(min_frames))
        self.num_replicas, self.rank, self.pool = int(num_replicas), int(rank), int(pool)
        self.drop_last = bool(drop_last)  # False: keep each pool's last, smaller batch (for evaluation)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _all_batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.frames))
        pool = self.pool * self.batch_size
        batches = []
        for p in range(0, len(order), pool):
            chunk = sorted(order[p:p + pool], key=lambda i: self.frames[i])
            batches += [chunk[b:b + self.batch_size] for b in range(0, len(chunk), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self):
        batches = self._all_batches()
        usable = len(batches) - len(batches) % self.num_replicas  # every rank the same number of steps
        for b in range(self.rank, usable, self.num_replicas):
            batch = batches[b]
            frames = max(1, min(self.max_frames, *(self.frames[i] for i in batch)))
            if self.min_frames is not None and frames > self.min_frames:
                rng = np.random.default_rng([self.seed, self.epoch, b])  # by global batch: the same on every rank
                frames = int(rng.integers(self.min_frames, frames + 1))
            yield [(int(i), frames) for i in batch]

    def __len__(self) -> int:
        return len(self._all_batches()) // self.num_replicas
