"""Real TTS engines behind one small interface: ``synthesize(text, Voice(...)) -> Utterance``.

Backends: espeak-ng (libespeak-ng via ctypes, :mod:`dtsdk.corpus.tts.espeak`) and flite (its
CLI, :mod:`dtsdk.corpus.tts.flite`).  Both return 16 kHz float32 mono audio and contiguous
ARPAbet :class:`~dtsdk.corpus.phones.PhoneSegment` lists.  A missing engine raises
:class:`~dtsdk.errors.DtsdkError` naming the Debian package to install.

    >>> from dtsdk.corpus.tts import Voice, synthesize
    >>> utt = synthesize("Bob bought a map.", Voice("espeak-ng", "en-gb+f3", rate=0.9, pitch=1.1))
    >>> utt.audio.shape, utt.phones[1].phone      # ((S,), 'b')
"""
from __future__ import annotations

import itertools

from dtsdk.corpus.tts.voice import ENGINES, SAMPLE_RATE, Utterance, Voice

__all__ = ["ENGINES", "SAMPLE_RATE", "Utterance", "Voice", "default_voice_pool", "engine_available",
           "list_voices", "synthesize"]

# The default pool: every pair of these espeak-ng accents and variants, each with its own
# pitch/rate from the cycles below, plus flite's four voices as they are and once more with
# another pitch/rate.  Classic m*/f* variants only: the novelty ones (whisper, croak, robots)
# are not speech a face model should learn from.
ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland")
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "f1", "f2", "f3", "f4")
# Cycle lengths 7 and 3 are co-prime with each other and with the 10 variants, so the same variant
# gets another pitch and rate in each accent.
PITCH_CYCLE = (1.0, 0.9, 1.12, 0.95, 1.06, 0.86, 1.18)
RATE_CYCLE = (1.0, 0.9, 1.1)
FLITE_VOICES = ("slt", "rms", "awb", "kal")
FLITE_RESTYLED = (Voice("flite", "slt", rate=0.92, pitch=1.12), Voice("flite", "rms", rate=1.12),
                  Voice("flite", "awb", rate=1.08, pitch=0.9), Voice("flite", "kal", rate=0.95, pitch=1.1))


def synthesize(text: str, voice: Voice) -> Utterance:
    """Speak ``text`` with ``voice``: 16 kHz float32 audio ``(S,)`` plus phones covering it.

    Deterministic: the same text and voice give the same samples.  Safe to call repeatedly, from
    threads (espeak-ng calls are serialized) and from forked or spawned worker processes.
    """
    if not isinstance(voice, Voice):
        voice = Voice(**voice)
    if not text or not text.strip():
        from dtsdk.errors import DtsdkError

        raise DtsdkError(f"voice {voice.label}: nothing to say (empty text)")
    if voice.engine == "espeak-ng":
        from dtsdk.corpus.tts.espeak import synthesize_espeak

        return synthesize_espeak(text, voice)
    from dtsdk.corpus.tts.flite import synthesize_flite

    return synthesize_flite(text, voice)


def list_voices(engine: str) -> list[str]:
    """Voice names an engine offers: espeak-ng's English voices (add ``+variant``, see
    :func:`dtsdk.corpus.tts.espeak.list_espeak_variants`) or flite's built-in voices."""
    if engine == "espeak-ng":
        from dtsdk.corpus.tts.espeak import list_espeak_voices

        return list_espeak_voices("en")
    if engine == "flite":
        from dtsdk.corpus.tts.flite import list_flite_voices

        return list_flite_voices()
    from dtsdk.errors import DtsdkError

    raise DtsdkError(f"unknown TTS engine '{engine}'; choose one of {', '.join(ENGINES)}")


def engine_available(engine: str) -> bool:
    """Whether ``engine`` is installed and loads on this machine."""
    from dtsdk.errors import DtsdkError

    try:
        return bool(list_voices(engine))
    except DtsdkError:
        return False


def default_voice_pool() -> list[Voice]:
    """The documented pool of distinct voices a corpus samples speakers from (48: 40 espeak-ng, 8 flite).

    Fixed, not random: a corpus recipe's seed picks from it, so the same seed gives the same voices.
    """
    pool = []
    pairs = itertools.product(ESPEAK_ACCENTS, ESPEAK_VARIANTS)
    for i, (accent, variant) in enumerate(pairs):
        pool.append(Voice("espeak-ng", f"{accent}+{variant}", rate=RATE_CYCLE[i % len(RATE_CYCLE)],
                          pitch=PITCH_CYCLE[i % len(PITCH_CYCLE)]))
    pool += [Voice("flite", name) for name in FLITE_VOICES]
    pool += list(FLITE_RESTYLED)
    return pool
