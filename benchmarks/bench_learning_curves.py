"""What limits the teacher's lips: learning curves on a fixed compute budget (issue 9).

    python benchmarks/bench_learning_curves.py [--corpus data/corpus-large] [--eval-corpus data/corpus]
        [--steps 3000] [--every 6] [--jobs 2] [--only base,corpus-12min]
    python benchmarks/bench_learning_curves.py --report [--steps 3000] [--checkpoints LABEL=runs/regression]

Each variant changes one thing against ``base`` (the teacher's backbone at the default corpus size)
and trains the **regression** objective for the same number of optimizer steps: the deterministic
model is the teacher's mean network alone, the part that decides the lips, and it trains and scores
in a fraction of the teacher's time. All variants with the same frames per step (the 4 s window
halves the batch) but ``crop-clip`` (whole clips: 1.41x the frames at batch 8, 0.71x at
batch 4), seed 0, one thread each, ``--jobs`` at a time. Scored with ``dtsdk eval``'s
``identity`` system on every ``--every``-th test clip of ``--eval-corpus`` (the default corpus; the
large corpus has the same test sentences and audio, another draw of their motion).

Corpus size comes from one large corpus (``dtsdk corpus build large -o data/corpus-large``): each
speaker speaks its sentences in one fixed order until its minutes are met, so the first 4 minutes
of a 12-minute speaker are the default corpus's clips, byte for byte. A size variant keeps each
speaker's training clips in that order up to its minutes (a manifest over the same clip files, in
``runs/curves/corpora``); ``base`` trains on the default corpus itself.

Runs land in ``runs/curves/<variant>-<steps>``; a finished run is not trained again, an interrupted
one resumes from its last checkpoint. ``--report`` scores the finished runs of ``--steps`` (and the
checkpoints of longer runs named by ``--checkpoints``), keeps earlier rows, and writes the "Learning
curves" section of docs/benchmarks.md and docs/results/learning_curves.json.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_results, write_section  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "results" / "learning_curves.json"
BASE_RECIPE = REPO / "dtsdk" / "recipes" / "train" / "baseline-regression.yaml"
DEFAULT_MINUTES = 4.0  # the default corpus recipe's train_minutes

# name -> (what changes, overrides: train_minutes per speaker, recipe keys, model keys)
VARIANTS = {
    "base": ("the teacher's backbone, default corpus size (4 min a speaker)", {}),
    "corpus-2min": ("half the training speech", {"train_minutes": 2.0}),
    "corpus-8min": ("2x the training speech", {"train_minutes": 8.0}),
    "corpus-12min": ("3x the training speech", {"train_minutes": 12.0}),
    "corpus-12min-swap": ("3x the training speech + style-swapped clips (3 min a speaker)",
                          {"train_minutes": 12.0, "swapped": True}),
    "width-256": ("d_model 256 (about 3.5x the parameters)", {"model": {"denoiser": {"d_model": 256}}}),
    "depth-8": ("8 transformer layers instead of 4", {"model": {"denoiser": {"num_layers": 8}}}),
    "window-4s": ("4 s training windows, batch 4 (same frames per step)", {"window_s": 4.0, "batch_size": 4}),
    "encoder-wide": ("audio encoder 256 channels, 4 conv blocks",
                     {"model": {"encoder_config": {"dim": 256, "num_conv_layers": 4}}}),
    "encoder-whisper": ("frozen Whisper tiny encoder (plugin dtsdk-whisper)",
                        {"model": {"encoder": "whisper-tiny"}}),
    # Talker animates a sentence in one window (10 s windows): train on whole sentences too
    "crop-clip": ("whole clips up to 10 s batched by length (crop: clip), batch 8: more frames per step",
                  {"crop": "clip", "window_s": 10.0}),
    "crop-clip-b4": ("whole clips up to 10 s batched by length (crop: clip), batch 4",
                     {"crop": "clip", "window_s": 10.0, "batch_size": 4}),
}


def subset_corpus(source: Path, minutes: float, out: Path, swapped: bool = False) -> Path:
    """A corpus at ``out`` whose train split is each speaker's first ``minutes`` of natural clips, with
    pause (and, if ``swapped``, style-swapped) clips in the share the source's recipe gives them, each
    kind in its build order; other splits unchanged. The clip files are links into ``source``."""
    manifest = yaml.safe_load((source / "manifest.yaml").read_text())
    recipe = manifest["recipe"]
    share = {"natural": 1.0, "pause": recipe["pause_train_share"],
             "swapped": recipe["swapped_train_share"] if swapped else 0.0}
    budget: dict[tuple[str, str], float] = {}
    kept = []
    for clip in manifest["clips"]:
        if clip["split"] == "train":
            key = (clip["speaker"], clip["kind"])
            if budget.get(key, 0.0) >= minutes * 60 * share[key[1]]:
                continue
            budget[key] = budget.get(key, 0.0) + clip["duration_s"]
        kept.append(clip)
    manifest["clips"] = kept
    manifest["subset_of"] = {"corpus": os.fspath(source), "train_minutes": minutes, "swapped": swapped}
    out.mkdir(parents=True, exist_ok=True)
    for entry in source.iterdir():
        link = out / entry.name
        if entry.name != "manifest.yaml" and not link.exists():
            link.symlink_to(entry.resolve())
    (out / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return out


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        out[key] = _merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def recipe_for(name: str, args, corpora: Path) -> Path:
    _, change = VARIANTS[name]
    recipe = yaml.safe_load(BASE_RECIPE.read_text())
    train = recipe["train"]
    minutes, swapped = change.get("train_minutes", DEFAULT_MINUTES), change.get("swapped", False)
    folder = corpora / f"{minutes:g}min{'-swap' if swapped else ''}"
    train["corpus"] = (args.eval_corpus if (minutes, swapped) == (DEFAULT_MINUTES, False) else  # the default corpus
                       os.fspath(subset_corpus(Path(args.corpus), minutes, folder, swapped)))
    train.update({k: v for k, v in change.items() if k not in ("train_minutes", "swapped", "model")})
    train["model"] = _merge(train.get("model", {}), change.get("model", {}))
    train.update(name=f"curve-{name}", output=os.fspath(run_dir(name, args.steps)), steps=args.steps,
                 checkpoint_every=args.steps // 2, log_every=100, warmup_steps=min(200, args.steps // 10))
    path = run_dir(name, args.steps).with_suffix(".yaml")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def run_dir(name: str, steps: int) -> Path:
    return Path(f"runs/curves/{name}-{steps}")


def train_all(names, args) -> None:
    corpora = Path("runs/curves/corpora")
    pending = [n for n in names if not (run_dir(n, args.steps) / "final").is_dir()]
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    running: list[tuple[str, subprocess.Popen]] = []
    while pending or running:
        while pending and len(running) < args.jobs:
            name = pending.pop(0)
            recipe = recipe_for(name, args, corpora)
            log = open(run_dir(name, args.steps).with_suffix(".log"), "a")
            resume = sorted(run_dir(name, args.steps).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
            cmd = ["dtsdk", "train", os.fspath(recipe), "-q"] + (["--resume", os.fspath(resume[-1])] if resume else [])
            print(f"train {name}: {' '.join(cmd)}", flush=True)
            running.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)))
        time.sleep(5)
        for name, proc in list(running):
            if proc.poll() is not None:
                print(f"done {name}: rc {proc.returncode}", flush=True)
                running.remove((name, proc))


def score(run: Path, change: str, args) -> dict:
    """Scores of the model in ``run/final`` (or a ``run/checkpoint-N`` folder) and its training record."""
    from dtsdk.eval.harness import evaluate_model

    res = evaluate_model(run, args.eval_corpus, "test", systems=["identity"], num_samples=1, every=args.every)
    out = {"change": change, "num_clips": res["num_clips"], **res["systems"]["identity"]}
    summary = run.parent / "summary.json"
    if run.name == "final" and summary.is_file():
        s = json.loads(summary.read_text())
        out.update(steps=s["steps"], minutes=s["seconds"] / 60, train_loss=s["final_loss"], test_loss=s["test_loss"])
    else:
        out.update(steps=int(run.name.split("-")[1]), minutes=None, train_loss=None, test_loss=None)
    return out


def report(results: dict, args) -> None:
    def cell(value, fmt):
        return "–" if value is None else format(value, fmt)

    base = {r["steps"]: r["lve_max_l2_mm"] for key, r in results.items() if key.startswith("base-")}
    rows = "\n".join(
        f"| `{key}` | {r['change']} | {r['steps']} | {r['lve_max_l2_mm']:.4g} | "
        f"{cell(r['lve_max_l2_mm'] / base[r['steps']] if r['steps'] in base else None, '.2f')} | "
        f"{r['style_error']:.4g} | {cell(r['train_loss'], '.3f')} | {cell(r['test_loss'], '.3f')} | "
        f"{cell(r['minutes'], '.1f')} |"
        for key, r in sorted(results.items(), key=lambda kv: (kv[1]["steps"], kv[0])))
    any_row = next(iter(results.values()))
    body = f"""## Learning curves

