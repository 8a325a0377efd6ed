"""``dtsdk enroll DIR --name NAME``: thin over :func:`dtsdk.enrollment.enroll`; ``--json`` prints what
was written (files used and skipped, seconds, metrics)."""
from __future__ import annotations

from dtsdk.enrollment import MIN_SECONDS


def add(subparsers) -> None:
    p = subparsers.add_parser("enroll", help="enroll a folder of your recordings as a new talking identity")
    p.add_argument("folder", help="folder of recordings (any audio format), searched recursively; a capture "
                                  "beside a recording with the same stem (take.wav + take.csv / take.npz) is used")
    p.add_argument("--name", required=True, help="the identity's name in the store (letters, digits, . _ -)")
    p.add_argument("--model", help="checkpoint directory or Hub repo id (default: the packaged default model)")
    p.add_argument("--force", action="store_true", help="replace an identity of the same name")
    p.add_argument("--steps", type=int, help="optimiser steps (default 100)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--min-seconds", type=float, default=MIN_SECONDS,
                   help=f"refuse less audio than this (default {MIN_SECONDS:g} s)")
    p.set_defaults(func=run)


def run(args):
    from dtsdk.enrollment import enroll

    return enroll(args.folder, args.name, args.model, force=args.force, steps=args.steps, seed=args.seed,
                  min_seconds=args.min_seconds).to_dict()
