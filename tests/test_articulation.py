"""Articulation (visemes, coarticulation, closure, loudness) and non-verbal motion of the synthetic corpus."""
from __future__ import annotations

import math

import numpy as np
import pytest

from dtsdk.corpus.articulation import articulate, expand_segments, motion_for_utterance
from dtsdk.corpus.nonverbal import nonverbal_motion
from dtsdk.corpus.phones import PHONES, PhoneSegment
from dtsdk.corpus.style import SpeakerStyle, sample_style
from dtsdk.corpus.visemes import DIPHTHONGS, VISEMES
from dtsdk.rigs.arkit import ARKIT52, arkit_index

SR, FPS = 16000, 30.0
JAW, CLOSE = arkit_index("jawOpen"), arkit_index("mouthClose")
ROUND = [arkit_index("mouthPucker"), arkit_index("mouthFunnel")]
BLINK = [arkit_index("eyeBlinkLeft"), arkit_index("eyeBlinkRight")]
LIP_OPENING = [arkit_index(n) for n in ("mouthFunnel", "mouthLowerDownLeft", "mouthLowerDownRight",
                                        "mouthUpperUpLeft", "mouthUpperUpRight")]


def phones_from(spec: list[tuple[str, float]] | str, stress: dict[int, int] | None = None) -> list[PhoneSegment]:
    """Contiguous segments from ``[(phone, duration_s), ...]`` or "phone:ms phone:ms ..."; vowels get
    primary stress unless ``stress`` says otherwise (index -> stress)."""
    if isinstance(spec, str):
        spec = [(p.split(":")[0], float(p.split(":")[1]) / 1000) for p in spec.split()]
    out, t = [], 0.0
    for i, (phone, dur) in enumerate(spec):
        seg = PhoneSegment(phone, t, t + dur)
        s = (stress or {}).get(i, 1 if seg.is_vowel else -1)
        out.append(PhoneSegment(phone, t, t + dur, s))
        t += dur
    return out


def speech_like(phones: list[PhoneSegment], level: float = 0.1, seed: int = 0) -> np.ndarray:
    """Audio with speech-like energy: a 120 Hz buzz on vowels, weaker noise on consonants, silence on sil."""
    rng = np.random.default_rng(seed)
    n = int(round(phones[-1].end_s * SR))
    t = np.arange(n) / SR
    audio = np.zeros(n)
    buzz = np.sign(np.sin(2 * np.pi * 120 * t)) * 0.5 + np.sin(2 * np.pi * 240 * t) * 0.3
    for p in phones:
        a, b = int(round(p.start_s * SR)), int(round(p.end_s * SR))
        if p.phone == "sil":
            continue
        audio[a:b] = level * buzz[a:b] if p.is_vowel else 0.2 * level * rng.standard_normal(b - a)
    return audio.astype(np.float32)


def at(phones, weights, i: int) -> np.ndarray:
    """Weights at the frame nearest the centre of phone ``i``."""
    c = 0.5 * (phones[i].start_s + phones[i].end_s)
    return weights[min(int(round(c * FPS)), len(weights) - 1)]


SENTENCE = phones_from("sil:200 b:80 aa:150 b:70 p:90 uh:90 t:60 dh:40 ax:50 b:60 l:70 uw:120 s:90 p:30 "
                       "uw:130 n:60 ao:100 ax:40 m:100 ae:160 p:110 sil:300")


def test_every_phone_has_a_viseme():
    assert PHONES <= set(VISEMES) | set(DIPHTHONGS)
    segs = expand_segments(phones_from([("ay", 0.2)]))
    assert [s.key for s in segs] == ["aa", "iy"] and segs[0].end_s == pytest.approx(0.1)


