"""``dtsdk portrait train RECIPE [-o OUT]``: thin over :func:`dtsdk_gcgan.train.train`."""
from __future__ import annotations

import logging
import time

log = logging.getLogger("dtsdk.portrait")


def add(subparsers) -> None:
    p = subparsers.add_parser("portrait", help="GC-GAN portraits: train a landmark-driven face image model")
    sub = p.add_subparsers(dest="portrait_command", metavar="PORTRAIT_COMMAND")
    t = sub.add_parser("train", help="train from a recipe (shipped: tiny, default) on the synthetic set")
    t.add_argument("recipe", help="a shipped recipe name (tiny, default) or a recipe YAML file")
    t.add_argument("-o", "--output", help="checkpoint folder (default: the recipe's `output`)")
    t.set_defaults(func=run_train)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def run_train(args):
    from dtsdk_gcgan.train import PortraitRecipe, train

    recipe = PortraitRecipe.from_yaml(args.recipe)
    every = max(1, recipe.log_every)
    started = time.perf_counter()

    def progress(step, losses):
        if step % every == 0 or step == recipe.steps:
            log.info("step %d/%d %.0f s loss %.4f reconstruction %.4f classification %.3f critic %.4f", step,
                     recipe.steps, time.perf_counter() - started, losses["loss"], losses["reconstruction"],
                     losses["classification"], losses["d_critic"])

    summary = train(recipe, output=args.output, progress=progress)
    log.info("wrote %s", summary["output"])
    return summary
