"""The TTS backends: audio format, phone timings that agree with the audio, determinism, voices, processes."""
from __future__ import annotations

import multiprocessing as mp
import warnings

import numpy as np
import pytest

from dtsdk.corpus.phones import PHONES, VOWELS, validate_segments
from dtsdk.corpus.tts import Voice, default_voice_pool, engine_available, list_voices, synthesize
from dtsdk.errors import DtsdkError

HAS_ESPEAK = engine_available("espeak-ng")
HAS_FLITE = engine_available("flite")
needs_espeak = pytest.mark.skipif(not HAS_ESPEAK, reason="espeak-ng not installed (apt-get install espeak-ng)")
needs_flite = pytest.mark.skipif(not HAS_FLITE, reason="flite not installed (apt-get install flite)")

VOICES = [
    pytest.param(Voice("espeak-ng", "en-us"), marks=needs_espeak, id="espeak-en-us"),
    pytest.param(Voice("espeak-ng", "en-gb+f3", rate=1.1, pitch=1.1), marks=needs_espeak, id="espeak-en-gb+f3"),
    pytest.param(Voice("flite", "slt"), marks=needs_flite, id="flite-slt"),
    pytest.param(Voice("flite", "awb", rate=0.9), marks=needs_flite, id="flite-awb"),
    pytest.param(Voice("flite", "kal"), marks=needs_flite, id="flite-kal-8khz"),
]
BILABIAL_TEXTS = (
    "Bob bought a map, and Pam parked the big black car by the barn.",
    "My father dropped a purple pumpkin on the palm of his hand.",
    "Mom saw a puppy pop a bubble by the pool.",
)
SR = 16000


