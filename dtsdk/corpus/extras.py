"""Clips added after the natural ones: style-swapped clips and clips with long pauses or only silence.

Everything here is synthetic, like the rest of the corpus (TTS voices, procedural motion).

* **Style-swapped** (``kind: swapped``): the voice of training speaker A on a sentence, articulated
  with the style of training speaker B and labelled with identity B. It is the ground truth for
  "this voice, that person's style". The pairs come from one seeded cycle of the training speakers
  (:func:`swap_cycle`): in ``swapped_test`` each speaker's voice is articulated in the style of the
  next speaker of the cycle, on the voice's own test sentences, so the audio of ``B_swapped_test_k``
  is the audio of A's natural clip ``A_test_k`` (recorded as ``natural_clip``). Swapped training
  clips (a recipe share, off by default) take their voices by ``swapped_train_pairing``. Held-out
  speakers never take part.
* **Pauses** (``kind: pause``): one sentence with long pauses (0.5-6 s) before it, after it and,
  split at a word boundary, inside it; or a silence-only stretch (1-6 s). The articulation model
  relaxes to the speaker's resting face in silence; blinks, gaze and head sway go on.

The rule that keeps old numbers valid: an extra clip has its own name and its own random stream
(``default_rng([recipe seed, stream, speaker index, clip index])``, streams 5-8 below; the natural
clips use the per-speaker seeds of :func:`dtsdk.corpus.splits.plan_speakers` and streams 1-4), so
adding, removing or resizing extra clips never changes a natural clip
(``tests/data/corpus/tiny_checksums.json``).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

# Random streams of the extra clips; 1-4 are the sentence split, speaker plans, voices and styles.
SWAPPED_TEST_STREAM, SWAPPED_TRAIN_STREAM, PAUSE_TRAIN_STREAM, PAUSE_TEST_STREAM = 5, 6, 7, 8

PAUSE_S = (0.5, 6.0)  # an inserted pause, log-uniform: short ones are commoner, as in speech
SILENCE_ONLY_S = (1.0, 6.0)
SILENCE_ONLY_SHARE = 0.25  # of pause clips: no speech at all (a voice agent waiting)
EDGE_PAUSE_PROB = 0.75  # a leading (and, separately, a trailing) pause
INNER_PAUSE_PROB = 0.6  # the sentence is split at a word boundary with a pause inside it
# The audio of a pause clip: a share has digital silence (TTS output padded with zeros), the rest a
# faint white-noise floor over the whole clip, since a microphone's silence is never zero. -70..-50
# dBFS RMS is 30-50 dB under the TTS speech (-18 dBFS), audible only as hiss.
DIGITAL_SILENCE_SHARE = 0.3
NOISE_FLOOR_DBFS = (-70.0, -50.0)
SPEECH_MARGIN_S = 0.5  # silent frames this close to speech are transitions, not rest (silent_frames)


# ---- who pairs with whom ------------------------------------------------------------------------------
def swap_cycle(train_ids: list[str], seed: int) -> list[str]:
    """The training speakers in a seeded cycle: in ``swapped_test`` the voice of ``cycle[i - 1]`` is
    articulated in the style of ``cycle[i]`` (a derangement: nobody is paired with themselves)."""
    order = np.random.default_rng([seed, SWAPPED_TEST_STREAM]).permutation(len(train_ids))
    return [train_ids[i] for i in order]


def swap_voices(train_ids: list[str], seed: int, pairing: str = "test") -> dict[str, list[str]]:
    """Style speaker -> the voice speakers its swapped clips take, in turn.

    ``test``: the ``swapped_test`` pair (one step back in the cycle); ``disjoint``: two steps back,
    never a ``swapped_test`` pair when there are 3 or more speakers; ``all``: every other speaker.
    """
    cycle = swap_cycle(train_ids, seed)
    n = len(cycle)
    steps = {"test": [1], "disjoint": [2], "all": list(range(1, n))}[pairing]
    return {cycle[i]: [cycle[(i - k) % n] for k in steps] for i in range(n)}


# ---- the plan: one job per training speaker (the style speaker), run by the corpus workers --------------
def plan_extra_jobs(recipe, plans, jobs, pools) -> list[dict]:
    """Jobs for :func:`speak_extra_clips`, from the recipe, the speaker plans and the natural jobs
    (their voices and styles). Each job holds groups of candidate clips, spoken in order until the
    group's count or minutes are reached."""
    by_speaker = {j["speaker"]: j for j in jobs}
    plan_of = {p.speaker: p for p in plans}
    train_ids = [p.speaker for p in plans if p.role == "train"]
    index_of = {p.speaker: i for i, p in enumerate(plans)}
    test_pairs = swap_voices(train_ids, recipe.seed, "test")
    train_pairs = swap_voices(train_ids, recipe.seed, recipe.swapped_train_pairing)
    extra = []
    for style_speaker in train_ids:
        me = by_speaker[style_speaker]
        index = index_of[style_speaker]

        def cand(voice_speaker, sentence_id, kind, natural_split=None):
            return {"kind": kind, "voice_speaker": voice_speaker, "voice": by_speaker[voice_speaker]["voice"],
                    "sentence_id": None if sentence_id is None else int(sentence_id), "natural_split": natural_split}

        groups = []
        if recipe.swapped_test_sentences > 0:
            (voice_speaker,) = test_pairs[style_speaker]
            voice_plan = plan_of[voice_speaker]
            count = min(recipe.swapped_test_sentences, voice_plan.counts["test"])
            # The voice speaker's own test sentences, in its order: clip k shares A_test_k's audio.
            groups.append({"split": "swapped_test", "stream": SWAPPED_TEST_STREAM, "count": count,
                           "candidates": [cand(voice_speaker, s, "swapped", "test")
                                          for s in voice_plan.sentence_order["test"][:count]]})
        if recipe.swapped_train_share > 0:
            voices = train_pairs[style_speaker]
            orders = [plan_of[v].sentence_order["train"] for v in voices]
            # Voices in turn, each on its own training sentences in its own order (the audio of its
            # natural training clips), so the same audio appears with two styles.
            candidates = [cand(v, order[k], "swapped", "train")
                          for k in range(max(len(o) for o in orders)) for v, order in zip(voices, orders)
                          if k < len(order)]
            groups.append({"split": "train", "stream": SWAPPED_TRAIN_STREAM,
                           "minutes": recipe.swapped_train_share * recipe.train_minutes, "candidates": candidates})
        if recipe.pause_train_share > 0:
            order = np.random.default_rng([recipe.seed, PAUSE_TRAIN_STREAM, index]).permutation(pools.train)
            groups.append({"split": "train", "stream": PAUSE_TRAIN_STREAM,
                           "minutes": recipe.pause_train_share * recipe.train_minutes,
                           "candidates": [cand(style_speaker, s, "pause") for s in order]})
        if recipe.pause_test_clips > 0:
            order = np.random.default_rng([recipe.seed, PAUSE_TEST_STREAM, index]).permutation(pools.test)
            groups.append({"split": "pause_test", "stream": PAUSE_TEST_STREAM, "count": recipe.pause_test_clips,
                           "candidates": [cand(style_speaker, s, "pause") for s in order]})
        for group in groups:
            if "minutes" in group:  # no clip is under half a second: more candidates would never be spoken
                group["candidates"] = group["candidates"][:int(group["minutes"] * 120) + 10]
        if groups:
            extra.append({"speaker": style_speaker, "index": index, "seed": recipe.seed, "fps": recipe.fps,
                          "style": me["style"], "dir": me["dir"], "groups": groups})
    return extra


