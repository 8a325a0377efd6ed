"""``distill(recipe) -> summary``: progressive distillation rounds, each student saved as a checkpoint.

Round r trains a student, initialised from its teacher (the previous round's student; the teacher
checkpoint in round 1), to match two of its teacher's DDIM steps with one
(:mod:`dtsdk.distill.progressive`). Only the denoiser learns: the audio encoder, the identity bank,
the audio-to-identity head and the residual objective's mean network are the teacher's, bit for bit,
so the students stay personalized (every row is conditioned on its speaker's identity, a share on
the null identity) and ``auto`` still finds the same speakers. A student is a plain DiffusionTalker
checkpoint whose config names the ``distilled`` sampler and the step count it was trained for.

One process, or several under `torchrun` (gradients averaged across ranks; rank 0 writes). A run
that stops between rounds resumes at the first round whose ``OUT/student-<K>/`` is missing.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Callable

import torch

from dtsdk.data.sources import training_data
from dtsdk.distill.common import endless_batches, frozen_inputs, optimizer_step
from dtsdk.distill.progressive import distillation_loss
from dtsdk.distill.recipe import DistillRecipe
from dtsdk.errors import DtsdkError
from dtsdk.train.distributed import World, barrier, close_world, gather_strings, init_world
from dtsdk.train.loop import lr_lambda, weights_digest
from dtsdk.utils.device import resolve_device

log = logging.getLogger("dtsdk.distill")

Progress = Callable[[int, int, int, dict], None]  # (round index, student steps, step in round, losses)


def distill(recipe: DistillRecipe, output: str | None = None, progress: Progress | None = None) -> dict:
    """Run every round of ``recipe``; returns a summary (per round: steps, final loss, seconds, scores)."""
    from dtsdk.inference.talker import load_model

    device = resolve_device(recipe.device)
    world = init_world(device.type)
    out = Path(output or recipe.output)
    try:
        teacher, teacher_name = load_model(recipe.teacher or None)
        _check_teacher(teacher, teacher_name)
        teacher.to(device)
        if recipe.encoder:
            teacher, teacher_name = _encoder_round(teacher, teacher_name, recipe, world, device, out)
        loader, sampler = _loader(recipe, teacher, world)
        rounds, students = [], {}
        earlier = _earlier_rounds(out / "rounds.json")
        for index, steps in enumerate(recipe.rounds):
            folder = out / f"student-{steps}"
            started = time.perf_counter()
            if (folder / "config.json").is_file():  # done in an earlier run: it is the next teacher
                from dtsdk.model import DiffusionTalker

                student = DiffusionTalker.from_pretrained(folder).to(device)
                losses = {"resumed": True}
            else:
                student, losses = distill_round(teacher, steps, loader, sampler, recipe, world, device,
                                                lambda step, parts: progress and progress(index, steps, step, parts),
                                                out, index)
                losses["weights_sha256_per_rank"] = agreed_digests(world, student)
                if world.is_main:
                    _save_student(student, folder, recipe, teacher_name, steps)
                barrier(world)
            record = {"round": index + 1, "student_steps": steps, **losses,
                      "seconds": round(time.perf_counter() - started, 1), "checkpoint": str(folder)}
            if losses.get("resumed"):  # keep what the run that trained it recorded (losses, time, scores)
                record = {**earlier.get(steps, record), "resumed": True}
            if world.is_main and recipe.eval_every and not losses.get("resumed"):
                record["eval"] = evaluate_round(folder, recipe)
            rounds.append(record)
            if world.is_main:
                _write_json(out / "rounds.json", rounds)
            students[steps] = teacher = student
        if recipe.compact:
            record = _compact_round(students, recipe, loader, sampler, world, device, out, teacher_name, progress)
            rounds.append({**earlier["compact"], "resumed": True} if record.get("resumed") and "compact" in earlier
                          else record)
            if world.is_main:
                _write_json(out / "rounds.json", rounds)
        return {"teacher": teacher_name, "output": str(out), "rounds": rounds}
    finally:
        close_world(world)


def _compact_round(students: dict, recipe: DistillRecipe, loader, sampler, world: World, device, out: Path,
                   teacher_name: str, progress: Progress | None) -> dict:
    """The compact student of ``recipe.compact``, distilled from the full student of ``from_steps``."""
    from dtsdk.distill.compact import CompactSettings, distill_compact
    from dtsdk.model import DiffusionTalker

    settings = CompactSettings.from_dict(recipe.compact, recipe.name)
    if settings.from_steps not in students:
        raise DtsdkError(f"{recipe.name}: compact.from_steps {settings.from_steps} is not a round of this recipe "
                         f"({', '.join(map(str, students))})")
    folder = out / f"compact-{settings.from_steps}"
    started = time.perf_counter()
    record = {"round": "compact", "student_steps": settings.from_steps, "checkpoint": str(folder)}
    if (folder / "config.json").is_file():
        return {**record, "resumed": True, "parameters": _parameters(DiffusionTalker.from_pretrained(folder))}
    batches = endless_batches(loader, sampler, recipe.seed + 99_000)
    compact, losses = distill_compact(students[settings.from_steps], settings, batches, recipe, world, device, out,
                                      lambda step, parts: progress and progress(len(recipe.rounds), -1, step, parts))
    losses["weights_sha256_per_rank"] = agreed_digests(world, compact)
    if world.is_main:
        card = (f"# {recipe.name}: compact {settings.from_steps}-step student\n\nA smaller DiffusionTalker trained "
                f"to reproduce the {settings.from_steps}-step progressive-distillation student of `{teacher_name}` "
                f"(dtsdk/distill/compact.py), {settings.steps} steps on `{recipe.corpus}`.\n")
        _save_atomically(compact, folder, card)
    barrier(world)
    record.update(losses, seconds=round(time.perf_counter() - started, 1), parameters=_parameters(compact))
    if world.is_main and recipe.eval_every:
        record["eval"] = evaluate_round(folder, recipe)
    return record


def _encoder_round(teacher, teacher_name: str, recipe: DistillRecipe, world: World, device, out: Path):
    """The teacher with a small encoder distilled in place of its frozen one (rank 0 trains it, the other
    ranks load it): OUT/teacher-small-encoder/, reused when it is there."""
    from dtsdk.distill.encoder import EncoderDistillSettings, distill_encoder
    from dtsdk.model import DiffusionTalker

    folder = out / "teacher-small-encoder"
    if world.is_main and not (folder / "config.json").is_file():
        settings = EncoderDistillSettings.from_dict(recipe.encoder, recipe.name)
        small, _ = distill_encoder(teacher, recipe.corpus, settings, out, device)
        card = (f"# {recipe.name}: `{teacher_name}` with a small encoder\n\nIts `{teacher.config.encoder}` encoder "
                f"replaced by a `logmel-conv` one trained to give the same features ({settings.steps} steps on "
                f"`{recipe.corpus}`, dtsdk/distill/encoder.py); every other weight is the teacher's.\n")
        _save_atomically(small, folder, card)
    barrier(world)
    return DiffusionTalker.from_pretrained(folder).to(device), f"{teacher_name} (small encoder)"


def agreed_digests(world: World, model) -> list[str]:
    """Every rank's weights digest; a mismatch (ranks out of lockstep, a bug) stops the run before saving."""
    digests = gather_strings(world, weights_digest(model))
    if len(set(digests)) != 1:
        raise DtsdkError(f"ranks ended the round with different weights: {digests}")
    return digests


