"""Phone timings of a known transcript on recorded speech: forced alignment with pocketsphinx.

pocketsphinx 5 (PyPI, ``pip install 'dtsdk[bench]'``) ships a US-English acoustic model and the
CMU pronouncing dictionary, and runs offline. It aligns in two passes: words, then phones within
them (its ``set_alignment``), on 10 ms frames. Imported lazily: nothing else in dtsdk needs it.
"""
from __future__ import annotations

import functools

import numpy as np

from dtsdk._optional import require
from dtsdk.errors import DtsdkError

ALIGN_SAMPLE_RATE = 16000  # the rate pocketsphinx's en-us model was trained at
# Beams wider than the decoder's defaults (1e-48, 1e-48, 7e-29): alignment follows one known word
# sequence, so a wide beam costs little, and at the defaults some TTS clips found no path at all.
ALIGN_BEAMS = {"beam": 1e-80, "pbeam": 1e-80, "wbeam": 1e-60}


@functools.lru_cache(maxsize=1)
def _decoder():
    pocketsphinx = require("pocketsphinx", "bench", "forced alignment")
    return pocketsphinx.Decoder(samprate=ALIGN_SAMPLE_RATE, bestpath=False, loglevel="FATAL", **ALIGN_BEAMS)


def align_phones(audio, transcript: str, sr: int | None = None) -> list[tuple[str, float, float]]:
    """``[(phone, start_s, end_s), ...]`` in time order for ``audio`` speaking ``transcript``.

    ``audio``: a path, bytes or an array (with ``sr``), read by :func:`dtsdk.audio.load_audio`.
    ``transcript``: the words spoken, whitespace-separated; each must be in the CMU dictionary
    (case and punctuation other than apostrophes are ignored). Phones are pocketsphinx's ARPAbet,
    upper case without stress, with ``SIL`` for pauses (and noise fillers such as ``+NSN+``).
    """
    from dtsdk.audio import load_audio

    wave = load_audio(audio, sr=ALIGN_SAMPLE_RATE, source_sr=sr)  # (S,) float32 in [-1, 1]
    pcm = (np.clip(wave, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    words = ["".join(ch for ch in w if ch.isalnum() or ch == "'") for w in transcript.lower().split()]
    words = [w for w in words if w]
    decoder = _decoder()
    missing = [w for w in words if decoder.lookup_word(w) is None]
    if missing:
        raise DtsdkError(f"forced alignment: {', '.join(missing)} not in the pronouncing dictionary; "
                         "spell the transcript with dictionary words")
    decoder.set_align_text(" ".join(words))
    for second_pass in (False, True):  # words first, then the phones inside them
        if second_pass:
            if decoder.hyp() is None:
                raise DtsdkError(f"forced alignment of {transcript!r} found no path through the audio "
                                 "(is it the transcript of this recording?)")
            decoder.set_alignment()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
    alignment = decoder.get_alignment()
    if alignment is None:
        raise DtsdkError(f"forced alignment of {transcript!r} found no path through the audio")
    frate = float(decoder.config["frate"])  # frames per second of the alignment (100)
    return [(phone.name, phone.start / frate, (phone.start + phone.duration) / frate)
            for word in alignment for phone in word]
