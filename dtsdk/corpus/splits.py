"""Deterministic splits of sentences and speakers, so nothing leaks from test into training.

Sentences are split once: a test pool that no training clip ever speaks, and a training pool.
Training speakers speak training sentences (split ``train``) and unseen test sentences (``test``).
Held-out speakers are never in training: they speak an enrollment pool (``enroll``, drawn from the
training sentences, since what matters is that the *speaker* is new) and separate test sentences
(``heldout_test``).

Two evaluation splits of training speakers and test sentences are made after those
(:mod:`dtsdk.corpus.extras`): ``swapped_test`` (one speaker's voice articulated in another's style,
labelled with the style's speaker) and ``pause_test`` (long pauses and silence-only stretches). The
train split may hold swapped and pause clips too (recipe shares).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLITS = ("train", "test", "enroll", "heldout_test", "swapped_test", "pause_test")


@dataclass(frozen=True)
class SentencePools:
    train: tuple[int, ...]  # sentence ids
    test: tuple[int, ...]


@dataclass
class SpeakerPlan:
    """What one speaker says: sentence ids per split, in speaking order, and a duration budget."""

    speaker: str
    role: str  # "train" or "heldout"
    seed: int
    sentence_order: dict[str, list[int]]
    minutes: dict[str, float]  # split -> minimum minutes (budgeted splits)
    counts: dict[str, int]  # split -> exact clip count (counted splits)


def split_sentences(num_sentences: int, test_fraction: float, seed: int) -> SentencePools:
    rng = np.random.default_rng([seed, 1])
    order = rng.permutation(num_sentences)
    n_test = max(1, int(round(num_sentences * test_fraction)))
    return SentencePools(train=tuple(sorted(order[n_test:].tolist())), test=tuple(sorted(order[:n_test].tolist())))


def speaker_ids(train_speakers: int, heldout_speakers: int) -> tuple[list[str], list[str]]:
    return ([f"t{i + 1:02d}" for i in range(train_speakers)], [f"h{i + 1:02d}" for i in range(heldout_speakers)])


def plan_speakers(pools: SentencePools, train_ids, heldout_ids, *, seed: int, train_minutes: float,
                  test_sentences: int, enroll_minutes: float, heldout_test_sentences: int) -> list[SpeakerPlan]:
    """Each speaker gets its own shuffled order of the pools; the builder speaks them in order until
    the minutes budget is met (budgeted splits) or the count is reached (counted splits)."""
    plans = []
    for index, speaker in enumerate([*train_ids, *heldout_ids]):
        rng = np.random.default_rng([seed, 2, index])
        train_order = rng.permutation(pools.train).tolist()
        test_order = rng.permutation(pools.test).tolist()
        if index < len(train_ids):
            plans.append(SpeakerPlan(speaker, "train", int(rng.integers(2**31)),
                                     {"train": train_order, "test": test_order},
                                     {"train": train_minutes}, {"test": min(test_sentences, len(test_order))}))
        else:
            plans.append(SpeakerPlan(speaker, "heldout", int(rng.integers(2**31)),
                                     {"enroll": train_order, "heldout_test": test_order},
                                     {"enroll": enroll_minutes},
                                     {"heldout_test": min(heldout_test_sentences, len(test_order))}))
    return plans