def _earlier_rounds(path: Path) -> dict:
    """An earlier run's round records by student step count (the compact record under "compact")."""
    if not path.is_file():
        return {}
    return {r["student_steps"] if r["round"] != "compact" else "compact": r for r in json.loads(path.read_text())}


def _parameters(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _check_teacher(teacher, name: str) -> None:
    if not teacher.objective.uses_sampler:
        raise DtsdkError(f"{name}: a '{teacher.config.objective}' model has no sampler to distil")
    if teacher.config.distilled_steps:
        raise DtsdkError(f"{name}: already a distilled student ({teacher.config.distilled_steps} steps); "
                         "distil from its teacher, or set teacher_steps to its step count and continue from it")


def _loader(recipe: DistillRecipe, teacher, world: World):
    found = training_data(recipe.corpus, window_s=recipe.window_s, seed=recipe.seed)
    if list(found.speakers) != list(teacher.config.identities):
        raise DtsdkError(f"{recipe.corpus}: its training speakers ({', '.join(found.speakers[:4])}, ...) are not the "
                         f"teacher's identities ({', '.join(teacher.config.identities[:4])}, ...); distil on the "
                         "corpus the teacher was trained on")
    sampler = torch.utils.data.DistributedSampler(found.dataset, num_replicas=world.size, rank=world.rank,
                                                  shuffle=True, seed=recipe.seed, drop_last=True)
    loader = torch.utils.data.DataLoader(found.dataset, batch_size=recipe.batch_size, sampler=sampler,
                                         drop_last=True)
    if len(loader) == 0:
        raise DtsdkError(f"{recipe.corpus}: too few training clips for one batch of {recipe.batch_size}")
    return loader, sampler




def distill_round(teacher, steps: int, loader, sampler, recipe: DistillRecipe, world: World, device,
                  progress: Callable[[int, dict], None], out: Path, index: int):
    """Train a ``steps``-step student from ``teacher`` (a 2*steps-step sampler); returns (student, losses)."""
    teacher.eval().requires_grad_(False)
    student = copy.deepcopy(teacher)
    student.requires_grad_(False)
    student.denoiser.requires_grad_(True)  # everything else stays the teacher's
    params = [p for p in student.denoiser.parameters()]
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(recipe.warmup_steps, recipe.steps_per_round))
    generator = torch.Generator(device=device)
    alphas = teacher.schedule.alphas_cumprod.float()
    window: dict[str, list[float]] = {}
    last: dict = {}
    if world.is_main:
        out.mkdir(parents=True, exist_ok=True)
    metrics = open(out / "metrics.jsonl", "a", encoding="utf-8") if world.is_main else None
    t0 = time.perf_counter()
    try:
        batches = endless_batches(loader, sampler, recipe.seed + 1000 * index)
        for step in range(1, recipe.steps_per_round + 1):
            generator.manual_seed(((recipe.seed * 1_000_003 + index) * 1_000_003 + step) * 4096 + world.rank)
            x0, cond = frozen_inputs(teacher, next(batches), recipe.identity_dropout, generator, device)
            parts = distillation_loss(student.objective.denoise, teacher.objective.denoise, x0, cond, alphas, steps,
                                      generator)
            optimizer_step(parts["loss"], params, optimizer, scheduler, world, recipe.grad_clip)
            for key, value in parts.items():
                window.setdefault(key, []).append(float(value.detach()))
            if step % recipe.log_every == 0 or step == recipe.steps_per_round:
                last = {key: sum(v) / len(v) for key, v in window.items()}
                window = {}
                if metrics is not None:
                    row = {"round": index + 1, "student_steps": steps, "step": step, **last,
                           "lr": scheduler.get_last_lr()[0], "seconds": round(time.perf_counter() - t0, 2)}
                    metrics.write(json.dumps(row) + "\n")
                    metrics.flush()
                    log.info("round %d (%d steps) step %d/%d loss %.5f", index + 1, steps, step,
                             recipe.steps_per_round, last["loss"])
            if world.is_main:
                progress(step, last)
    finally:
        if metrics is not None:
            metrics.close()
    student.requires_grad_(False)
    return student.eval(), last



