"""``dtsdk eval [MODEL] --corpus DIR [--split test] [-o results.json]``: thin over
:func:`dtsdk.eval.harness.evaluate_model`; ``--json`` prints the full result. With no MODEL only
the systems that need none are scored (``resampled``, ``static_mean_face``)."""
from __future__ import annotations

import argparse
import json
import logging

log = logging.getLogger("dtsdk.eval")


def add(subparsers) -> None:
    p = subparsers.add_parser("eval", help="score a model on a corpus split (LVE, MVE, FDD, diversity, identity)")
    p.add_argument("model", nargs="?", help="checkpoint directory or Hub repo id (omit it to score only "
                                            "resampled and static_mean_face, which need no model)")
    p.add_argument("--corpus", required=True, help="corpus folder built by `dtsdk corpus build`")
    p.add_argument("--split", default="test", help="test (training speakers, unseen sentences), heldout_test, "
                                                   "swapped_test (voice A in style B, labelled B) or pause_test")
    p.add_argument("--samples", type=int, default=2, help="samples per clip (one batch) for diversity (default 2)")
    p.add_argument("--sampler", help="sampler name (default: the model's)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    p.add_argument("--limit", type=int, help="evaluate only the first N clips of the split")
    p.add_argument("--guidance", type=float, default=1.0, help="identity guidance weight (default 1 = none)")
    p.add_argument("--every", type=int, default=1, help="evaluate every N-th clip (a subset with all speakers)")
    p.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--systems", help="comma-separated subset of identity,auto,generic,resampled,static_mean_face "
                                     "(default: all the model supports)")
    p.add_argument("--windows", type=_windows, metavar="WINDOW,OVERLAP",
                   help="animate in windows of WINDOW s crossfaded over OVERLAP s (default: Talker's, 10,1)")
    p.add_argument("-o", "--output", help="write the results JSON here (atomically)")
    p.set_defaults(func=run)


def _windows(text: str) -> tuple[float, float]:
    try:
        window_s, overlap_s = (float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WINDOW,OVERLAP in seconds (for example 2,0.5), got '{text}'")
    if not 0 <= overlap_s < window_s:
        raise argparse.ArgumentTypeError(f"the overlap must be at least 0 and shorter than the window, got '{text}'")
    return window_s, overlap_s


def run(args):
    from dtsdk.eval.harness import evaluate_model, results_table
    from dtsdk.utils.atomic import atomic_open

    results = evaluate_model(args.model, args.corpus, split=args.split, num_samples=args.samples, steps=args.steps,
                             limit=args.limit, seed=args.seed, device=args.device,
                             systems=args.systems.split(",") if args.systems else None, sampler=args.sampler,
                             every=args.every, guidance=args.guidance, windows=args.windows)
    if args.output:
        with atomic_open(args.output, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
        log.info("wrote %s", args.output)
    log.info("%s", "\n" + results_table(results))
    return results
