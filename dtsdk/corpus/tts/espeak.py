"""espeak-ng through libespeak-ng and ctypes: audio plus phoneme timings from its phoneme events.

Only the runtime library is needed (Debian ``libespeak-ng1``, pulled in by ``espeak-ng``); the
struct layouts below follow ``speak_lib.h`` of espeak-ng 1.51 (API revision 12), which has kept
``espeak_EVENT`` unchanged since revision 7.

How it runs: ``espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, ..., espeakINITIALIZE_PHONEME_EVENTS)``
makes ``espeak_Synth`` return only after the whole text is spoken, calling our callback with
~60 ms audio chunks and a list of events per chunk.  A ``PHONEME`` event carries the mnemonic and
``audio_position`` (ms from the start of this message) where the phoneme's sound starts; ``WORD``
events carry the word's character span in the text.  A phone ends where the next starts.

espeak-ng emits the silent closure of a stop (p, b, t, ...) before the stop's phoneme event, at
the end of the previous phone.  For lip motion the closure belongs to the stop, so
:func:`_claim_closures` moves a stop's start back over the digital silence (exact zeros at the
native rate) just before its event.

The library is one global state per process: it is initialized once and every call holds
:data:`_LOCK`.  It also keeps state from message to message that changes the audio slightly
(see :func:`_speak_from_pristine_state`), so each message is spoken in a fork of the freshly
initialized library: the same text and voice give the same samples in any order, in any process.
It starts no threads in synchronous mode, so forked workers can keep using it (the lock is
renewed in the child); spawned workers initialize their own copy.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import threading

import numpy as np

from dtsdk.audio.resample import resample
from dtsdk.corpus.phones import SILENCE, VOWELS
from dtsdk.corpus.tts.espeak_phones import espeak_to_arpabet
from dtsdk.corpus.tts.voice import SAMPLE_RATE, Utterance, Voice, close_segments
from dtsdk.errors import DtsdkError

LIBRARY_ENV = "DTSDK_ESPEAK_NG_LIBRARY"  # path of libespeak-ng.so.1, to override the search
INSTALL_HINT = "install it with `apt-get install espeak-ng` (Debian packages espeak-ng, libespeak-ng1)"

# speak_lib.h constants
AUDIO_OUTPUT_SYNCHRONOUS = 2
INITIALIZE_PHONEME_EVENTS = 0x0001
INITIALIZE_DONT_EXIT = 0x8000  # without it a missing espeak-ng-data calls exit() inside the library
CHARS_UTF8 = 1
ENDPAUSE = 0x1000  # a sentence pause after the text, so every clip ends in silence
POS_CHARACTER = 1
EVENT_LIST_TERMINATED, EVENT_WORD, EVENT_PHONEME = 0, 1, 7
PARAM_RATE, PARAM_PITCH, PARAM_RANGE, PARAM_WORDGAP = 1, 3, 4, 7
RATE_NORMAL_WPM, RATE_MIN_WPM, RATE_MAX_WPM = 175, 80, 450

# espeak-ng's pitch parameter (0..100) against the mean-F0 multiplier it produced, measured on
# en-us with espeak-ng 1.51 (autocorrelation F0 of a fixed sentence; 50 = the voice's own pitch).
PITCH_PARAM_TO_F0_FACTOR = ((0, 0.74), (20, 0.77), (35, 0.865), (50, 1.0), (65, 1.167), (80, 1.385), (99, 1.72))
_PHONEME_SEPARATOR = ord("|")  # TextToPhonemes puts it between phoneme names
_STOPS = frozenset("p b t d k g ch jh".split())
_MAX_CLOSURE_S = 0.15  # longer digital silence before a stop is a pause, not a closure
_MIN_CLOSURE_S = 0.005
_SILENT_LEVEL = 2  # |int16 sample| at or below this counts as digital silence


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    """``espeak_EVENT``."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),  # characters from the start of the text, 1-based
        ("length", ctypes.c_int),  # word length in characters (WORD events)
        ("audio_position", ctypes.c_int),  # ms from the start of the message
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


class _VoiceInfo(ctypes.Structure):
    """``espeak_VOICE``."""

    _fields_ = [
        ("name", ctypes.c_char_p),
        ("languages", ctypes.c_char_p),  # (priority byte, name, NUL)* NUL
        ("identifier", ctypes.c_char_p),
        ("gender", ctypes.c_ubyte),
        ("age", ctypes.c_ubyte),
        ("variant", ctypes.c_ubyte),
        ("xx1", ctypes.c_ubyte),
        ("score", ctypes.c_int),
        ("spare", ctypes.c_void_p),
    ]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.POINTER(_Event))
