"""``dtsdk train RECIPE [-o OUT] [--resume CKPT_DIR]``: thin over :func:`dtsdk.train.train`.

Multi-process: ``torchrun --nproc_per_node=2 -m dtsdk train RECIPE`` (gloo on CPU, nccl on CUDA).
"""
from __future__ import annotations

import contextlib
import os


def add(subparsers) -> None:
    from dtsdk.recipes import builtin_recipes

    p = subparsers.add_parser("train", help="train a diffusion talker from a recipe (also under torchrun)")
    p.add_argument("recipe",
                   help=f"a built-in training recipe ({', '.join(builtin_recipes('train'))}) or a recipe YAML file")
    p.add_argument("-o", "--output", help="output folder (default: the recipe's `output`)")
    p.add_argument("--resume", metavar="CKPT_DIR", help="continue from OUT/checkpoint-<step>")
    p.add_argument("--corpus", help="corpus folder (default: the recipe's `corpus`)")
    p.set_defaults(func=run_train)


@contextlib.contextmanager
def _loss_bar(total: int):
    """A rich bar with the running loss on a terminal (rank 0 only); None elsewhere (log lines instead)."""
    from dtsdk.cli.console import stderr_console

    console = stderr_console()
    if not console.is_terminal or os.environ.get("RANK", "0") != "0":
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TextColumn("loss {task.fields[loss]}"),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task("train", total=total, loss="-")

        def update(step: int, losses: dict) -> None:
            loss = f"{losses['loss']:.4f}" if losses else "-"
            bar.update(task, completed=step, loss=loss)

        yield update


def run_train(args):
    from dtsdk.train import TrainRecipe, train

    recipe = TrainRecipe.from_yaml(args.recipe)
    if args.corpus:
        recipe.corpus = args.corpus
    with _loss_bar(recipe.steps) as progress:
        summary = train(recipe, output=args.output, resume=args.resume, progress=progress)
    # Under torchrun every rank returns the summary; one copy on stdout is enough.
    return summary if os.environ.get("RANK", "0") == "0" else None