@pytest.mark.parametrize("fps", [25.0, 30.0, 60.0])
def test_shape_range_and_dtype(fps):
    audio = speech_like(SENTENCE)[:-37]  # a duration that is not a whole number of frames
    w = articulate(SENTENCE, audio, SR, fps, SpeakerStyle())
    assert w.shape == (math.ceil(len(audio) / SR * fps), 52) and w.dtype == np.float32
    assert w.min() >= 0.0 and w.max() <= 1.0
    anim = motion_for_utterance(SENTENCE, audio, SR, fps, sample_style(np.random.default_rng(0)),
                                np.random.default_rng(1))
    assert anim.names == ARKIT52 and anim.rig == "arkit52" and anim.num_frames == w.shape[0]
    assert anim.head_pose.shape == (w.shape[0], 3)
    assert anim.weights.min() >= 0.0 and anim.weights.max() <= 1.0
    assert anim.meta["phones"][1] == ["b", pytest.approx(0.2), pytest.approx(0.28), -1]


def _closure_frames(phone: PhoneSegment) -> list[int]:
    inside = [i for i in range(int(phone.start_s * FPS), int(phone.end_s * FPS) + 2)
              if phone.start_s <= i / FPS <= phone.end_s]
    return inside or [int(round(0.5 * (phone.start_s + phone.end_s) * FPS))]


@pytest.mark.parametrize("seed", range(6))
def test_lips_close_on_every_bilabial(seed):
    style = sample_style(np.random.default_rng(seed))
    audio = speech_like(SENTENCE)
    w = motion_for_utterance(SENTENCE, audio, SR, FPS, style, np.random.default_rng(seed)).weights
    bilabials = [p for p in SENTENCE if p.phone in ("p", "b", "m")]
    assert len(bilabials) == 7  # including the 30 ms "p" that no 30 fps frame falls inside
    for p in bilabials:
        for i in _closure_frames(p):
            assert w[i, CLOSE] >= 0.04, (p, i)
            # ARKit: the lips meet over an open jaw when mouthClose == jawOpen
            assert abs(w[i, JAW] - w[i, CLOSE]) <= 0.01, (p, i)
            assert w[i, JAW] <= 0.15, (p, i)
            assert w[i, LIP_OPENING].max() <= 1e-6, (p, i)
    # ...and the lips are apart on open vowels
    for i, p in enumerate(SENTENCE):
        if p.phone in ("aa", "ae"):
            v = at(SENTENCE, w, i)
            assert v[JAW] - v[CLOSE] > 0.12


def test_rounding_on_uw_ow_exceeds_iy():
    phones = phones_from("sil:200 t:80 uw:200 t:80 sil:300 t:80 iy:200 t:80 sil:300 t:80 ow:220 t:80 sil:300")
    w = articulate(phones, speech_like(phones), SR, FPS, SpeakerStyle())
    rounding = lambda i: at(phones, w, i)[ROUND].sum()  # noqa: E731
    assert rounding(2) > 0.5 and rounding(10) > 0.5
    assert rounding(2) > 3 * rounding(6) and rounding(10) > 3 * rounding(6)
    stretch = [arkit_index("mouthStretchLeft"), arkit_index("mouthStretchRight")]
    assert at(phones, w, 6)[stretch].sum() > at(phones, w, 2)[stretch].sum() + 0.2


def test_louder_audio_opens_the_jaw_wider():
    phones = phones_from("sil:200 b:80 aa:200 d:80 aa:200 d:80 sil:200")
    audio = speech_like(phones, level=0.08)
    soft = articulate(phones, audio, SR, FPS, SpeakerStyle())
    loud = articulate(phones, audio * 2.5, SR, FPS, SpeakerStyle())
    for i in (2, 4):
        assert at(phones, loud, i)[JAW] > at(phones, soft, i)[JAW] + 0.05
    # Within one clip: the louder syllable of two identical ones opens more.
    a, b = int(phones[4].start_s * SR), int(phones[4].end_s * SR)
    audio2 = audio.copy()
    audio2[a:b] *= 3.0
    w = articulate(phones, audio2, SR, FPS, SpeakerStyle())
    assert at(phones, w, 4)[JAW] > at(phones, w, 2)[JAW] + 0.05
    # a speaker who follows loudness more shows a larger difference
    strong = articulate(phones, audio2, SR, FPS, SpeakerStyle(loudness_jaw=0.5))
    weak = articulate(phones, audio2, SR, FPS, SpeakerStyle(loudness_jaw=0.1))
    diff = lambda x: at(phones, x, 4)[JAW] - at(phones, x, 2)[JAW]  # noqa: E731
    assert diff(strong) > diff(weak) + 0.03


