"""What every TTS backend takes (a :class:`Voice`) and gives back (an :class:`Utterance`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dtsdk.corpus.phones import SILENCE, PhoneSegment
from dtsdk.errors import DtsdkError

ENGINES = ("espeak-ng", "flite")
SAMPLE_RATE = 16000  # Hz; every utterance is resampled to the rate the speech encoders expect


@dataclass(frozen=True)
class Voice:
    """A TTS voice with its prosody settings; plain data, so it round-trips through YAML/dicts.

    * ``engine``: ``"espeak-ng"`` or ``"flite"``.
    * ``name``: espeak-ng voice name with an optional variant (``"en-us"``, ``"en-gb-x-rp"``,
      ``"en-us+f3"``, ``"en-gb+m4"``; see ``list_voices("espeak-ng")``) or a flite voice
      (``"slt"``, ``"rms"``, ``"awb"``, ``"kal"``).
    * ``rate``: speaking-rate multiplier, 1.0 = the engine's normal speed.  espeak-ng: ``175 * rate``
      words per minute (its range 80..450, so rate 0.46..2.57); flite: ``duration_stretch = 1 / rate``.
    * ``pitch``: multiplier of the voice's own mean F0, 1.0 = unchanged.  flite: the ``f0_shift``
      feature (works with slt, awb and kal; the rms voice ignores it).  espeak-ng: its 0..100 pitch
      parameter, set through a table measured on this espeak-ng (pitch 0 -> x0.74, 50 -> x1.0,
      99 -> x1.72), so the usable range is 0.74..1.72.
    * ``pitch_range``: multiplier of the intonation range (espeak-ng only: its range parameter
      ``50 * pitch_range``, 0..100; 0 is monotone).  flite has no working equivalent and rejects
      values other than 1.0.
    * ``word_gap_ms``: extra pause between words (espeak-ng only, 10 ms steps at normal speed).
    """

    engine: str = "espeak-ng"
    name: str = "en-us"
    rate: float = 1.0
    pitch: float = 1.0
    pitch_range: float = 1.0
    word_gap_ms: int = 0

    def __post_init__(self):
        if self.engine not in ENGINES:
            raise DtsdkError(f"unknown TTS engine '{self.engine}'; choose one of {', '.join(ENGINES)}")
        if not (self.rate > 0 and self.pitch > 0 and self.pitch_range >= 0 and self.word_gap_ms >= 0):
            raise DtsdkError(f"voice {self.label}: rate and pitch must be > 0, pitch_range and word_gap_ms >= 0")
        if self.engine == "flite" and (self.pitch_range != 1.0 or self.word_gap_ms):
            raise DtsdkError(f"voice {self.label}: flite supports only rate and pitch; "
                             "pitch_range and word_gap_ms are espeak-ng settings")

    @property
    def label(self) -> str:
        """A short unique name for logs and manifests, e.g. ``espeak-ng:en-us+f3@r1.1,p1.2``."""
        extras = [f"r{self.rate:g}", f"p{self.pitch:g}"]
        if self.pitch_range != 1.0:
            extras.append(f"pr{self.pitch_range:g}")
        if self.word_gap_ms:
            extras.append(f"gap{self.word_gap_ms}")
        return f"{self.engine}:{self.name}@{','.join(extras)}"


@dataclass
class Utterance:
    """Synthesized speech with its phone timings.

    ``audio`` is float32 mono ``(S,)`` at ``sample_rate`` (16 kHz).  ``phones`` are contiguous
    from 0 s to the end of the audio, silences as ``"sil"``; ``PhoneSegment.word`` indexes
    ``words`` (the spoken words as the engine tokenized them; espeak-ng keeps the text's
    spelling, flite gives its normalized lower-case words, e.g. "42" -> "forty", "two").
    """

    text: str
    voice: Voice
    audio: np.ndarray  # (S,) float32
    phones: list[PhoneSegment]
    words: list[str] = field(default_factory=list)
    sample_rate: int = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate


def close_segments(starts: list[tuple[float, str, int, int]], duration_s: float,
                   min_phone_s: float = 0.0) -> list[PhoneSegment]:
    """Timed phone onsets ``(start_s, phone, stress, word)`` -> contiguous segments covering ``[0, duration_s]``.

    A leading gap becomes ``sil``; each phone ends where the next starts and the last at
    ``duration_s``; onsets are clipped into the audio and sorted; neighbouring silences merge.
    """
    segments: list[PhoneSegment] = []
    onsets = sorted(((min(max(t, 0.0), duration_s), p, s, w) for t, p, s, w in starts), key=lambda o: o[0])
    if not onsets or onsets[0][0] > 0.0:
        onsets.insert(0, (0.0, SILENCE, -1, -1))
    for i, (start, phone, stress, word) in enumerate(onsets):
        end = onsets[i + 1][0] if i + 1 < len(onsets) else duration_s
        if end - start <= min_phone_s and segments:
            continue  # zero-length (co-timed) events carry no audio
        if phone == SILENCE:
            stress, word = -1, -1
            if segments and segments[-1].phone == SILENCE:
                segments[-1] = PhoneSegment(SILENCE, segments[-1].start_s, end)
                continue
        if segments and segments[-1].end_s != start:
            prev = segments[-1]
            segments[-1] = PhoneSegment(prev.phone, prev.start_s, start, prev.stress, prev.word)
        segments.append(PhoneSegment(phone, start, end, stress, word))
    return segments
