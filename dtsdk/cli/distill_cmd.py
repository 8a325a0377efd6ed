"""``dtsdk distill RECIPE [-o OUT]``: thin over :func:`dtsdk.distill.distill`.

Multi-process: ``torchrun --nproc_per_node=2 -m dtsdk distill RECIPE`` (gradients averaged across ranks).
"""
from __future__ import annotations

import contextlib
import os


def add(subparsers) -> None:
    from dtsdk.recipes import builtin_recipes

    p = subparsers.add_parser("distill", help="distil a diffusion teacher into few-step students (progressive)")
    p.add_argument("recipe", help=f"a built-in distillation recipe ({', '.join(builtin_recipes('distill'))}) "
                                  "or a recipe YAML file")
    p.add_argument("-o", "--output", help="output folder (default: the recipe's `output`)")
    p.add_argument("--teacher", help="teacher checkpoint folder or Hub id (default: the recipe's; '' = packaged)")
    p.add_argument("--corpus", help="corpus folder (default: the recipe's `corpus`)")
    p.set_defaults(func=run_distill)


@contextlib.contextmanager
def _round_bar(recipe):
    """A rich bar per round with the round, its step count and the running loss (rank 0, on a terminal)."""
    from dtsdk.cli.console import stderr_console

    console = stderr_console()
    if not console.is_terminal or os.environ.get("RANK", "0") != "0":
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("loss {task.fields[loss]}"), TimeRemainingColumn(), console=console) as bar:
        tasks: dict[int, int] = {}

        def update(index: int, steps: int, step: int, losses: dict) -> None:
            if index not in tasks:
                if steps < 0:  # the compact student after the rounds
                    from dtsdk.distill.compact import CompactSettings

                    title, total = "compact student", CompactSettings.from_dict(recipe.compact, recipe.name).steps
                else:
                    title = f"round {index + 1}/{len(recipe.rounds)}: {steps}-step student"
                    total = recipe.steps_per_round
                tasks[index] = bar.add_task(title, total=total, loss="-")
            bar.update(tasks[index], completed=step, loss=f"{losses['loss']:.5f}" if losses else "-")

        yield update


def run_distill(args):
    from dtsdk.distill import DistillRecipe, distill

    recipe = DistillRecipe.from_yaml(args.recipe)
    if args.teacher is not None:
        recipe.teacher = args.teacher
    if args.corpus:
        recipe.corpus = args.corpus
    with _round_bar(recipe) as progress:
        summary = distill(recipe, output=args.output, progress=progress)
    return summary if os.environ.get("RANK", "0") == "0" else None