def _f0_hz(audio: np.ndarray, sr: int = SR) -> float:
    """Median F0 of the voiced 40 ms frames, by autocorrelation (60..400 Hz)."""
    frame, lo, hi = int(0.04 * sr), sr // 400, sr // 60
    estimates = []
    for start in range(0, len(audio) - frame, frame // 2):
        x = audio[start : start + frame].astype(np.float64)
        x -= x.mean()
        if np.sqrt(np.mean(x**2)) < 0.02:
            continue
        ac = np.correlate(x, x, "full")[frame - 1 :]
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.3 * ac[0]:
            estimates.append(sr / lag)
    return float(np.median(estimates))


@pytest.mark.parametrize("voice", VOICES)
def test_audio_is_16k_mono_and_phones_cover_it(voice):
    utt = synthesize("The quick brown fox jumps over the lazy dog.", voice)
    assert utt.sample_rate == SR and utt.audio.dtype == np.float32 and utt.audio.ndim == 1
    assert np.isfinite(utt.audio).all() and 0.0 < np.abs(utt.audio).max() <= 1.0
    validate_segments(utt.phones, utt.duration_s, tol_s=1e-6)  # contiguous from 0, known phones
    assert abs(utt.phones[-1].end_s - utt.duration_s) <= 0.05
    assert utt.phones[0].phone == "sil" and utt.phones[-1].phone == "sil"
    spoken = [p for p in utt.phones if p.phone != "sil"]
    assert len(spoken) >= 25
    assert [w.lower() for w in utt.words] == "the quick brown fox jumps over the lazy dog".split()
    assert all(0 <= p.word < len(utt.words) for p in spoken)
    assert any(p.stress == 1 for p in spoken if p.is_vowel)
    assert all(p.stress == -1 for p in spoken if not p.is_vowel)


def _emphasized_rms(audio: np.ndarray, start_s: float, end_s: float) -> float:
    # Pre-emphasis (first difference) weighs what the open mouth radiates: behind closed lips only
    # the nasal murmur below ~500 Hz gets out, which plain RMS would count as loud (flite's m/b).
    x = audio.astype(np.float64)
    x = np.append(x[0], x[1:] - 0.97 * x[:-1])
    a, b = max(0, int(start_s * SR)), max(0, int(end_s * SR))
    seg = x[a:b]
    return float(np.sqrt(np.mean(seg**2))) if seg.size else float("nan")


def _contrast_db(utts, phones: set[str], shift_s: float = 0.0) -> float:
    """Median energy of ``phones`` segments over that of open vowels (aa/ae/ao), in dB."""
    closed, open_ = [], []
    for utt in utts:
        for p in utt.phones:
            energy = _emphasized_rms(utt.audio, p.start_s + shift_s, p.end_s + shift_s)
            if p.phone in phones:
                closed.append(energy)
            elif p.phone in ("aa", "ae", "ao"):
                open_.append(energy)
    assert len(closed) >= 3 and len(open_) >= 3
    return 20 * np.log10(np.nanmedian(closed) / np.nanmedian(open_))


@pytest.mark.parametrize("voice", VOICES)
def test_phone_timings_agree_with_the_audio(voice):
    utts = [synthesize(text, voice) for text in BILABIAL_TEXTS]
    bilabial = _contrast_db(utts, {"p", "b", "m"})
    assert bilabial < -6.0, f"p/b/m segments only {bilabial:.1f} dB below open vowels"
    assert _contrast_db(utts, {"sil"}) < -20.0
    # The dip is where the timings say: moving every segment 60 ms either way blurs it.
    for shift in (-0.06, 0.06):
        shifted = _contrast_db(utts, {"p", "b", "m"}, shift)
        assert bilabial < shifted - 3.0, f"shift {shift * 1000:+.0f} ms: {shifted:.1f} dB vs {bilabial:.1f} dB"


@pytest.mark.parametrize("voice", VOICES)
def test_same_text_and_voice_give_identical_audio(voice):
    text = "Please polish the velvet violin before noon."
    first = synthesize(text, voice)
    synthesize("Something else, said by another voice.", Voice("flite", "rms") if voice.engine == "flite"
               else Voice("espeak-ng", "en-gb-scotland+m4", rate=1.3, pitch=0.8, pitch_range=1.6, word_gap_ms=30))
    again = synthesize(text, voice)
    assert np.array_equal(first.audio, again.audio)
    assert first.phones == again.phones


@needs_espeak
def test_espeak_pitch_and_variant_change_f0():
    text = "How are you today? I am fine, and you are there."
    low = _f0_hz(synthesize(text, Voice("espeak-ng", "en-us", pitch=0.86)).audio)
    high = _f0_hz(synthesize(text, Voice("espeak-ng", "en-us", pitch=1.39)).audio)
    assert 1.4 < high / low < 1.9  # asked for 1.39 / 0.86 = 1.62
    male = _f0_hz(synthesize(text, Voice("espeak-ng", "en-us+m3")).audio)
    female = _f0_hz(synthesize(text, Voice("espeak-ng", "en-us+f3")).audio)
    assert female > 1.3 * male


@needs_flite
def test_flite_pitch_and_voices_change_f0():
    text = "How are you today? I am fine, and you are there."
    base = _f0_hz(synthesize(text, Voice("flite", "awb")).audio)
    shifted = _f0_hz(synthesize(text, Voice("flite", "awb", pitch=1.25)).audio)
    assert 1.15 < shifted / base < 1.35
    female, male = (synthesize(text, Voice("flite", name)).audio for name in ("slt", "rms"))
    assert _f0_hz(female) > 1.3 * _f0_hz(male)


@pytest.mark.parametrize("voice", VOICES)
def test_rate_changes_duration(voice):
    text = "We shipped five woolen boots to the harbor."
    slow = synthesize(text, Voice(voice.engine, voice.name, rate=0.8))
    fast = synthesize(text, Voice(voice.engine, voice.name, rate=1.25))
    assert slow.duration_s > 1.25 * fast.duration_s


@needs_espeak
def test_repeated_synthesis_in_one_process():
    voice = Voice("espeak-ng", "en-gb-x-rp+m2")
    durations = []
    for i in range(30):
        utt = synthesize(f"Take {i % 7 + 2} blue boxes to the barn.", voice)
        validate_segments(utt.phones, utt.duration_s, tol_s=1e-6)
        durations.append(utt.duration_s)
    assert durations[:7] == durations[7:14]


def _engines_installed():
    return [Voice("espeak-ng", "en-us+f2")] * HAS_ESPEAK + [Voice("flite", "kal")] * HAS_FLITE


@pytest.mark.skipif(not (HAS_ESPEAK or HAS_FLITE), reason="no TTS engine installed")
@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_worker_processes_match_the_parent(method):
    jobs = [(text, voice) for voice in _engines_installed() for text in BILABIAL_TEXTS[:2]]
    expected = [synthesize(text, voice) for text, voice in jobs]  # the parent has used the library first
    with mp.get_context(method).Pool(2) as pool:
        got = pool.starmap(synthesize, jobs)
    for want, have in zip(expected, got):
        assert np.array_equal(want.audio, have.audio) and want.phones == have.phones


def test_missing_espeak_library_names_the_package(monkeypatch):
    from dtsdk.corpus.tts import espeak

    monkeypatch.setenv(espeak.LIBRARY_ENV, "/nonexistent/libespeak-ng.so.1")
    with pytest.raises(DtsdkError, match=r"espeak-ng.*apt-get install espeak-ng"):
        synthesize("Hello.", Voice("espeak-ng", "en-us"))
    monkeypatch.setattr(espeak.ctypes.util, "find_library", lambda name: None)
    monkeypatch.delenv(espeak.LIBRARY_ENV)
    with pytest.raises(DtsdkError, match=r"libespeak-ng.so.1 not found.*apt-get install espeak-ng"):
        list_voices("espeak-ng")


def test_missing_flite_binary_names_the_package(monkeypatch):
    from dtsdk.corpus.tts import flite

    monkeypatch.setenv(flite.BINARY_ENV, "/nonexistent/flite")
    with pytest.raises(DtsdkError, match=r"flite.*/nonexistent/flite.*apt-get install flite"):
        synthesize("Hello.", Voice("flite", "slt"))
    assert not engine_available("flite")


def test_bad_voices_are_clear_errors():
    with pytest.raises(DtsdkError, match="unknown TTS engine"):
        Voice("festival", "kal")
    with pytest.raises(DtsdkError, match="flite supports only rate and pitch"):
        Voice("flite", "slt", pitch_range=0.5)
    if HAS_ESPEAK:
        with pytest.raises(DtsdkError, match="no voice 'xx-nowhere'"):
            synthesize("Hello.", Voice("espeak-ng", "xx-nowhere"))
        with pytest.raises(DtsdkError, match="scale pitch by"):
            synthesize("Hello.", Voice("espeak-ng", "en-us", pitch=3.0))
    if HAS_FLITE:
        with pytest.raises(DtsdkError, match="no voice 'nobody'"):
            synthesize("Hello.", Voice("flite", "nobody"))


def test_unknown_espeak_mnemonics_fall_back_and_are_counted():
    from dtsdk.corpus.tts.espeak_phones import UNMAPPED, espeak_to_arpabet

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert espeak_to_arpabet("oUzz") == "ow"  # longest known prefix
        assert espeak_to_arpabet("Qq9") == "sil"
        assert espeak_to_arpabet("_:") == "sil" and espeak_to_arpabet("tS") == "ch"
    assert UNMAPPED["oUzz"] >= 1 and len(caught) == 2
    assert espeak_to_arpabet("@2") in VOWELS and espeak_to_arpabet("r-") in PHONES


def test_default_pool_has_30_distinct_voices_that_all_speak():
    pool = default_voice_pool()
    assert len({v.label for v in pool}) == len(pool) >= 30
    assert sum(v.engine == "espeak-ng" for v in pool) >= 30  # enough even for an espeak-only recipe
    usable = [v for v in pool if (HAS_ESPEAK and v.engine == "espeak-ng") or (HAS_FLITE and v.engine == "flite")]
    if not usable:
        pytest.skip("no TTS engine installed")
    fingerprints = {synthesize("A map.", v).audio.tobytes() for v in usable}
    assert len(fingerprints) == len(usable)  # no two pool voices sound the same


@needs_espeak
def test_list_voices():
    assert {"en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland"} <= set(list_voices("espeak-ng"))
    from dtsdk.corpus.tts.espeak import list_espeak_variants

    assert {"m1", "f3"} <= set(list_espeak_variants())


@needs_flite
def test_list_flite_voices():
    assert {"slt", "rms", "awb", "kal"} <= set(list_voices("flite"))
