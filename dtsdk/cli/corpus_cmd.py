"""``dtsdk corpus build|info|verify``: the synthetic talking-face corpus."""
from __future__ import annotations

import logging

log = logging.getLogger("dtsdk.corpus")


def add(subparsers) -> None:
    from dtsdk.recipes import builtin_recipes

    p = subparsers.add_parser("corpus", help="build and inspect the synthetic talking-face corpus")
    sub = p.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="build a corpus from a recipe")
    b.add_argument("recipe",
                   help=f"a built-in corpus recipe ({', '.join(builtin_recipes('corpus'))}) or a recipe YAML file")
    b.add_argument("-o", "--output", required=True, help="output folder")
    b.add_argument("--workers", type=int, help="worker processes (default: the recipe's, 0 = one per core)")
    b.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    b.set_defaults(func=run_build)
    i = sub.add_parser("info", help="summarise a built corpus")
    i.add_argument("corpus", help="corpus folder")
    i.set_defaults(func=run_info)
    v = sub.add_parser("verify", help="check every file against the manifest checksums")
    v.add_argument("corpus", help="corpus folder")
    v.set_defaults(func=run_verify)


def run_build(args):
    from dtsdk.cli.console import progress
    from dtsdk.corpus.build import build_corpus
    from dtsdk.corpus.recipe import CorpusRecipe

    recipe = CorpusRecipe.from_yaml(args.recipe)
    if args.workers is not None:
        recipe.workers = args.workers
    with progress("speakers", total=recipe.train_speakers + recipe.heldout_speakers) as advance:
        summary = build_corpus(recipe, args.output, overwrite=args.overwrite, progress=advance)
    log.info("built %s: %d speakers, %d clips, %.2f h of speech in %.0f s", summary["output"], summary["speakers"],
             summary["clips"], summary["hours"], summary["build_seconds"])
    return summary


def run_info(args):
    from dtsdk.corpus.manifest import read_manifest

    m = read_manifest(args.corpus)
    summary = {"generator": m["generator"], "fps": m["fps"], "speakers": len(m["speakers"]), "splits": m["splits"]}
    if not args.json:
        for split, s in m["splits"].items():
            print(f"{split:13s} {s['speakers']:3d} speakers {s['clips']:5d} clips {s['minutes']:8.1f} min")
    return summary


def run_verify(args):
    from dtsdk.corpus.manifest import verify_checksums
    from dtsdk.errors import DtsdkError

    bad = verify_checksums(args.corpus)
    if bad:
        raise DtsdkError(f"{args.corpus}: {len(bad)} file(s) missing or changed since the build, first: {bad[0]}")
    return {"corpus": args.corpus, "ok": True}