_LOCK = threading.Lock()
_LIBC = ctypes.CDLL(None)  # srand(): libespeak-ng draws noise from the C library's rand()
_ENGINES: dict[str, "_Espeak"] = {}  # by library path; one in practice


def _renew_lock_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()  # a lock held by another thread at fork time would never be released


os.register_at_fork(after_in_child=_renew_lock_in_child)


def library_path() -> str:
    """Where libespeak-ng is: ``$DTSDK_ESPEAK_NG_LIBRARY`` or the system search; raises DtsdkError if absent."""
    path = os.environ.get(LIBRARY_ENV) or ctypes.util.find_library("espeak-ng")
    if not path:
        raise DtsdkError(f"espeak-ng: libespeak-ng.so.1 not found; {INSTALL_HINT}")
    return path


class _Espeak:
    """One loaded and initialized libespeak-ng.  Use under :data:`_LOCK`."""

    def __init__(self, path: str):
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise DtsdkError(f"espeak-ng: cannot load {path} ({exc}); {INSTALL_HINT}") from None
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                     ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        lib.espeak_ListVoices.argtypes = [ctypes.POINTER(_VoiceInfo)]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_VoiceInfo))
        self.sample_rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, None,
                                                 INITIALIZE_PHONEME_EVENTS | INITIALIZE_DONT_EXIT)
        if self.sample_rate <= 0:
            raise DtsdkError(f"espeak-ng: {path} found no espeak-ng-data; {INSTALL_HINT}")
        self.lib = lib
        self._chunks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, str]] = []
        self._files: dict[str, str] | None = None
        self._callback = _SynthCallback(self._on_synth)  # kept on self: C holds only a raw pointer
        lib.espeak_SetSynthCallback(self._callback)

    def _on_synth(self, wav, num_samples, events) -> int:
        if wav and num_samples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, (num_samples,)).copy())
        i = 0
        while events[i].type != EVENT_LIST_TERMINATED:
            e = events[i]
            name = e.id.string.decode("utf-8", "replace") if e.type == EVENT_PHONEME else ""
            self._events.append((e.type, e.audio_position, e.text_position, e.length, name))
            i += 1
        return 0  # 0 = keep going

    def speak(self, text: str, voice: Voice) -> tuple[np.ndarray, list]:
        """int16 audio ``(S,)`` at :attr:`sample_rate` and the raw events of one message."""
        self._set_voice(voice)
        self._chunks, self._events = [], []
        data = text.encode("utf-8")
        err = self.lib.espeak_Synth(data, len(data) + 1, 0, POS_CHARACTER, 0, CHARS_UTF8 | ENDPAUSE, None, None)
        if err != 0:
            raise DtsdkError(f"espeak-ng: synthesis failed (error {err}) for text {text[:60]!r}")
        audio = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        return audio, self._events

    def transcribe(self, text: str, voice_name: str) -> list[tuple[str, int]]:
        """``(mnemonic, stress)`` per phoneme of ``text``, pauses left out, from espeak_TextToPhonemes.

        Stress marks (``'`` primary, ``,`` secondary) sit on the vowel they stress; other vowels get 0
        and consonants -1.  No audio is made, so this is fast enough to transcribe whole sentence lists.
        """
        if self.lib.espeak_SetVoiceByName(self._file_name(voice_name).encode()) != 0:
            raise DtsdkError(f"espeak-ng: no voice '{voice_name}'; see dtsdk.corpus.tts.list_voices('espeak-ng')")
        buf = ctypes.create_string_buffer(text.encode("utf-8"))
        cursor = ctypes.c_char_p(ctypes.addressof(buf))
        tokens: list[tuple[str, int]] = []
        while cursor.value:  # one clause per call; the library advances the cursor (NULL at the end)
            clause = self.lib.espeak_TextToPhonemes(ctypes.byref(cursor), CHARS_UTF8, _PHONEME_SEPARATOR << 8)
            for name in (clause or b"").decode("utf-8", "replace").replace(" ", "|").split("|"):
                stress = 1 if "'" in name else 2 if "," in name else None
                name = name.replace("'", "").replace(",", "")
                if not name or name.startswith("_"):
                    continue
                vowel = espeak_to_arpabet(name) in VOWELS
                tokens.append((name, (stress or 0) if vowel else -1))
        return tokens

    def _set_voice(self, voice: Voice) -> None:
        if self.lib.espeak_SetVoiceByName(self._file_name(voice.name).encode()) != 0:
            raise DtsdkError(f"espeak-ng: no voice '{voice.name}'; see dtsdk.corpus.tts.list_voices('espeak-ng')")
        wpm = round(RATE_NORMAL_WPM * voice.rate)
        if not RATE_MIN_WPM <= wpm <= RATE_MAX_WPM:
            raise DtsdkError(f"voice {voice.label}: espeak-ng speaks {RATE_MIN_WPM}..{RATE_MAX_WPM} words/min; "
                             f"rate {voice.rate:g} asks for {wpm}")
        self.lib.espeak_SetParameter(PARAM_RATE, wpm, 0)
        self.lib.espeak_SetParameter(PARAM_PITCH, pitch_parameter(voice.pitch, voice.label), 0)
        self.lib.espeak_SetParameter(PARAM_RANGE, min(100, round(50 * voice.pitch_range)), 0)
        self.lib.espeak_SetParameter(PARAM_WORDGAP, round(voice.word_gap_ms / 10), 0)

    def variants(self) -> list[str]:
        spec = _VoiceInfo(languages=b"variant")
        listing = self.lib.espeak_ListVoices(ctypes.byref(spec))
        found, i = [], 0
        while listing[i]:
            ident = (listing[i].contents.identifier or b"").decode()  # "!v/f3"
            found.append(ident.rsplit("/", 1)[-1])
            i += 1
        return sorted(set(found))

    def voices(self, language_prefix: str = "") -> dict[str, str]:
        """``{language name: voice file name}`` of the non-mbrola voices, e.g. ``{"en-gb": "en", ...}``."""
        found: dict[str, str] = {}
        listing = self.lib.espeak_ListVoices(None)
        i = 0
        while listing[i]:
            langs = ctypes.string_at(listing[i].contents.languages, 64)
            first = langs[1:langs.index(b"\0", 1)].decode("ascii", "replace")  # skip the priority byte
            ident = (listing[i].contents.identifier or b"").decode()
            if first.startswith(language_prefix) and not ident.startswith("mb/"):  # mbrola voices need mbrola
                found.setdefault(first, ident.rsplit("/", 1)[-1])
            i += 1
        return found

    def _file_name(self, name: str) -> str:
        """espeak_SetVoiceByName matches voice *files* ("en" is en-gb's): map a language name onto its file."""
        base, plus, variant = name.partition("+")
        if self._files is None:
            self._files = self.voices()
        return self._files.get(base.lower(), base) + plus + variant


