"""Corpus recipes: plain YAML read into a dataclass, every field checked with a message naming the file."""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field


from dtsdk.errors import DtsdkError
from dtsdk.utils.config import dataclass_from_dict


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
        ]
        for ok, message in checks:
            if not ok:
                raise DtsdkError(f"{where}: {message}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
