"""Training recipes: plain YAML read into a dataclass, every field checked with a message naming the file.

Same pattern as :mod:`dtsdk.corpus.recipe`. Relative ``corpus`` and ``output`` paths are taken from
the current directory (recipes are run from the repository root). ``corpus`` is either a folder
built by ``dtsdk corpus build`` (it holds ``manifest.yaml``; its ``train`` split is trained on) or a
folder of real captures read by a capture reader (``reader:`` names one, else it is detected;
every clip is trained on, and the motion space, fps and speakers come from the captures).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

from dtsdk.errors import DtsdkError
from dtsdk.utils.config import dataclass_from_dict


CROPS = ("window", "clip", "span")


@dataclass
class TrainRecipe:
    name: str = "dtsdk-teacher"
    corpus: str = "data/corpus"  # a folder built by `dtsdk corpus build`, or of real captures
    reader: str = ""  # capture reader for a capture folder ("" = detect); unused for a dtsdk corpus
    output: str = "runs/teacher"
    model: dict = field(default_factory=dict)  # DiffusionTalkerConfig overrides, nested (denoiser: {d_model: 64})
    window_s: float = 2.0  # training crop length in seconds (with crop: clip, the longest crop)
    # window: a random window_s crop of each clip (shorter clips padded); clip: whole clips up to window_s,
    # batched by length and cropped to the batch's shortest clip, as Talker animates a sentence; span: as
    # clip, but each batch cropped to a random length in [min_window_s, that] at random offsets, so crops
    # start and end mid-sentence as well as on a sentence's silence
    crop: str = "window"
    min_window_s: float = 1.5  # crop: span only
    # a frozen encoder only (e.g. whisper-tiny): encode every training clip once, whole, and train on slices
    # of those features (stored in OUT/encoder-features.safetensors; dtsdk.data.features)
    precompute_features: bool = False
    # also train on the held-out speakers' enroll clips, as identities of their own: not a shipped model,
    # the upper bound that enrollment is measured against (benchmarks/bench_enroll.py --upper-bound)
    include_heldout: bool = False
    batch_size: int = 8  # per process; the global batch is batch_size * world size
    lr: float = 3e-4
    weight_decay: float = 0.01
    steps: int = 2000  # optimizer steps
    warmup_steps: int = 100  # linear warmup, then cosine decay to 0 at `steps`
    grad_clip: float = 1.0  # max global grad norm; 0 disables clipping
    seed: int = 0
    checkpoint_every: int = 500  # steps; 0: only the final model
    log_every: int = 10
    num_workers: int = 0  # DataLoader worker processes
    device: str = "auto"  # auto: cuda when available, else cpu

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "TrainRecipe":
        from dtsdk.recipes import read_recipe_section

        return cls.from_dict(read_recipe_section(path, "train", "training"), os.fspath(path))

    @classmethod
    def from_dict(cls, raw: dict, where: str = "<recipe>") -> "TrainRecipe":
        recipe = dataclass_from_dict(cls, raw, where)
        recipe.validate(where)
        return recipe

    def model_config(self, identities: list[str], fps: float, **motion_space):
        """The DiffusionTalkerConfig: recipe overrides plus what the data decides (speakers, fps and, for
        captures, the motion space: ``motion_dim``, ``rig``; a dtsdk corpus keeps the ARKit-52 defaults)
        and the crop length, so inference windows audio the way training did."""
        from dtsdk.model.config import DiffusionTalkerConfig

        return DiffusionTalkerConfig.from_dict({**self.model, "identities": list(identities), "fps": float(fps),
                                                "train_window_s": float(self.window_s), **motion_space})

    def validate(self, where: str = "<recipe>") -> None:
        checks = [
            (isinstance(self.model, dict), "model must be a mapping of DiffusionTalkerConfig fields"),
            (self.window_s > 0, "window_s must be positive"),
            (self.crop in CROPS, f"crop must be one of {', '.join(CROPS)}, not {self.crop!r}"),
            (self.crop != "span" or 0 < self.min_window_s <= self.window_s, "min_window_s must be in (0, window_s]"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (self.lr > 0, "lr must be positive"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.steps >= 1, "steps must be >= 1"),
            (0 <= self.warmup_steps < self.steps, "warmup_steps must be in [0, steps)"),
            (self.grad_clip >= 0, "grad_clip must be >= 0 (0 disables clipping)"),
            (self.checkpoint_every >= 0, "checkpoint_every must be >= 0"),
            (self.log_every >= 1, "log_every must be >= 1"),
            (self.num_workers >= 0, "num_workers must be >= 0"),
            (self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda"),
             "device must be auto, cpu, cuda or cuda:N"),
        ]
        for ok, message in checks:
            if not ok:
                raise DtsdkError(f"{where}: {message}")
        for fixed in ("identities", "fps", "motion_dim", "rig"):
            if fixed in self.model:
                raise DtsdkError(f"{where}: model.{fixed} comes from the corpus; remove it from the recipe")
        try:  # typos in the nested model overrides surface now, not after the corpus loads
            self.model_config(["_"], 30.0)
        except (ValueError, TypeError) as exc:
            raise DtsdkError(f"{where}: model: {exc}") from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
