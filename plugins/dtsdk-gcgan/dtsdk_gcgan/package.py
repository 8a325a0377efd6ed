"""Package a trained run as the checkpoint shipped with the plugin (maintainers).

``python -m dtsdk_gcgan.package RUN_FOLDER [--to FOLDER]`` keeps the encoders and the generator in
float16 (the critic is only for training), writes them into ``dtsdk_gcgan/checkpoints/portrait-SIZE/``
(SIZE: the model's image size) with config.json (model config, recipe, measured training time) and
a short model card.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from dtsdk_gcgan.shipped import CHECKPOINT_DIR

CARD = """# dtsdk-gcgan {name}

A GC-GAN (arXiv 1802.01822, written fresh in torch) at {size}x{size} px, trained by the recipe stored
in config.json ({steps} steps, {seconds:.0f} s of wall time on one CPU thread, data generation included)
on {people} synthetic people x {per} expressions: renders of dtsdk's procedural dtface head, no
photographs. Encoders and generator only, float16 safetensors; the critic is not shipped.
It draws dtface-like renders; on photographs it is out of its training domain (see the plugin README).
"""


def package(run: str | Path, to: str | Path | None = None) -> Path:
    """``run`` packaged into ``to`` (default: ``checkpoints/portrait-SIZE`` of this package)."""
    from dtsdk_gcgan.train import load_checkpoint, save_checkpoint

    run = Path(run)
    saved = json.loads((run / "config.json").read_text(encoding="utf-8"))
    model = load_checkpoint(run)
    size = model.config.image_size
    to = Path(to) if to is not None else CHECKPOINT_DIR / f"portrait-{size}"
    folder = save_checkpoint(model, to, inference_only=True, trained=saved.get("trained"))
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    config["recipe"] = saved.get("recipe")
    (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    trained, data = saved.get("trained", {}), (saved.get("recipe") or {}).get("data", {})
    card = CARD.format(name=folder.name, size=size, steps=trained.get("steps", "?"),
                       seconds=trained.get("seconds", 0), people=data.get("identities", "?"),
                       per=data.get("expressions_per_identity", "?"))
    (folder / "README.md").write_text(card, encoding="utf-8")
    return folder


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dtsdk_gcgan.package", description=__doc__.splitlines()[0])
    parser.add_argument("run")
    parser.add_argument("--to", help="the checkpoint folder (default: this package's checkpoints/portrait-SIZE)")
    args = parser.parse_args(argv)
    print(package(args.run, args.to))


if __name__ == "__main__":
    main()