def test_rounding_is_anticipated_across_consonants():
    # "s t uw": the lips round during the s/t, before the vowel starts (anticipatory coarticulation)
    phones = phones_from("sil:300 iy:150 s:120 t:60 uw:200 sil:300")
    w = articulate(phones, speech_like(phones), SR, FPS, SpeakerStyle())
    start = phones[4].start_s
    before = w[int(math.floor((start - 0.04) * FPS)), ROUND].sum()
    earlier = w[int(round((start - 0.2) * FPS)), ROUND].sum()
    assert before > earlier + 0.15
    control = phones_from("sil:300 iy:150 s:120 t:60 iy:200 sil:300")
    wc = articulate(control, speech_like(control), SR, FPS, SpeakerStyle())
    assert before > wc[int(math.floor((start - 0.04) * FPS)), ROUND].sum() + 0.15
    # a longer anticipation time constant shows the rounding earlier
    eager = articulate(phones, speech_like(phones), SR, FPS, SpeakerStyle(anticipation_s=0.11))
    late = articulate(phones, speech_like(phones), SR, FPS, SpeakerStyle(anticipation_s=0.035))
    i = int(round((start - 0.12) * FPS))
    assert eager[i, ROUND].sum() > late[i, ROUND].sum() + 0.1


def test_silence_relaxes_to_rest_and_stress_is_larger():
    phones = phones_from("sil:300 d:60 aa:150 d:60 aa:150 sil:600", stress={2: 1, 4: 0})
    w = articulate(phones, speech_like(phones), SR, FPS, SpeakerStyle(resting_smile=0.0, asymmetry=0.0))
    assert np.abs(w[-5:]).max() < 0.01 and np.abs(w[:2]).max() < 0.05
    assert at(phones, w, 2)[JAW] > at(phones, w, 4)[JAW] * 1.15


def test_deterministic_under_a_seed_and_diverse_across_seeds():
    audio = speech_like(SENTENCE)
    style = SpeakerStyle(blink_rate_per_min=25, brow_raise_prob=0.5, nod_prob=0.4)
    a = motion_for_utterance(SENTENCE, audio, SR, FPS, style, np.random.default_rng(3))
    b = motion_for_utterance(SENTENCE, audio, SR, FPS, style, np.random.default_rng(3))
    assert np.array_equal(a.weights, b.weights) and np.array_equal(a.head_pose, b.head_pose)
    others = [motion_for_utterance(SENTENCE, audio, SR, FPS, style, np.random.default_rng(s)) for s in range(4, 10)]
    for o in others:
        assert np.abs(o.head_pose - a.head_pose).max() > 0.005
    brows = arkit_index("browInnerUp")
    patterns = {tuple(np.round(o.weights[:, brows], 2)) for o in others + [a]}
    blinks = {tuple(np.round(o.weights[:, BLINK[0]], 2)) for o in others + [a]}
    assert len(patterns) >= 4 and len(blinks) >= 4


def test_mouth_does_not_depend_on_the_seed_without_jitter():
    audio = speech_like(SENTENCE)
    style = SpeakerStyle(target_jitter=0.0)
    a = articulate(SENTENCE, audio, SR, FPS, style, np.random.default_rng(1))
    b = articulate(SENTENCE, audio, SR, FPS, style, np.random.default_rng(2))
    assert np.allclose(a, b)
    c = articulate(SENTENCE, audio, SR, FPS, SpeakerStyle(target_jitter=0.15), np.random.default_rng(2))
    assert np.abs(c - a).max() > 0.02


def _count_blinks(lid: np.ndarray) -> int:
    closed = lid > 0.5
    return int(np.sum(closed[1:] & ~closed[:-1]) + closed[0])