# ---- pauses --------------------------------------------------------------------------------------------
def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def join_with_pauses(utterances: list, pauses_s: list[float], sample_rate: int = 16000):
    """Concatenate utterances with silences: ``pauses_s`` has one more entry than ``utterances``
    (before the first, between each two, after the last; 0 for none).

    Returns ``(audio (S,) float32, phones, silences)``: the phones of every utterance shifted into
    place with each inserted pause merged into the ``sil`` around it, and ``silences`` the inserted
    spans ``[start_s, end_s]`` (exact zeros in ``audio``).
    """
    from dtsdk.corpus.phones import SILENCE, PhoneSegment

    assert len(pauses_s) == len(utterances) + 1
    pieces, phones, silences, cursor, word_base = [], [], [], 0, 0

    def add_silence(seconds: float):
        nonlocal cursor
        n = int(round(seconds * sample_rate))
        if n <= 0:
            return
        start, end = cursor / sample_rate, (cursor + n) / sample_rate
        pieces.append(np.zeros(n, np.float32))
        silences.append([round(start, 4), round(end, 4)])
        if phones and phones[-1].phone == SILENCE:
            phones[-1] = PhoneSegment(SILENCE, phones[-1].start_s, end)
        else:
            phones.append(PhoneSegment(SILENCE, start, end))
        cursor += n

    for pause, utt in zip(pauses_s, utterances):
        add_silence(pause)
        offset = cursor / sample_rate
        for p in utt.phones:
            seg = PhoneSegment(p.phone, p.start_s + offset, p.end_s + offset, p.stress,
                               p.word + word_base if p.word >= 0 else -1)
            if seg.phone == SILENCE and phones and phones[-1].phone == SILENCE:
                phones[-1] = PhoneSegment(SILENCE, phones[-1].start_s, seg.end_s)
            else:
                phones.append(seg)
        word_base += max([p.word for p in utt.phones] + [-1]) + 1
        pieces.append(np.asarray(utt.audio, np.float32))
        cursor += len(utt.audio)
    add_silence(pauses_s[-1])
    # The last phone ends exactly where the audio does.
    if phones:
        last = phones[-1]
        phones[-1] = PhoneSegment(last.phone, last.start_s, cursor / sample_rate, last.stress, last.word)
    return np.concatenate(pieces) if pieces else np.zeros(0, np.float32), phones, silences


