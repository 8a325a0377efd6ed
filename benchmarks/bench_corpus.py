"""Build time and disk size of a corpus recipe (default: the built-in `default`).

    python benchmarks/bench_corpus.py [RECIPE] [--keep DIR]

Writes the "Corpus build" section of docs/benchmarks.md. Target: the default recipe under
15 minutes on a 2-core machine.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_section  # noqa: E402

from dtsdk.corpus.build import build_corpus  # noqa: E402
from dtsdk.corpus.recipe import CorpusRecipe  # noqa: E402


def disk_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 1e6


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("recipe", nargs="?", default="default", help="a built-in corpus recipe name or a recipe file")
    ap.add_argument("--keep", help="build here and keep the corpus (default: a temporary folder)")
    args = ap.parse_args()
    recipe = CorpusRecipe.from_yaml(args.recipe)
    out = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dtsdk-corpus-")) / "corpus"
    t0 = time.perf_counter()
    summary = build_corpus(recipe, out, overwrite=True)
    seconds = time.perf_counter() - t0
    size = disk_mb(out)
    rows = "\n".join(f"| {s} | {v['speakers']} | {v['clips']} | {v['minutes']:.1f} |"
                     for s, v in summary["splits"].items())
    body = f"""## Corpus build

`python benchmarks/bench_corpus.py {args.recipe}` on {machine_line()}, {time.strftime('%Y-%m-%d')}.

| recipe | speakers | clips | speech (h) | build time (min) | disk (MB) |
|---|---|---|---|---|---|
| `{args.recipe}` | {summary['speakers']} | {summary['clips']} | {summary['hours']:.2f} | {seconds / 60:.1f} | {size:.0f} |

| split | speakers | clips | minutes |
|---|---|---|---|
{rows}
"""  # noqa: E501 (a markdown table row is one line)
    print(body)
    write_section("corpus", body)
    if not args.keep:
        shutil.rmtree(out.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
