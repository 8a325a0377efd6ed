"""The best a deterministic model can score: the mean of many draws of the corpus generator.

    python tools/deterministic_floor.py [--corpus data/corpus] [--every 6] [--draws 16]

The corpus's motion is partly random given the audio (target jitter, blinks, brows, head). The
`resampled` system (one more draw) is the floor of a generative model; a deterministic model (the
regression baseline, a one-step sampler) at best predicts the conditional mean, which this tool
estimates as the mean of ``--draws`` draws of each test clip from its stored phones, audio and
speaker style, scored against the stored ground truth like any system (docs/metrics.md).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from dtsdk.animation import Animation
from dtsdk.corpus.manifest import read_manifest
from dtsdk.corpus.resample import resample_clip, speaker_style
from dtsdk.eval.testset import evaluate_sequences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--every", type=int, default=6, help="every N-th test clip (6: 48 clips, every speaker)")
    ap.add_argument("--draws", type=int, default=16)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    root = Path(args.corpus)
    clips = sorted((c for c in read_manifest(root)["clips"] if c["split"] == "test"), key=lambda c: c["clip"])
    styles, mean_pairs, draw_pairs = {}, [], []
    for clip in clips[::args.every]:
        style = styles.setdefault(clip["speaker"], speaker_style(root, clip["speaker"]))
        gt = Animation.load(root / clip["motion"]).arkit_weights()
        draws = resample_clip(root, clip, seed=args.seed, draws=args.draws, style=style)
        mean_pairs.append((np.mean(draws, axis=0), gt, clip["speaker"]))
        draw_pairs.append((draws[0], gt, clip["speaker"]))
    print(f"{len(mean_pairs)} test clips of {root}")
    for name, pairs in ((f"mean of {args.draws} draws (deterministic floor)", mean_pairs),
                        ("one draw (the resampled floor)", draw_pairs)):
        r = evaluate_sequences(pairs)
        print(f"{name}: LVE {r['lve_max_l2_mm']:.4f} mm, FDD abs {r['fdd_abs_mm2']:.4f} mm², "
              f"style error {r['style_error']:.4f}")


if __name__ == "__main__":
    main()
