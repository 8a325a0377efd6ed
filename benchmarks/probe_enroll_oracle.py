"""How far ONE identity embedding can take an enrolled speaker on this backbone: fit it on the judged
clips' own captures (issue 11's LVE target; a probe, it writes nothing).

    python benchmarks/probe_enroll_oracle.py --previous docs/results/bench_enroll.json [--steps 400]

Each held-out speaker is enrolled with captures from its first 3 minutes of ``enroll`` recordings plus
all of its ``heldout_test`` clips, the very clips it is then scored on (bench_enroll.py's scoring:
every clip, the model's sampler, 2 samples, seed 0). Gap closure is against the generic and upper-bound
scores of ``--previous`` (a bench_enroll.py run on the same model, corpus and scoring). An oracle
that cannot close a gap says the gap is beyond what one embedding of this frozen model can express.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_enroll  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=str(bench_enroll.REPO / "data" / "corpus"))
    parser.add_argument("--previous", required=True, help="a bench_enroll.py results JSON with an upper bound")
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args(argv)
    from dtsdk.enrollment import enroll
    from dtsdk.inference.talker import load_model

    corpus, previous = Path(args.corpus), json.loads(Path(args.previous).read_text())
    if "upper-bound" not in previous["systems"]:
        raise SystemExit(f"{args.previous}: no upper-bound system; run bench_enroll.py with --upper-bound")
    model, _ = load_model(None)
    scoring = bench_enroll.parse_args(["--every", "1", "--samples", "2"])
    scoring.speaker_list = previous["speakers"]
    names = {}
    with tempfile.TemporaryDirectory() as tmp:
        with bench_enroll.identity_store(Path(tmp) / "store"):
            for speaker in previous["speakers"]:
                folder = Path(tmp) / f"{speaker}-oracle"
                bench_enroll.enrollment_folder(corpus, speaker, 180, folder, captures=True)
                for wav in sorted((corpus / "speakers" / speaker).glob(f"{speaker}_heldout_test_*.wav")):
                    for path in (wav, wav.with_suffix(".npz")):
                        os.symlink(path.resolve(), folder / path.name)
                names[speaker] = enroll(folder, folder.name, model, steps=args.steps, seed=0).name
            oracle = bench_enroll.score(model, corpus, scoring, ["identity"], names)["identity"]
    generic, upper = previous["systems"]["generic"], previous["systems"]["upper-bound"]
    for key in ("lve_max_l2_mm", "style_error", "fdd_abs_mm2"):
        closed = bench_enroll.gap_closed(generic, oracle, upper, key)
        print(f"{key}: oracle {oracle[key]:.4f}, generic {generic[key]:.4f}, upper bound {upper[key]:.4f}"
              + ("" if closed is None else f"; gap closed {closed:.1%}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