@pytest.mark.parametrize("rate", [8.0, 15.0, 30.0])
def test_blink_rate_matches_the_style(rate):
    minutes = 20.0
    phones = [PhoneSegment("sil", 0.0, minutes * 60.0)]
    audio = np.zeros(int(minutes * 60 * SR), np.float32)
    extra, pose = nonverbal_motion(phones, audio, SR, FPS, SpeakerStyle(blink_rate_per_min=rate),
                                   np.random.default_rng(int(rate)))
    count = _count_blinks(extra[:, BLINK[0]])
    assert abs(count / minutes - rate) <= 0.15 * rate
    assert extra[:, BLINK].max() > 0.9  # every blink is seen closed
    assert _count_blinks(extra[:, BLINK[1]]) == count  # both eyes blink together
    assert np.corrcoef(extra[:, BLINK[0]], extra[:, BLINK[1]])[0, 1] > 0.99
    # refractory: never two onsets within 0.3 s
    onsets = np.flatnonzero((extra[1:, BLINK[0]] > 0.5) & ~(extra[:-1, BLINK[0]] > 0.5))
    assert np.diff(onsets).min() >= 0.3 * FPS - 1


def test_blink_closes_faster_than_it_opens():
    phones = [PhoneSegment("sil", 0.0, 120.0)]
    audio = np.zeros(120 * SR, np.float32)
    extra, _ = nonverbal_motion(phones, audio, SR, 240.0, SpeakerStyle(blink_rate_per_min=20), np.random.default_rng(0))
    lid = extra[:, BLINK[0]].astype(float)
    up = np.sum((np.diff(lid) > 1e-4))
    down = np.sum((np.diff(lid) < -1e-4))
    assert down > 1.2 * up  # frames spent opening vs closing


def test_head_motion_scales_with_the_style_and_nods_on_stress():
    phones = phones_from([("sil", 0.3)] + [("d", 0.1), ("aa", 0.2), ("n", 0.1)] * 20 + [("sil", 0.3)])
    audio = speech_like(phones)
    calm = [nonverbal_motion(phones, audio, SR, FPS, SpeakerStyle(head_motion_rad=0.01), np.random.default_rng(s))[1]
            for s in range(5)]
    lively = [nonverbal_motion(phones, audio, SR, FPS, SpeakerStyle(head_motion_rad=0.06), np.random.default_rng(s))[1]
              for s in range(5)]
    assert np.mean([p.std(0).mean() for p in lively]) > 3 * np.mean([p.std(0).mean() for p in calm])
    assert all(np.abs(p).max() < 0.5 for p in lively)  # radians: small head motion, not a spin


def test_brow_raises_follow_probability_and_size():
    phones = phones_from([("sil", 0.3)] + [("d", 0.1), ("aa", 0.2), ("n", 0.3)] * 30 + [("sil", 0.3)])
    audio = speech_like(phones)
    brows = arkit_index("browInnerUp")

    def raised_fraction(prob, size=0.4):
        extra, _ = nonverbal_motion(phones, audio, SR, FPS, SpeakerStyle(brow_raise_prob=prob, brow_raise_size=size),
                                    np.random.default_rng(0))
        vowels = [i for i, p in enumerate(phones) if p.phone == "aa"]
        return np.mean([at(phones, extra, i)[brows] > 0.5 * 0.7 * size for i in vowels]), extra[:, brows].max()

    rare, _ = raised_fraction(0.1)
    often, peak = raised_fraction(0.7)
    assert often > rare + 0.3
    assert 0.25 <= peak <= 0.4 * 1.3 + 1e-6


