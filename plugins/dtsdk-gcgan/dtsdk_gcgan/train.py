"""Training GC-GAN on the synthetic set (or a folder of faces): the recipe, one seeded loop, safetensors checkpoints.

A step is ``n_critic`` critic updates (WGAN-GP, plus the classifier head on real images), then one
update of the geometry encoder, image encoder and generator together. Each training example is a
pair of the same identity: the source image, and the target expression's landmarks and image.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from dtsdk.errors import DtsdkError
from dtsdk_gcgan.shipped import RECIPE_DIR, shipped_recipes
from dtsdk.utils.config import dataclass_from_dict
from dtsdk_gcgan.model import GCGAN, GCGANConfig, contrastive_loss, contrastive_pairs, gradient_penalty
from dtsdk_gcgan.synthetic import NUM_EXPRESSIONS, UNLABELLED, SyntheticSet, corpus_frames, generate



@dataclass
class LossWeights:
    """Weights of the terms (see the shipped recipes for the values and why)."""
    reconstruction: float = 10.0  # L1 to the real target image (mean over pixels)
    adversarial: float = 0.05  # generator's WGAN term
    classification: float = 1.0  # expression CE: D on real images, G on generated ones (at 0.1 it stayed at chance)
    feature_matching: float = 1.0  # L1 between D's features of real and generated targets
    contrastive: float = 0.1  # on pairs of geometry codes
    geometry_reconstruction: float = 1.0  # landmarks back from the geometry code (L_gr)
    gradient_penalty: float = 10.0  # WGAN-GP


@dataclass
class DataSettings:
    identities: int = 32
    expressions_per_identity: int = 10
    seed: int = 0
    folder: str | None = None  # train on a folder of images instead (dtsdk_gcgan.folder); the rest is then unused
    corpus: str | None = None  # a built dtsdk corpus: its train clips' motion frames, rendered too
    corpus_frames: int = 0  # per person, speech frames drawn from `corpus` (besides the expressions above)


@dataclass
class PortraitRecipe:
    model: GCGANConfig = field(default_factory=GCGANConfig)
    losses: LossWeights = field(default_factory=LossWeights)
    data: DataSettings = field(default_factory=DataSettings)
    steps: int = 1000
    batch_size: int = 32
    n_critic: int = 5
    lr: float = 3e-4  # Adam, beta1 0.5, as the paper
    seed: int = 0
    output: str = "runs/portrait"
    log_every: int = 50
    save_every: int = 0  # also write the checkpoint every this many steps (0: only at the end), so a kill loses little
    snapshot_steps: list[int] = field(default_factory=list)  # keep a copy at these steps in OUTPUT/step-N/

    @classmethod
    def from_yaml(cls, path: str | os.PathLike) -> "PortraitRecipe":
        """A recipe file, or the name of a shipped one (``tiny``, ``default``)."""
        from dtsdk.recipes import read_recipe_section

        path = find_portrait_recipe(path)
        raw = read_recipe_section(path, "portrait", "portrait")
        recipe = dataclass_from_dict(cls, raw, os.fspath(path),
                                     nested={"model": GCGANConfig, "losses": LossWeights, "data": DataSettings})
        if recipe.model.num_expressions != NUM_EXPRESSIONS:
            raise DtsdkError(f"{os.fspath(path)}: model.num_expressions must be {NUM_EXPRESSIONS}, "
                             "the synthetic set's expression classes")
        # Batch norm needs two samples per batch, and the contrastive pair rule a partner for each.
        for name, least in (("steps", 1), ("batch_size", 2), ("n_critic", 1)):
            if int(getattr(recipe, name)) < least:
                raise DtsdkError(f"{os.fspath(path)}: {name} must be at least {least}")
        return recipe


def find_portrait_recipe(value: str | os.PathLike) -> Path:
    """A bare name is one of this package's recipes; anything else is a path."""
    text = os.fspath(value)
    if "/" in text or os.sep in text or text.endswith((".yaml", ".yml")):
        return Path(text)
    shipped = shipped_recipes()
    if text not in shipped:
        raise DtsdkError(f"{text}: no portrait recipe of that name; shipped: {', '.join(shipped)} "
                         "(or give the path of a recipe file)")
    return RECIPE_DIR / f"{text}.yaml"


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W) in [-1, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1


def sample_pairs(data: SyntheticSet, batch_size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) sample indices (B,), (B,) of the same identity, at any two of its expressions."""
    source = rng.integers(len(data), size=batch_size)
    target = np.empty_like(source)
    for i, s in enumerate(source):
        same_person = np.flatnonzero(data.identities == data.identities[s])
        target[i] = rng.choice(same_person)
    return source, target


def generator_losses(model: GCGAN, weights: LossWeights, source, target, landmarks, labels,
                     generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The generator-side terms for one batch; ``loss`` is their weighted sum."""
    fake, code = model(source, landmarks)  # (B, 3, S, S), (B, G)
    score, logits, fake_features = model.discriminator(fake)
    with torch.no_grad():
        real_features = model.discriminator(target)[2]
    partner, same = contrastive_pairs(labels, generator)
    known = (labels != UNLABELLED) & (labels[partner] != UNLABELLED)  # pairs the rule can judge
    terms = {
        "reconstruction": F.l1_loss(fake, target),
        "adversarial": -score.mean(),
        "classification": labelled_cross_entropy(logits, labels),
        "feature_matching": F.l1_loss(fake_features, real_features),
        "contrastive": (contrastive_loss(code[known], code[partner][known], same[known],
                                         model.config.contrastive_margin) if known.any() else code.sum() * 0),
        "geometry_reconstruction": F.mse_loss(model.geometry.reconstruct(code), landmarks),
    }
    terms["loss"] = sum(getattr(weights, name) * value for name, value in terms.items())
    return terms


def labelled_cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over the samples with an expression label (speech frames have none); 0 for none."""
    known = labels != UNLABELLED
    return F.cross_entropy(logits[known], labels[known]) if known.any() else logits.sum() * 0


def critic_losses(model: GCGAN, weights: LossWeights, source, target, landmarks, labels,
                  generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
    """The critic's WGAN-GP terms and the classifier head on real targets; ``loss`` is their sum."""
    with torch.no_grad():
        fake = model(source, landmarks)[0]
    real_score, real_logits, _ = model.discriminator(target)
    fake_score = model.discriminator(fake)[0]
    wasserstein = fake_score.mean() - real_score.mean()
    penalty = gradient_penalty(model.discriminator, target, fake, generator)
    classification = labelled_cross_entropy(real_logits, labels)
    loss = wasserstein + weights.gradient_penalty * penalty + weights.classification * classification
    return {"critic": wasserstein, "gradient_penalty": penalty, "real_classification": classification, "loss": loss}


def _batch(data: SyntheticSet, source_idx, target_idx, images: torch.Tensor):
    landmarks = torch.from_numpy(data.landmarks[target_idx])  # (B, 68, 2)
    labels = torch.from_numpy(data.labels[target_idx])  # (B,)
    return images[source_idx], images[target_idx], landmarks, labels


def training_set(recipe: PortraitRecipe) -> SyntheticSet:
    """The recipe's training faces: its ``data.folder`` of images (:mod:`dtsdk_gcgan.folder`) if it
    names one, else the synthetic population (:mod:`dtsdk_gcgan.synthetic`)."""
    if recipe.data.folder:
        from dtsdk_gcgan.folder import read_folder

        return read_folder(recipe.data.folder, recipe.model.image_size)
    data = recipe.data
    if data.corpus_frames and not data.corpus:
        raise DtsdkError("data.corpus_frames needs data.corpus: the folder of a built dtsdk corpus")
    speech = corpus_frames(data.corpus) if data.corpus and data.corpus_frames else None
    return generate(data.identities, data.expressions_per_identity, recipe.model.image_size, seed=data.seed,
                    speech_frames=speech, speech_per_identity=data.corpus_frames)


def train(recipe: PortraitRecipe, output: str | os.PathLike | None = None, data: SyntheticSet | None = None,
          progress=None) -> dict:
    """Train ``recipe`` (seeded: the same recipe gives the same weights on one machine); writes
    ``model.safetensors`` and ``config.json`` under ``output`` and returns a summary with the losses."""
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    started = time.perf_counter()
    if data is None:
        data = training_set(recipe)
    if data.images.shape[1] != recipe.model.image_size:
        raise DtsdkError(f"the training images are {data.images.shape[1]} px but the model is "
                         f"{recipe.model.image_size} px")
    images = to_tensor(data.images)  # (N, 3, S, S)
    model = GCGAN(recipe.model)
    opt_g = torch.optim.Adam(model.generator_parameters(), lr=recipe.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=recipe.lr, betas=(0.5, 0.999))
    history = []
    model.train()
    for step in range(1, recipe.steps + 1):
        for _ in range(recipe.n_critic):
            batch = _batch(data, *sample_pairs(data, recipe.batch_size, rng), images)
            d_terms = critic_losses(model, recipe.losses, *batch, generator=generator)
            opt_d.zero_grad(set_to_none=True)
            d_terms["loss"].backward()
            opt_d.step()
        batch = _batch(data, *sample_pairs(data, recipe.batch_size, rng), images)
        g_terms = generator_losses(model, recipe.losses, *batch, generator=generator)
        opt_g.zero_grad(set_to_none=True)
        g_terms["loss"].backward()
        opt_g.step()
        losses = {**{k: float(v.detach()) for k, v in g_terms.items()},
                  **{f"d_{k}": float(v.detach()) for k, v in d_terms.items()}}
        if not all(np.isfinite(list(losses.values()))):
            raise DtsdkError(f"training diverged at step {step}: a loss is not finite ({losses}); lower lr")
        history.append(losses)
        if progress is not None:
            progress(step, losses)
        folder = output if output is not None else recipe.output
        if folder and step < recipe.steps:
            trained = {"steps": step, "seconds": round(time.perf_counter() - started, 1)}
            if recipe.save_every and step % recipe.save_every == 0:
                save_checkpoint(model, folder, recipe, trained=trained)
            if step in recipe.snapshot_steps:
                save_checkpoint(model, Path(folder) / f"step-{step}", recipe, trained=trained)
    seconds = round(time.perf_counter() - started, 1)
    summary = {"steps": recipe.steps, "samples": len(data), "seconds": seconds,
               "first": history[0], "last": history[-1]}
    if output is not None or recipe.output:
        trained = {"steps": recipe.steps, "seconds": seconds, "last_losses": history[-1]}
        summary["output"] = os.fspath(save_checkpoint(model, output or recipe.output, recipe, trained=trained))
    return summary


def save_checkpoint(model: GCGAN, folder: str | os.PathLike, recipe: PortraitRecipe | None = None,
                    trained: dict | None = None, inference_only: bool = False) -> Path:
    """``folder/model.safetensors`` (weights only, never pickle) and ``folder/config.json``.

    ``inference_only`` drops the discriminator (only training needs it) and stores the rest in
    float16, about a quarter of the size: the form of the checkpoint shipped in the package.
    """
    from safetensors.torch import save_file

    from dtsdk.utils.atomic import atomic_open, atomic_path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    if inference_only:
        state = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items()
                 if not k.startswith("discriminator.")}
    with atomic_path(folder / "model.safetensors") as tmp:
        save_file(state, os.fspath(tmp))
    config = {"model": model.config.to_dict(), "inference_only": bool(inference_only)}
    if recipe is not None:
        config["recipe"] = asdict(recipe)
    if trained is not None:
        config["trained"] = trained
    with atomic_open(folder / "config.json", "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2)
    return folder


def load_checkpoint(folder: str | os.PathLike) -> GCGAN:
    """The model saved by :func:`save_checkpoint` (safetensors + config.json), in eval mode."""
    from safetensors.torch import load_file

    folder = Path(folder)
    weights, config_file = folder / "model.safetensors", folder / "config.json"
    for needed in (weights, config_file):
        if not needed.is_file():
            raise DtsdkError(f"{os.fspath(folder)}: not a portrait checkpoint (no {needed.name})")
    with open(config_file, encoding="utf-8") as f:
        saved = json.load(f)
    config = dataclass_from_dict(GCGANConfig, saved.get("model", {}), os.fspath(config_file))
    model = GCGAN(config)
    try:
        state = {k: v.float() if v.is_floating_point() else v for k, v in load_file(os.fspath(weights)).items()}
        if saved.get("inference_only"):  # no discriminator: it keeps its fresh weights and is never used
            state.update({k: v for k, v in model.state_dict().items() if k.startswith("discriminator.")})
        model.load_state_dict(state)
    except (RuntimeError, OSError, ValueError) as exc:  # another architecture, or not a safetensors file
        first = " ".join(str(exc).split())[:200]
        raise DtsdkError(f"{os.fspath(weights)}: weights do not fit this dtsdk-gcgan model ({first})") from None
    return model.eval()