def _engine() -> _Espeak:
    path = library_path()
    if path not in _ENGINES:
        _ENGINES[path] = _Espeak(path)
    return _ENGINES[path]


def pitch_parameter(factor: float, label: str = "") -> int:
    """espeak-ng's 0..100 pitch parameter that scales mean F0 by ``factor`` (see the measured table)."""
    params, factors = zip(*PITCH_PARAM_TO_F0_FACTOR)
    if not factors[0] - 1e-9 <= factor <= factors[-1] + 1e-9:
        raise DtsdkError(f"voice {label}: espeak-ng can scale pitch by {factors[0]}..{factors[-1]}, not {factor:g}")
    return int(round(np.interp(factor, factors, params)))


def synthesize_espeak(text: str, voice: Voice) -> Utterance:
    """Speak ``text`` with an espeak-ng voice; 16 kHz audio and ARPAbet phone segments."""
    with _LOCK:
        engine = _engine()
        audio, events, transcript = _speak_from_pristine_state(engine, text, voice)
        sr = engine.sample_rate
    if audio.size == 0:
        raise DtsdkError(f"espeak-ng: voice {voice.label} produced no audio for {text[:60]!r}")
    words: list[str] = []
    onsets: list[tuple[float, str, int, int]] = []
    for kind, position_ms, text_position, length, name in events:
        if kind == EVENT_WORD and length > 0:  # espeak also sends an empty WORD at the very end
            words.append(text[text_position - 1 : text_position - 1 + length].strip())
        elif kind == EVENT_PHONEME:
            phone = espeak_to_arpabet(name)
            onsets.append((position_ms / 1000.0, phone, -1, len(words) - 1 if phone != SILENCE else -1))
    onsets = _add_stress(onsets, events, transcript)
    onsets = _claim_closures(onsets, audio, sr)
    duration_s = audio.size / sr
    phones = close_segments(onsets, duration_s)
    audio_16k = resample(audio.astype(np.float32) / 32768.0, sr, SAMPLE_RATE) if sr != SAMPLE_RATE else \
        audio.astype(np.float32) / 32768.0
    return Utterance(text=text, voice=voice, audio=audio_16k, phones=phones, words=words)