def test_styles_change_the_motion_of_the_same_phones():
    audio = speech_like(SENTENCE)
    a = articulate(SENTENCE, audio, SR, FPS, sample_style(np.random.default_rng(1)))
    b = articulate(SENTENCE, audio, SR, FPS, sample_style(np.random.default_rng(2)))
    assert np.abs(a - b).mean() > 0.005 and np.abs(a - b).max() > 0.1
    big = articulate(SENTENCE, audio, SR, FPS, SpeakerStyle(jaw_gain=1.4))
    small = articulate(SENTENCE, audio, SR, FPS, SpeakerStyle(jaw_gain=0.7))
    assert big[:, JAW].max() > small[:, JAW].max() * 1.6


def test_real_tts_clip_closes_on_bilabials():
    from dtsdk.corpus.tts import Voice, engine_available, synthesize

    if not engine_available("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    utt = synthesize("Bob put the blue spoon on a big map.", Voice("espeak-ng", "en-us"))
    anim = motion_for_utterance(utt.phones, utt.audio, utt.sample_rate, 30, sample_style(np.random.default_rng(5)),
                                np.random.default_rng(5))
    assert anim.num_frames == math.ceil(len(utt.audio) / utt.sample_rate * 30)
    for p in utt.phones:
        if p.phone in ("p", "b", "m"):
            for i in _closure_frames(p):
                assert anim.weights[i, CLOSE] >= 0.04 and abs(anim.weights[i, JAW] - anim.weights[i, CLOSE]) <= 0.01


# ---- silence and long pauses (dtsdk/corpus/extras.py) ------------------------------------------------
REST_CHECKED = ["jawOpen", "mouthClose", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "browDownLeft",
                "browDownRight"]


def _paused(pauses_s, seed=0):
    """The test sentence twice, with the given pauses before, between and after (no TTS needed)."""
    from types import SimpleNamespace

    from dtsdk.corpus.extras import join_with_pauses

    utt = SimpleNamespace(phones=SENTENCE, audio=speech_like(SENTENCE, seed=seed))
    return join_with_pauses([utt, utt], pauses_s, SR)


def _quiet_frames(silences, num_frames, duration_s):
    from dtsdk.corpus.extras import silent_frames

    return silent_frames(silences, num_frames, FPS, duration_s)


def test_pauses_join_into_contiguous_phones_and_exact_silence():
    from dtsdk.corpus.phones import validate_segments

    audio, phones, silences = _paused([2.0, 4.0, 6.0])
    speech_s = SENTENCE[-1].end_s
    validate_segments(phones, len(audio) / SR, tol_s=1e-3)
    assert len(audio) / SR == pytest.approx(2 * speech_s + 12.0, abs=1e-3)
    assert np.array(silences) == pytest.approx(np.array([[0, 2], [2 + speech_s, 6 + speech_s],
                                                          [6 + 2 * speech_s, 12 + 2 * speech_s]]), abs=1e-3)
    for start, end in silences:
        assert not audio[int(round(start * SR)):int(round(end * SR))].any()  # digital silence
    # The inserted pause merges with the sentence's own sil around it: one sil, no zero-length pieces.
    assert not any(a.phone == b.phone == "sil" for a, b in zip(phones, phones[1:]))
    assert phones[0].phone == "sil" and phones[0].end_s == pytest.approx(2.0 + SENTENCE[0].duration_s, abs=1e-3)


@pytest.mark.parametrize("seed", range(8))
def test_silence_is_the_resting_face(seed):
    """In a long pause the jaw and brows are within 0.05 of the speaker's rest pose, the mouth is shut,
    and the face is not frozen: blinks, gaze and head sway go on."""
    from dtsdk.corpus.style import rest_pose

    audio, phones, silences = _paused([3.0, 5.0, 6.0], seed=seed)
    style = sample_style(np.random.default_rng(seed))
    anim = motion_for_utterance(phones, audio, SR, FPS, style, np.random.default_rng(100 + seed),
                                stationary_blinks=True)
    quiet = _quiet_frames(silences, anim.num_frames, len(audio) / SR)
    assert quiet.sum() > 8 * FPS
    rest = rest_pose(style)
    idx = [arkit_index(n) for n in REST_CHECKED]
    off = np.abs(anim.weights[quiet][:, idx] - rest[idx]).max(axis=0)
    assert off.max() <= 0.05, dict(zip(REST_CHECKED, off.round(3)))
    assert anim.weights[quiet][:, LIP_OPENING + ROUND].max() <= 0.05  # lips closed, not rounded
    assert anim.weights[quiet][:, JAW].max() <= 0.05
    # Speech still moves the mouth, so the pauses are a contrast, not a frozen clip.
    assert anim.weights[~quiet][:, JAW].max() > 0.2
    assert anim.head_pose[quiet].std(axis=0).max() > 0.2 * style.head_motion_rad
    gaze = [arkit_index(n) for n in ARKIT52 if n.startswith("eyeLook")]
    assert anim.weights[quiet][:, gaze].max() > 0.0


@pytest.mark.parametrize("rate", [8.0, 15.0, 30.0])
def test_blinks_go_on_at_the_style_rate_in_silence(rate):
    """About 10 minutes of pauses: the blink rate inside them is the style's, within 20 %."""
    quiet_s, blinks = 0.0, 0
    style = SpeakerStyle(blink_rate_per_min=rate)
    for clip in range(50):
        audio, phones, silences = _paused([3.0, 5.0, 6.0], seed=clip)
        anim = motion_for_utterance(phones, audio, SR, FPS, style, np.random.default_rng([int(rate), clip]),
                                    stationary_blinks=True)
        quiet = _quiet_frames(silences, anim.num_frames, len(audio) / SR)
        closed = anim.weights[:, BLINK[0]] > 0.5
        onsets = np.flatnonzero(closed[1:] & ~closed[:-1]) + 1
        blinks += int(quiet[onsets].sum())
        quiet_s += quiet.sum() / FPS
    assert quiet_s > 9 * 60
    assert abs(blinks / (quiet_s / 60) - rate) <= 0.2 * rate, blinks / (quiet_s / 60)


def test_a_silence_only_stretch_is_rest_with_a_noise_floor_or_digital_zero():
    from dtsdk.corpus.extras import NOISE_FLOOR_DBFS, SILENCE_ONLY_S, pause_utterance
    from dtsdk.corpus.style import rest_pose

    floors = []
    for seed in range(12):
        audio, phones, silences, noise_dbfs = pause_utterance(None, None, np.random.default_rng(seed))
        duration = len(audio) / SR
        assert SILENCE_ONLY_S[0] - 0.01 <= duration <= SILENCE_ONLY_S[1] + 0.01
        assert [p.phone for p in phones] == ["sil"] and silences == [[0.0, pytest.approx(duration, abs=1e-3)]]
        if noise_dbfs is None:
            assert not audio.any()
        else:
            assert NOISE_FLOOR_DBFS[0] <= noise_dbfs <= NOISE_FLOOR_DBFS[1]
            assert 10 * np.log10(np.mean(audio.astype(float) ** 2)) == pytest.approx(noise_dbfs, abs=0.5)
        floors.append(noise_dbfs)
        style = sample_style(np.random.default_rng(seed))
        anim = motion_for_utterance(phones, audio, SR, FPS, style, np.random.default_rng(seed))
        idx = [arkit_index(n) for n in REST_CHECKED]
        assert np.abs(anim.weights[:, idx] - rest_pose(style)[idx]).max() <= 0.05
    assert None in floors and any(f is not None for f in floors)  # both kinds of silence occur


def test_a_stationary_blink_start_gives_the_rate_on_short_clips():
    """The natural clips' first blink comes half an interval early (3 s clips get 1.3-1.8x the rate;
    kept so they stay byte-identical); the extra clips' stationary start gives the rate itself."""
    from dtsdk.corpus.nonverbal import blink_times

    for rate in (8.0, 20.0):
        counts = {s: sum(len(blink_times(3.0, rate, np.random.default_rng(i), stationary=s)) for i in range(3000))
                  for s in (False, True)}
        expected = 3000 * 3.0 / 60 * rate
        assert counts[True] == pytest.approx(expected, rel=0.05)
        assert counts[False] > 1.2 * expected
