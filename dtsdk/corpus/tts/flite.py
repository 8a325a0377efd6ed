"""flite through its command-line program: audio plus phone end times from ``-psdur``.

Three short runs per utterance (flite starts in milliseconds; its voices are linked in):

1. ``flite -voice V [--setf duration_stretch=1/rate] [--setf f0_shift=pitch] -t TEXT -o W.wav -psdur``
   writes the audio and prints ``phone:end_time_s`` pairs (``pau`` = silence).  flite's phones
   are CMUdict ARPAbet already.
2. ``flite -voice V -t TEXT -o none -pw`` prints the words after text normalization
   ("42" -> "forty two").
3. ``t2p "w1, w2, ..."`` (the letter-to-sound tool in the same Debian package) gives each word's
   phones with stress digits; the commas make it pause between words, so the words can be split.

The words' phones are matched to the spoken phones one to one to set ``PhoneSegment.word`` and
``stress``.  Post-lexical rules can change a phone ("a" is ``ey`` alone, ``ax`` in context) but
not the count; if the counts differ anyway, words and stress are left unknown (-1), the timings
stay.

Which features work (measured on flite 2.2): ``duration_stretch`` with all four voices;
``f0_shift`` (a multiplier of F0) with slt, awb and kal -- the rms voice ignores it and every other
F0 feature.  ``int_f0_target_mean`` also works on slt/awb/kal but is absolute Hz, so the
multiplier is used.  slt, rms and awb speak at 16 kHz, kal at 8 kHz (resampled to 16 kHz).
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
import warnings

from dtsdk.audio.io import load_audio
from dtsdk.corpus.phones import PHONES, SILENCE, VOWELS
from dtsdk.corpus.tts.voice import SAMPLE_RATE, Utterance, Voice, close_segments
from dtsdk.errors import DtsdkError

BINARY_ENV = "DTSDK_FLITE_BINARY"  # path of the flite program, to override the PATH search
INSTALL_HINT = "install it with `apt-get install flite` (Debian package flite)"
_FLITE_TO_ARPABET = {"pau": SILENCE, "h#": SILENCE, "hv": "hh", "nx": "n", "ux": "uw", "ix": "ih"}
_TIMEOUT_S = 60


def flite_binary() -> str:
    """The flite program: ``$DTSDK_FLITE_BINARY`` or ``flite`` on PATH; raises DtsdkError if absent."""
    name = os.environ.get(BINARY_ENV) or "flite"
    found = shutil.which(name)
    if not found:
        raise DtsdkError(f"flite: program '{name}' not found; {INSTALL_HINT}")
    return found


def _run(args: list[str]) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except OSError as exc:
        raise DtsdkError(f"flite: cannot run {args[0]} ({exc}); {INSTALL_HINT}") from None
    if done.returncode != 0:
        raise DtsdkError(f"flite: {' '.join(args[:3])} ... failed (exit {done.returncode}): "
                         f"{done.stderr.strip()[:200]}")
    return done.stdout


@functools.lru_cache(maxsize=4)
def _voices(binary: str) -> tuple[str, ...]:
    out = _run([binary, "-lv"])  # "Voices available: kal awb_time kal16 awb rms slt"
    return tuple(out.split(":", 1)[-1].split())


def list_flite_voices() -> list[str]:
    """The voices this flite has built in (Debian: kal, kal16, awb, awb_time, rms, slt)."""
    return sorted(_voices(flite_binary()))


def flite_phone(name: str) -> str:
    """flite's phone name -> the shared ARPAbet set (it is ARPAbet; a few TIMIT names are folded)."""
    phone = _FLITE_TO_ARPABET.get(name, name)
    if phone not in PHONES:
        warnings.warn(f"flite phone '{name}' is not in dtsdk's phone set; using 'sil'", stacklevel=2)
        return SILENCE
    return phone


def synthesize_flite(text: str, voice: Voice) -> Utterance:
    """Speak ``text`` with a flite voice; 16 kHz audio and ARPAbet phone segments."""
    binary = flite_binary()
    if voice.name not in _voices(binary):
        raise DtsdkError(f"flite: no voice '{voice.name}'; it has {', '.join(sorted(_voices(binary)))}")
    features = []
    if voice.rate != 1.0:
        features += ["--setf", f"duration_stretch={1.0 / voice.rate:.6f}"]
    if voice.pitch != 1.0:
        features += ["--setf", f"f0_shift={voice.pitch:.6f}"]
    with tempfile.TemporaryDirectory(prefix="dtsdk-flite-") as tmp:
        wav = os.path.join(tmp, "speech.wav")
        # "-t" makes the text literal even when it starts with "-" or names a file.
        timings = _run([binary, "-voice", voice.name, *features, "-t", text, "-o", wav, "-psdur"])
        audio = load_audio(wav, sr=SAMPLE_RATE)
    words = _run([binary, "-voice", voice.name, "-t", text, "-o", "none", "-pw"]).split()
    spoken = []  # (phone, end_s)
    for token in timings.split():
        name, _, end = token.rpartition(":")
        spoken.append((flite_phone(name), float(end)))
    labels = _word_labels(binary, words, [p for p, _ in spoken if p != SILENCE])
    onsets, start, k = [], 0.0, 0
    for phone, end in spoken:
        stress, word = -1, -1
        if phone != SILENCE and labels is not None:
            stress, word = labels[k]
            k += 1
        onsets.append((start, phone, stress if phone in VOWELS else -1, word))
        start = end
    phones = close_segments(onsets, len(audio) / SAMPLE_RATE)
    return Utterance(text=text, voice=voice, audio=audio, phones=phones, words=words)


def _word_labels(binary: str, words: list[str], phones: list[str]) -> list[tuple[int, int]] | None:
    """``(stress, word index)`` per spoken non-silent phone, or None when they cannot be matched."""
    t2p = shutil.which("t2p", path=os.path.dirname(binary)) or shutil.which("t2p")
    if not t2p or not words:
        return None
    groups: list[list[str]] = [[]]
    for token in _run([t2p, ", ".join(words)]).split():
        if token == "pau":
            if groups[-1]:
                groups.append([])
        else:
            groups[-1].append(token)
    groups = [g for g in groups if g]
    labels = [(int(p[-1]) if p[-1].isdigit() else 0, w) for w, g in enumerate(groups) for p in g]
    if len(groups) != len(words) or len(labels) != len(phones):
        return None
    return labels