def student_config(teacher_config, steps: int, sampler_options: dict):
    """The teacher's config with the student's sampling: the ``distilled`` sampler at ``steps``."""
    return dataclasses.replace(teacher_config, default_sampler="distilled", default_steps=steps,
                               distilled_steps=[steps], sampler_options=dict(sampler_options))


def _save_student(student, folder: Path, recipe: DistillRecipe, teacher_name: str, steps: int) -> None:
    student.config = student_config(student.config, steps, recipe.student_sampler_options)
    card = (f"# {recipe.name}: {steps}-step student\n\nProgressive distillation (Salimans & Ho 2022) of "
            f"`{teacher_name}` from {recipe.teacher_steps} DDIM steps, round {recipe.rounds.index(steps) + 1}; "
            f"{recipe.steps_per_round} steps per round on `{recipe.corpus}`. Sample with the `distilled` sampler "
            f"at {steps} step(s). Recipe:\n\n```json\n{json.dumps(recipe.to_dict(), indent=2)}\n```\n")
    _save_atomically(student, folder, card)


def _save_atomically(model, folder: Path, card: str) -> None:
    part = folder.with_name(folder.name + ".part")  # written whole, then renamed: resume trusts what it finds
    shutil.rmtree(part, ignore_errors=True)
    model.save_pretrained(part, model_card=card)
    shutil.rmtree(folder, ignore_errors=True)
    part.rename(folder)


def evaluate_round(folder: Path, recipe: DistillRecipe) -> dict:
    """The student's scores on a subset of the test and swapped_test splits (identity and auto)."""
    from dtsdk.eval.harness import evaluate_model

    scores = {}
    for split in ("test", "swapped_test"):
        result = evaluate_model(folder, recipe.eval_corpus, split=split, every=recipe.eval_every,
                                systems=("identity", "auto"), device=recipe.device if recipe.device != "auto" else None)
        scores[split] = result["systems"]
    return scores


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)
