"""Enrollment speed and recognition on a held-out speaker (issue 11; the quality half comes with the teacher).

    python benchmarks/bench_enroll.py [MODEL] [--corpus data/corpus] [--speaker h01] [--minutes 3]
        [--steps 100] [--seed 0]

Enrolls the first ``--minutes`` of the held-out speaker's ``enroll`` split twice, with its captures
(the npz beside each wav) and from the audio alone, into a temporary identity store (the user's is
not touched), timing each. Then ``identity="auto"`` is matched on the ``heldout_test`` clips of every
held-out speaker with the enrolled identities among the candidates: how often the enrolled speaker's
own clips pick it, and how often other speakers' clips do (false matches). Writes
docs/results/bench_enroll.json. MODEL defaults to the packaged default model.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line  # noqa: E402

from dtsdk.utils.atomic import atomic_open  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "results" / "bench_enroll.json"


def enrollment_folders(corpus: Path, speaker: str, minutes: float, root: Path) -> tuple[Path, Path, float]:
    """Links to the first ``minutes`` of the speaker's enroll clips: one folder with captures, one without."""
    with_captures, audio_only = root / "captures", root / "audio"
    with_captures.mkdir()
    audio_only.mkdir()
    total = 0.0
    for wav in sorted((corpus / "speakers" / speaker).glob(f"{speaker}_enroll_*.wav")):
        if total >= minutes * 60:
            break
        total += sf.info(str(wav)).duration
        for folder in (with_captures, audio_only):
            os.symlink(wav.resolve(), folder / wav.name)
        os.symlink(wav.with_suffix(".npz").resolve(), with_captures / wav.with_suffix(".npz").name)
    return with_captures, audio_only, total


def auto_matches(model, corpus: Path, speakers: list[str]) -> dict:
    """speaker -> {chosen identity: clips} for "auto" on each speaker's heldout_test clips."""
    from dtsdk.audio import load_audio
    from dtsdk.identities import match_identity

    picks = {}
    for speaker in speakers:
        counts = collections.Counter()
        for wav in sorted((corpus / "speakers" / speaker).glob(f"{speaker}_heldout_test_*.wav")):
            wave = torch.from_numpy(load_audio(wav, sr=model.config.sample_rate))[None]  # (1, S)
            frames = max(1, round(wave.shape[1] / model.config.sample_rate * model.config.fps))
            with torch.no_grad():
                counts[match_identity(model, model.encoder(wave, frames))[0].name] += 1
        picks[speaker] = dict(counts.most_common())
    return picks


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="checkpoint folder (default: the packaged default model)")
    parser.add_argument("--corpus", default=str(REPO / "data" / "corpus"))
    parser.add_argument("--speaker", default="h01", help="the held-out speaker to enroll")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--steps", type=int, default=None, help="optimiser steps (default: enrollment's)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from dtsdk.enrollment import enroll
    from dtsdk.inference.talker import load_model

    corpus = Path(args.corpus)
    model, label = load_model(args.model)
    heldout = sorted(p.name for p in (corpus / "speakers").iterdir() if p.name.startswith("h"))
    results = {"machine": machine_line(), "threads": torch.get_num_threads(), "model": str(label),
               "speaker": args.speaker, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DTSDK_HOME"] = str(Path(tmp) / "home")  # a throwaway store, never the user's
        with_captures, audio_only, seconds = enrollment_folders(corpus, args.speaker, args.minutes, Path(tmp))
        for mode, folder in (("captures", with_captures), ("audio-only", audio_only)):
            name = f"{args.speaker}-{mode}"
            started = time.perf_counter()
            result = enroll(folder, name, model, steps=args.steps, seed=args.seed)
            results["runs"][mode] = {"name": name, "seconds_of_audio": round(seconds, 1),
                                     "wall_seconds": round(time.perf_counter() - started, 2), **result.metrics}
        results["auto"] = auto_matches(model, corpus, heldout)
    for mode, run in results["runs"].items():
        print(f"{mode:>10}: {run['seconds_of_audio']:.0f} s of audio enrolled in {run['wall_seconds']:.1f} s "
              f"(encode {run['encode_seconds']:.1f} s, fit {run['fit_seconds']:.1f} s)")
    for speaker, picks in results["auto"].items():
        print(f"auto on {speaker}'s heldout_test clips: {picks}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(RESULTS, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