def _speak_from_pristine_state(engine: _Espeak, text: str, voice: Voice):
    """``engine.speak`` + ``engine.transcribe`` in a forked child, so every call starts from the same state.

    libespeak-ng carries hidden state from one message to the next (the pitch-flutter phase in
    wavegen, ``rand()`` for noise), so the same text would come out a few ms different each time,
    and a corpus would depend on the order clips were made in.  The library cannot be reset
    (``espeak_Terminate`` + ``espeak_Initialize`` hangs in 1.51), so this process only ever
    initializes it and each message is spoken by a fork of that pristine state (a few ms).
    """
    if not hasattr(os, "fork"):  # not POSIX: speak in-process, repeatable only within a fresh process
        return (*engine.speak(text, voice), engine.transcribe(text, voice.name))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: speak, send, and leave without running any parent cleanup
        status = 0
        try:
            os.close(read_end)
            _LIBC.srand(1)
            try:
                result = ("ok", *engine.speak(text, voice), engine.transcribe(text, voice.name))
            except DtsdkError as exc:
                result = ("error", str(exc))
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(result, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:  # noqa: BLE001 -- nothing may escape a forked child
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not payload:
        raise DtsdkError(f"espeak-ng: the synthesis process for {text[:60]!r} failed (wait status {status})")
    result = pickle.loads(payload)
    if result[0] == "error":
        raise DtsdkError(result[1])
    return result[1:]


def _add_stress(onsets: list, events: list, transcript: list[tuple[str, int]]) -> list:
    """Copy stress from the transcript onto the spoken phones when both list the same phonemes."""
    spoken = [name for kind, _, _, _, name in events if kind == EVENT_PHONEME and not name.startswith("_")]
    if [name for name, _ in transcript] != spoken:
        return onsets  # espeak spoke something else than it transcribed (rare): stress stays unknown
    stresses = iter(stress for _, stress in transcript)
    return [(t, phone, next(stresses), word) if phone != SILENCE else (t, phone, stress, word)
            for t, phone, stress, word in onsets]


def _claim_closures(onsets: list, audio: np.ndarray, sr: int) -> list:
    """Move each stop's onset back over the digital silence right before it (its closure)."""
    silent = np.abs(audio.astype(np.int32)) <= _SILENT_LEVEL
    out = list(onsets)
    for i in range(1, len(out)):
        start_s, phone, stress, word = out[i]
        prev_start_s, prev_phone = out[i - 1][0], out[i - 1][1]
        if phone not in _STOPS or prev_phone == SILENCE:
            continue  # a stop after a pause: the pause stays a pause
        end = min(int(round(start_s * sr)), audio.size)
        floor = max(int(round((prev_start_s + 0.02) * sr)), end - int(_MAX_CLOSURE_S * sr), 0)
        begin = end
        while begin > floor and silent[begin - 1]:
            begin -= 1
        if end - begin >= _MIN_CLOSURE_S * sr:
            out[i] = (begin / sr, phone, stress, word)
    return out


def text_to_phones(text: str, voice_name: str = "en-us") -> list[str]:
    """ARPAbet phones of ``text`` as espeak-ng would speak it with ``voice_name``, without making audio."""
    with _LOCK:
        tokens = _engine().transcribe(text, voice_name)
    return [espeak_to_arpabet(name) for name, _ in tokens]


def list_espeak_voices(language_prefix: str = "en") -> list[str]:
    """espeak-ng voice names for a language (``"en"`` -> en-029, en-gb, en-gb-x-rp, en-us, ...)."""
    with _LOCK:
        return sorted(_engine().voices(language_prefix))


def list_espeak_variants() -> list[str]:
    """Variant names to append with ``+`` (``"en-us+f3"``): what espeak-ng lists for the language "variant"."""
    with _LOCK:
        return _engine().variants()
