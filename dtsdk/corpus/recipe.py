"""Corpus recipes: plain YAML read into a dataclass, every field checked with a message naming the file."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from dtsdk.errors import DtsdkError
from dtsdk.utils.config import dataclass_from_dict

SWAP_PAIRINGS = ("disjoint", "test", "all")


@dataclass
class CorpusRecipe:
    name: str = "dtsdk-corpus"
    seed: int = 1234
    fps: float = 30.0
    sample_rate: int = 16000
    train_speakers: int = 24
    heldout_speakers: int = 6
    # Per training speaker: minutes of training sentences, plus a number of unseen test sentences.
    train_minutes: float = 4.0
    test_sentences: int = 12
    # Per held-out speaker: minutes of enrollment speech, plus separate test sentences.
    enroll_minutes: float = 3.5
    heldout_test_sentences: int = 12
    # Share of the sentence list kept for test clips only (never spoken in any training clip).
    test_sentence_fraction: float = 0.15
    engines: list[str] = field(default_factory=lambda: ["espeak-ng", "flite"])
    workers: int = 0  # 0: one per CPU core
    # Clips added after the ones above, each with its own name and random stream, so turning them on
    # or off never changes a clip the settings above make (dtsdk/corpus/extras.py, docs/articulation.md).
    # Style-swapped test clips per training speaker: its voice on its own test sentences, articulated
    # in its swap partner's style and labelled with the partner (split swapped_test; 0: none).
    swapped_test_sentences: int = 12
    # Minutes of style-swapped training clips per training speaker, as a share of train_minutes. Off
    # (0) until a measurement says it helps style transfer.
    swapped_train_share: float = 0.0
    # Which voices a speaker's swapped training clips take: "disjoint" (not the swapped_test pairs, so
    # that split stays a test of unseen voice/style pairs), "test" (the swapped_test pairs), "all".
    swapped_train_pairing: str = "disjoint"
    # Minutes of clips with long pauses and silence-only stretches per training speaker, as a share of
    # train_minutes (split train), and how many such clips of test sentences each has (pause_test).
    pause_train_share: float = 0.1
    pause_test_clips: int = 2

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "CorpusRecipe":
        from dtsdk.recipes import read_recipe_section

        return cls.from_dict(read_recipe_section(path, "corpus", "corpus"), os.fspath(path))

    @classmethod
    def from_dict(cls, raw: dict, where: str = "<recipe>") -> "CorpusRecipe":
        recipe = dataclass_from_dict(cls, raw, where)
        recipe.validate(where)
        return recipe

    def validate(self, where: str = "<recipe>") -> None:
        checks = [
            (self.fps > 0, "fps must be positive"),
            (self.sample_rate == 16000, "sample_rate must be 16000 (the model rate)"),
            (self.train_speakers >= 2, "train_speakers must be at least 2 (contrastive identities need negatives)"),
            (self.heldout_speakers >= 0, "heldout_speakers must be >= 0"),
            (self.train_minutes > 0 and self.enroll_minutes >= 0, "minutes must be positive"),
            (0 < self.test_sentence_fraction < 0.9, "test_sentence_fraction must be in (0, 0.9)"),
            (self.test_sentences >= 1, "test_sentences must be >= 1"),
            (bool(self.engines), "engines must name at least one TTS engine"),
            (self.workers >= 0, "workers must be >= 0"),
            (self.swapped_test_sentences >= 0, "swapped_test_sentences must be >= 0"),
            (0 <= self.swapped_train_share <= 1, "swapped_train_share must be in [0, 1]"),
            (self.swapped_train_pairing in SWAP_PAIRINGS,
             f"swapped_train_pairing must be one of {', '.join(SWAP_PAIRINGS)}"),
            (not (self.swapped_train_share > 0 and self.swapped_train_pairing == "disjoint"
                  and self.train_speakers < 3),
             "swapped_train_pairing 'disjoint' needs at least 3 training speakers (with 2 the only swap is the "
             "swapped_test pair); use 'test' or 'all'"),
            (0 <= self.pause_train_share <= 1, "pause_train_share must be in [0, 1]"),
            (self.pause_test_clips >= 0, "pause_test_clips must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise DtsdkError(f"{where}: {message}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
