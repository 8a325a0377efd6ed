"""A second true draw of the corpus generator: a stored clip articulated again with another seed.

The builder makes a clip's motion from its phones, its audio and its speaker's style, plus a random
generator that drives what speech does not decide: per-token target jitter of the mouth, blinks,
brow raises, head motion and gaze (:func:`dtsdk.corpus.articulation.motion_for_utterance`). This
module reads those inputs back from a built corpus and draws again from another generator, so the
result is what a perfect generative model of the corpus would produce: it differs from the stored
ground truth by exactly as much as two draws of the generator differ. ``dtsdk eval`` scores it as
the ``resampled`` system, the floor of every score (``docs/metrics.md``).

Inputs, and how close they are to the builder's own:

* **style**: ``speakers/<speaker>/speaker.yaml`` holds the style the builder used, exactly (the
  style speaker's, :func:`dtsdk.corpus.manifest.clip_style_speaker`, for a swapped clip).
* **the blink start**: natural clips were drawn with ``stationary_blinks=False``, the extra clips
  (swapped, pause; :mod:`dtsdk.corpus.extras`) with ``True``; the manifest's ``kind`` says which.
* **phones**: the clip's ``.npz`` stores them in ``meta["phones"]``, times rounded to 0.1 ms; the
  builder articulated the unrounded TTS times (which lie on no grid that would undo the rounding).
* **audio**: the clip's ``.wav``, 16-bit PCM; the builder measured loudness and pitch on the TTS's
  float32 samples before they were written.

What the two roundings change, measured by replaying every clip with the builder's own generator
from these inputs (``tests/test_resample.py`` does it on the tiny corpus): the stream of random
draws stays in step (every clip draws the same numbers), and the motion comes back to within
6e-4 weight units on every frame of the default corpus's 2,976 clips but 4 frames: in
``t04_train_033``, ``t11_train_063``, ``h03_enroll_003`` and ``h04_enroll_016`` one frame each
sits on the edge of a p/b/m closure that the 0.1 ms rounding moves across the frame's time, so
that frame's lip press differs by 0.27-0.79. No clip of ``test`` or ``heldout_test`` has one. With
the TTS run again instead (the same text and voice give the same samples), the replay is
bit-identical; reading the stored files needs no TTS engine and is faster, so it is what is used.
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dtsdk.corpus.manifest import clip_style_speaker
from dtsdk.corpus.phones import PhoneSegment
from dtsdk.corpus.style import SpeakerStyle
from dtsdk.errors import DtsdkError

# Mixed into every resampling seed, so no resampled draw can share a stream with the builder's
# (whose generators are seeded with a single integer per speaker).
RESAMPLE_STREAM = 0x5E5A


@dataclass(frozen=True)
class ClipInputs:
    """What the corpus generator turns into one clip's motion."""

    phones: list[PhoneSegment]
    audio: np.ndarray  # (S,) float32 mono
    sample_rate: int  # Hz
    fps: float
    style: SpeakerStyle
    stationary_blinks: bool = False  # how the builder started this clip's blink process


def speaker_style(root: str | os.PathLike, speaker: str) -> SpeakerStyle:
    """The style the builder gave ``speaker`` (from ``speakers/<speaker>/speaker.yaml``)."""
    import yaml

    path = Path(root) / "speakers" / speaker / "speaker.yaml"
    if not path.is_file():
        raise DtsdkError(f"{path}: missing; the corpus was not built by `dtsdk corpus build` or is incomplete")
    with open(path, encoding="utf-8") as f:
        return SpeakerStyle.from_dict(yaml.safe_load(f)["style"])


def clip_inputs(root: str | os.PathLike, clip: dict, style: SpeakerStyle | None = None) -> ClipInputs:
    """Phones, audio, rates and style of the manifest entry ``clip`` of the corpus at ``root``.

    ``style``: pass it to skip reading speaker.yaml again (the style speaker's by default).
    """
    import soundfile as sf

    from dtsdk.animation import Animation

    root = Path(root)
    stored = Animation.load(root / clip["motion"])
    meta, fps = stored.meta, float(stored.fps)
    if "phones" not in meta:
        raise DtsdkError(f"{root / clip['motion']}: no phones in its meta; rebuild the corpus with "
                         "`dtsdk corpus build`")
    phones = [PhoneSegment(str(p), float(s), float(e), int(st)) for p, s, e, st in meta["phones"]]
    audio, sample_rate = sf.read(root / clip["wav"], dtype="float32", always_2d=False)
    if style is None:
        style = speaker_style(root, clip_style_speaker(clip))
    stationary_blinks = clip.get("kind", "natural") != "natural"  # as build.py and extras.py draw them
    return ClipInputs(phones, np.asarray(audio, dtype=np.float32), int(sample_rate), fps, style, stationary_blinks)


def resample_generator(clip_name: str, seed: int = 0, draw: int = 0) -> np.random.Generator:
    """The generator of draw ``draw`` of clip ``clip_name`` from ``seed``: independent of the
    builder's streams and of every other (clip, seed, draw)."""
    return np.random.default_rng([RESAMPLE_STREAM, seed, draw, zlib.crc32(clip_name.encode("utf-8"))])


def articulate_clip(inputs: ClipInputs, rng: np.random.Generator):
    """The corpus generator on ``inputs`` with ``rng``: an :class:`dtsdk.Animation` like a stored clip."""
    from dtsdk.corpus.articulation import motion_for_utterance

    return motion_for_utterance(inputs.phones, inputs.audio, inputs.sample_rate, inputs.fps, inputs.style, rng,
                                stationary_blinks=inputs.stationary_blinks)


def resample_clip(root: str | os.PathLike, clip: dict, seed: int = 0, draws: int = 1,
                  style: SpeakerStyle | None = None) -> list[np.ndarray]:
    """``draws`` new draws of a stored clip's motion, ARKit-52 weights ``(T, 52)`` float32 each, with
    ``T`` the stored clip's frame count. Draw ``k`` uses :func:`resample_generator` ``(clip, seed, k)``."""
    inputs = clip_inputs(root, clip, style)
    return [articulate_clip(inputs, resample_generator(clip["clip"], seed, k)).arkit_weights().astype(np.float32)
            for k in range(draws)]
