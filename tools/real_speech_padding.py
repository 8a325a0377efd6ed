"""How digital silence around a real recording moves bench_real_speech's lip scores.

    python tools/real_speech_padding.py MODEL [MODEL ...] [--pads 0,0.5,1.5] [--seed 0]

Each of bench_real_speech.py's recordings is animated with ``--pads`` seconds of zeros before and
after it (its aligned phones shifted to match), ``auto`` identity, one seed; printed per model and
pad: the share of p/b/m that close, the mean bilabial gap and the open-vowel opening (mm). A model
whose closures rise while its openings fall with the padding is moving its mouth less, not
articulating better (docs/default-model.md, "What limits the lips").
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
from bench_real_speech import DATA, real_speech, score  # noqa: E402

from dtsdk.eval.articulation import CLOSED_GAP_MM  # noqa: E402


def padded(recording: dict, pad_s: float) -> tuple[np.ndarray, dict]:
    zeros = np.zeros(int(round(pad_s * recording["sr"])), np.float32)
    samples = np.concatenate([zeros, np.asarray(recording["samples"], np.float32), zeros])
    phones = [(phone, start + pad_s, end + pad_s) for phone, start, end in recording["phones"]]
    return samples, dict(recording, phones=phones)


def main(argv=None) -> None:
    from dtsdk.inference import Talker

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--pads", default="0,0.5,1.5", help="comma-separated seconds of silence on each side")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args(argv)
    real = real_speech(args.data)
    print("| model | silence each side (s) | p/b/m closed | bilabial gap mm | opening mm |\n|---|---|---|---|---|")
    for model in args.models:
        talker = Talker(model)
        for pad in (float(p) for p in args.pads.split(",")):
            pairs = [padded(r, pad) for r in real]
            anims = [talker.animate(s, sr=r["sr"], seed=args.seed, identity="auto") for s, r in pairs]
            s = score(anims, [r for _, r in pairs], CLOSED_GAP_MM)
            print(f"| {model} | {pad:g} | {s['closure_rate']:.0%} | {s['bilabial_gap_mm']:.2f} | "
                  f"{s['open_vowel_opening_mm']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