def pause_utterance(text: str | None, voice, rng: np.random.Generator, sample_rate: int = 16000):
    """One pause clip's audio: ``text`` spoken by ``voice`` with long pauses around and inside it
    (``text=None``: a silence-only stretch), plus the noise floor. All choices come from ``rng``.

    Returns ``(audio (S,) float32, phones, silences [[start_s, end_s], ...], noise_dbfs or None)``.
    """
    from dtsdk.corpus.phones import SILENCE, PhoneSegment
    from dtsdk.corpus.tts import synthesize

    if text is None:
        duration = _log_uniform(rng, *SILENCE_ONLY_S)
        n = int(round(duration * sample_rate))
        audio = np.zeros(n, np.float32)
        phones, silences = [PhoneSegment(SILENCE, 0.0, n / sample_rate)], [[0.0, round(n / sample_rate, 4)]]
    else:
        words = text.split()
        lead = _log_uniform(rng, *PAUSE_S) if rng.uniform() < EDGE_PAUSE_PROB else 0.0
        trail = _log_uniform(rng, *PAUSE_S) if rng.uniform() < EDGE_PAUSE_PROB else 0.0
        split = rng.uniform() < INNER_PAUSE_PROB and len(words) >= 4
        cut = int(rng.integers(2, len(words) - 1)) if split else len(words)
        parts = [" ".join(words[:cut])] + ([" ".join(words[cut:])] if split else [])
        inner = [_log_uniform(rng, *PAUSE_S)] if split else []
        utterances = [synthesize(part, voice) for part in parts]
        audio, phones, silences = join_with_pauses(utterances, [lead, *inner, trail], sample_rate)
    noise_dbfs = None
    if rng.uniform() >= DIGITAL_SILENCE_SHARE:
        noise_dbfs = round(float(rng.uniform(*NOISE_FLOOR_DBFS)), 1)
        audio = np.clip(audio + 10 ** (noise_dbfs / 20) * rng.standard_normal(len(audio)), -1.0, 1.0)
    return audio.astype(np.float32), phones, silences, noise_dbfs