`python benchmarks/bench_learning_curves.py --every {args.every} --report` on {machine_line()},
{time.strftime('%Y-%m-%d')}. Each `VARIANT-STEPS` row changes one thing against `base` (the teacher's
backbone on the default corpus) and trains the regression objective (the teacher's mean network alone,
the part that decides the lips) for STEPS optimizer steps of 8 x 2 s windows (the same frames per step
in every row but the `crop-clip` ones, whose whole clips give 1.41x the frames at batch 8 and 0.71x at
batch 4), seed 0, one thread per run beside other work. A `checkpoint` row is a checkpoint of a
longer run (its learning rate had not decayed yet). Scored with the `identity` system on every
{args.every}th test clip of the default corpus ({any_row['num_clips']} clips of the 24 training speakers).
"x base": LVE over `base` at the same steps. Losses: the last logged training loss and the loss on the
test split (normalised motion). One seed per row: differences under about 0.03 mm are within
run-to-run noise (not measured here).

| run | change | steps | LVE max-L2 (mm) | x base | style error | train loss | test loss | minutes |
|---|---|---|---|---|---|---|---|---|
{rows}

Raw numbers: `docs/results/learning_curves.json`.
"""
    print(body)
    write_section("learning-curves", body)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus-large", help="the large corpus the size variants subset")
    ap.add_argument("--eval-corpus", default="data/corpus")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--every", type=int, default=6)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated variants (default: all)")
    ap.add_argument("--report", action="store_true", help="score finished runs and write docs/benchmarks.md")
    ap.add_argument("--checkpoints", action="append", default=[], metavar="LABEL=RUN_DIR",
                    help="with --report: also score every checkpoint of a longer run (repeatable)")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    if not args.report:
        train_all(names, args)
        return 0
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for name in names:
        run = run_dir(name, args.steps)
        if (run / "final").is_dir():
            results[run.name] = score(run / "final", VARIANTS[name][0], args)
    for spec in args.checkpoints:  # LABEL=RUN_DIR: every checkpoint and the final model of a longer run
        label, _, folder = spec.partition("=")
        for ckpt in sorted(Path(folder).glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1])):
            results[f"{label}-{ckpt.name.split('-')[1]}"] = score(ckpt, f"{label}, checkpoint", args)
        if (Path(folder) / "final").is_dir():
            final = score(Path(folder) / "final", label, args)
            results[f"{label}-{final['steps']}"] = final
    write_results(RESULTS, results)
    report(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
