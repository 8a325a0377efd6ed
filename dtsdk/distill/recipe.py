"""Distillation recipes: the ``distill:`` section of a YAML file, read into a dataclass and checked.

Same pattern as :mod:`dtsdk.train.recipe`; relative paths are taken from the current directory.
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from dtsdk.errors import DtsdkError
from dtsdk.utils.config import dataclass_from_dict


@dataclass
class DistillRecipe:
    name: str = "dtsdk-distill"
    teacher: str = ""  # checkpoint folder or Hub id of the teacher; "" = the packaged default model
    corpus: str = "data/corpus"  # a dtsdk corpus whose train split the rounds draw clips from
    output: str = "runs/distill"  # OUT/student-<K>/ per round, OUT/metrics.jsonl, OUT/rounds.json
    teacher_steps: int = 32  # the teacher's DDIM step count that the first round halves
    final_steps: int = 1  # the last round's student step count (teacher_steps / 2**rounds)
    steps_per_round: int = 2000  # optimizer steps in each round
    window_s: float = 2.0
    batch_size: int = 8  # per process
    lr: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 100  # per round: linear warmup, then cosine decay to 0
    grad_clip: float = 1.0
    identity_dropout: float = 0.1  # share of rows distilled with the null identity (generic use, guidance)
    # Written into every student's config.sampler_options: the distilled sampler's defaults (e.g. eta).
    student_sampler_options: dict = field(default_factory=dict)
    # After each round: score the student on every eval_every-th clip of eval_corpus's test and
    # swapped_test splits (identity, auto); 0 turns it off.
    # A compact student after the rounds (dtsdk/distill/compact.py): from_steps, model overrides, steps,
    # lr, warmup_steps, loss weights; empty: none.
    compact: dict = field(default_factory=dict)
    # Before the rounds, for a teacher on a frozen pretrained encoder (whisper-tiny): a small logmel-conv
    # encoder distilled in its place (dtsdk/distill/encoder.py: encoder_config, steps, lr, noise...);
    # OUT/teacher-small-encoder/ is then the rounds' teacher, and no student needs the large encoder.
    encoder: dict = field(default_factory=dict)
    eval_corpus: str = ""
    eval_every: int = 0
    seed: int = 0
    log_every: int = 50
    device: str = "auto"

    @property
    def rounds(self) -> list[int]:
        """The student step counts, one per round: teacher_steps / 2, / 4, ... down to final_steps."""
        counts, k = [], self.teacher_steps // 2
        while k >= self.final_steps:
            counts.append(k)
            k //= 2
        return counts

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "DistillRecipe":
        from dtsdk.recipes import read_recipe_section

        return cls.from_dict(read_recipe_section(path, "distill", "distillation"), os.fspath(path))

    @classmethod
    def from_dict(cls, raw: dict, where: str = "<recipe>") -> "DistillRecipe":
        recipe = dataclass_from_dict(cls, raw, where)
        recipe.validate(where)
        return recipe

    def validate(self, where: str = "<recipe>") -> None:
        halvings = self.teacher_steps // max(self.final_steps, 1)
        checks = [
            (self.final_steps >= 1, "final_steps must be >= 1"),
            (self.teacher_steps > self.final_steps and self.teacher_steps % self.final_steps == 0
             and halvings & (halvings - 1) == 0,
             f"teacher_steps ({self.teacher_steps}) must be final_steps ({self.final_steps}) times a power of 2 "
             "(each round halves the step count)"),
            (self.steps_per_round >= 1, "steps_per_round must be >= 1"),
            (0 <= self.warmup_steps < self.steps_per_round, "warmup_steps must be in [0, steps_per_round)"),
            (self.window_s > 0, "window_s must be positive"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be positive"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.grad_clip >= 0, "grad_clip must be >= 0 (0 disables clipping)"),
            (0.0 <= self.identity_dropout <= 1.0, "identity_dropout must lie in [0, 1]"),
            (isinstance(self.student_sampler_options, dict), "student_sampler_options must be a mapping"),
            (self.eval_every >= 0, "eval_every must be >= 0 (0 turns the per-round evaluation off)"),
            (not self.eval_every or bool(self.eval_corpus), "eval_every needs eval_corpus"),
            (self.log_every >= 1, "log_every must be >= 1"),
            (self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda"),
             "device must be auto, cpu, cuda or cuda:N"),
        ]
        for ok, message in checks:
            if not ok:
                raise DtsdkError(f"{where}: {message}")
        if self.encoder:
            from dtsdk.distill.encoder import EncoderDistillSettings

            EncoderDistillSettings.from_dict(self.encoder, where)
        if self.compact:
            from dtsdk.distill.compact import CompactSettings

            settings = CompactSettings.from_dict(self.compact, where)
            if settings.from_steps not in self.rounds:
                raise DtsdkError(f"{where}: compact.from_steps {settings.from_steps} is not one of the rounds' "
                                 f"step counts ({', '.join(map(str, self.rounds))})")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