def silent_frames(silences: list, num_frames: int, fps: float, duration_s: float,
                  margin_s: float = SPEECH_MARGIN_S) -> np.ndarray:
    """``(T,)`` bool: the frames of a pause clip's ``silences`` (its manifest field) at least
    ``margin_s`` from speech, where the target is the resting face. A span's clip-edge side needs no
    margin; next to speech the face is still leaving or approaching it (a brow raise falls for 350 ms)."""
    t = np.arange(num_frames) / fps
    quiet = np.zeros(num_frames, bool)
    for start, end in silences:
        lo = start + (margin_s if start > 1e-3 else 0.0)
        hi = end - (margin_s if end < duration_s - 1e-3 else 0.0)
        quiet |= (t >= lo) & (t <= hi)
    return quiet


# ---- the worker ----------------------------------------------------------------------------------------
def speak_extra_clips(job: dict) -> dict:
    """Worker: synthesize and articulate every extra clip of one style speaker into ``job['dir']``.

    Clip ``k`` of a group draws only from ``default_rng([seed, stream, speaker index, k])``: its
    pause layout and noise from one child stream, its motion (jitter, blinks, brows, head, gaze)
    from another.
    """
    import soundfile as sf
    import torch

    from dtsdk.corpus.articulation import motion_for_utterance
    from dtsdk.corpus.sentences import load_sentences
    from dtsdk.corpus.style import SpeakerStyle
    from dtsdk.corpus.tts import Voice, synthesize

    torch.set_num_threads(1)
    sentences = load_sentences()
    style = SpeakerStyle.from_dict(job["style"])
    speaker = job["speaker"]
    out = Path(job["dir"])
    out.mkdir(parents=True, exist_ok=True)
    clips = []
    for group in job["groups"]:
        split, made, spoken_s = group["split"], 0, 0.0
        for candidate in group["candidates"]:
            if "count" in group and made >= group["count"]:
                break
            if "minutes" in group and spoken_s >= group["minutes"] * 60.0:
                break
            root = np.random.SeedSequence([job["seed"], group["stream"], job["index"], made])
            layout_seq, motion_seq = root.spawn(2)
            layout_rng, motion_rng = np.random.default_rng(layout_seq), np.random.default_rng(motion_seq)
            voice = Voice(**candidate["voice"])
            sentence_id = candidate["sentence_id"]
            entry = {}
            if candidate["kind"] == "swapped":
                utt = synthesize(sentences[sentence_id], voice)
                audio, phones, text = utt.audio, utt.phones, utt.text
            else:
                silence_only = layout_rng.uniform() < SILENCE_ONLY_SHARE
                text = None if silence_only else sentences[sentence_id]
                audio, phones, silences, noise_dbfs = pause_utterance(text, voice, layout_rng)
                sentence_id = -1 if silence_only else sentence_id
                text = text or ""
                entry = {"silences": silences, "noise_dbfs": noise_dbfs}
            anim = motion_for_utterance(phones, audio, 16000, job["fps"], style, motion_rng, stationary_blinks=True)
            # t01_swapped_test_000, t01_pause_test_000; in train t01_swapped_train_000, t01_pause_train_000:
            # never a natural clip's name (t01_train_000).
            kind = candidate["kind"]
            clip = f"{speaker}_{split if split.startswith(kind) else kind + '_' + split}_{made:03d}"
            anim.meta.update({"speaker": speaker, "sentence_id": int(sentence_id), "text": text,
                              "voice_speaker": candidate["voice_speaker"], "style_speaker": speaker,
                              "kind": candidate["kind"], **entry})
            sf.write(out / f"{clip}.wav", audio, 16000, subtype="PCM_16")
            anim.save(out / f"{clip}.npz")
            duration = len(audio) / 16000
            spoken_s += duration
            made += 1
            clips.append({"clip": clip, "speaker": speaker, "split": split, "sentence_id": int(sentence_id),
                          "text": text, "duration_s": round(duration, 3), "frames": anim.num_frames,
                          "voice_speaker": candidate["voice_speaker"], "style_speaker": speaker,
                          "kind": candidate["kind"], "natural_split": candidate["natural_split"], **entry})
    return {"speaker": speaker, "clips": clips}
