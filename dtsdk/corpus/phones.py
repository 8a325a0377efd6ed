"""The phone set every TTS backend maps to, and the timed phone segments they return.

Phones are ARPAbet (as in CMUdict and flite), lower case, without stress digits; stress travels
separately. ``sil`` marks silence/pauses. Backends with another alphabet (espeak-ng's) map onto
this one in their own module.
"""
from __future__ import annotations

from dataclasses import dataclass

VOWELS = frozenset("aa ae ah ao aw ax axr ay eh er ey ih ix iy ow oy uh uw".split())
CONSONANTS = frozenset("b ch d dh dx el em en f g hh jh k l m n ng p r s sh t th v w y z zh".split())
SILENCE = "sil"
PHONES = VOWELS | CONSONANTS | {SILENCE}


@dataclass(frozen=True)
class PhoneSegment:
    """One phone with its time span in the audio, in seconds."""

    phone: str  # ARPAbet, lower case, no stress digit; "sil" for silence
    start_s: float
    end_s: float
    stress: int = -1  # 0 unstressed, 1 primary, 2 secondary, -1 unknown / not a vowel
    word: int = -1  # index of the word in the sentence, -1 for silence or unknown

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def is_vowel(self) -> bool:
        return self.phone in VOWELS


def validate_segments(segments: list[PhoneSegment], duration_s: float | None = None, tol_s: float = 0.02) -> None:
    """Raise ``ValueError`` unless the segments are known phones, contiguous and inside the audio."""
    prev_end = 0.0
    for i, seg in enumerate(segments):
        if seg.phone not in PHONES:
            raise ValueError(f"segment {i}: unknown phone '{seg.phone}'")
        if seg.end_s < seg.start_s:
            raise ValueError(f"segment {i} ('{seg.phone}') ends before it starts")
        if abs(seg.start_s - prev_end) > tol_s:
            raise ValueError(f"segment {i} ('{seg.phone}') starts at {seg.start_s:.3f}s, "
                             f"previous ended {prev_end:.3f}s")
        prev_end = seg.end_s
    if duration_s is not None and segments and abs(prev_end - duration_s) > max(tol_s, 0.05):
        raise ValueError(f"phones end at {prev_end:.3f}s but the audio lasts {duration_s:.3f}s")
