"""Lips on real recorded speech, not TTS (issue 9): closures on p/b/m, openings on open vowels.

    apt-get install pocketsphinx-testdata     # the recordings (Debian, BSD-2 licence)
    pip install 'dtsdk[bench]'                # pocketsphinx 5, the offline forced aligner
    python benchmarks/bench_real_speech.py [--model PATH --label NAME]... [--corpus DIR | --no-corpus]

The model is trained on TTS voices only; this checks that it still animates people. Each recording
of :data:`RECORDINGS` (about 37 s of human speech read from the installed Debian package, nothing
copied into the repo) is aligned to its known transcript with pocketsphinx (phone timings,
ARPAbet), animated with seeds 0..N-1 (``--seeds``, default 3; the scores pool them, and the
closure rate of each seed shows the spread) with identity ``auto`` and with the null identity, and scored
with ``dtsdk.eval.articulation`` (the lip gap between the inner-lip centres of the dtface mesh;
definitions in its docstring and docs/metrics.md). For context the same scores are taken on the
test clips of a tiny synthetic corpus (built into a temporary folder unless ``--corpus`` names
one), for the model and for the corpus' own motion.

``--model`` may be repeated, each with a ``--label`` (default: the packaged model, label
``default``). Results merge by label into docs/results/bench_real_speech.json, so a rerun after
retraining (``--model runs/teacher/final --label new``) keeps the earlier rows; the "Real recorded
speech" section of docs/benchmarks.md shows every label there, with its date.
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before torch loads; training may share the CPUs

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_results, write_section  # noqa: E402

from dtsdk.errors import DtsdkError  # noqa: E402
from dtsdk.eval.articulation import (CLOSED_GAP_MM, articulation_summary, bilabial_gaps_mm, lip_gap_mm,  # noqa: E402
                                     open_vowel_openings_mm)

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "docs" / "results" / "bench_real_speech.json"
DEFAULT_MODEL = REPO / "dtsdk" / "models" / "default"
DATA = Path("/usr/share/pocketsphinx/test/data")  # Debian's pocketsphinx-testdata
SOURCE = ("Debian package `pocketsphinx-testdata` (0.8+5prealpha+1; licence BSD-2, CMU, per its "
          "/usr/share/doc/pocketsphinx-testdata/copyright), the test audio of CMU Sphinx")
# (file under DATA, transcript, who speaks). The transcripts are the package's own
# (librivox/transcription, cards/cards.transcription; goforward's is its grammar's sentence).
LIBRIVOX = "LibriVox reader, Sense and Sensibility ch. 1 (LibriVox recordings are public domain)"
CARDS, GOFORWARD = "CMU Sphinx test speaker (card names)", "CMU Sphinx test speaker (goforward)"
RECORDINGS = (
    ("librivox/sense_and_sensibility_01_austen_64kb-0870.wav", "and mister john dashwood had then leisure to "
     "consider how much there might be prudently in his power to do for them", LIBRIVOX),
    ("librivox/sense_and_sensibility_01_austen_64kb-0880.wav", "he was not an ill disposed young man", LIBRIVOX),
    ("librivox/sense_and_sensibility_01_austen_64kb-0890.wav", "unless to be rather cold hearted and rather "
     "selfish is to be ill disposed", LIBRIVOX),
    ("librivox/sense_and_sensibility_01_austen_64kb-0920.wav", "had he married a more a amiable woman he might "
     "have been made still more respectable than he was", LIBRIVOX),
    ("librivox/sense_and_sensibility_01_austen_64kb-0930.wav", "he might even have been made amiable himself",
     LIBRIVOX),
    ("cards/001.wav", "ten of clubs", CARDS),
    ("cards/002.wav", "four queen of clubs", CARDS),
    ("cards/003.wav", "seven of clubs", CARDS),
    ("cards/004.wav", "five five", CARDS),
    ("cards/005.wav", "eight of spades four of clubs seven of hearts", CARDS),
    ("goforward.raw", "go forward ten meters", GOFORWARD),  # headerless 16 kHz 16-bit mono
)
IDENTITIES = (("auto", "auto"), ("null", None))


def read_recording(path: Path) -> tuple[np.ndarray, int]:
    """(samples, rate): a .raw file is CMU Sphinx's headerless 16 kHz little-endian int16 mono."""
    if path.suffix == ".raw":
        return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0, 16000
    import soundfile as sf

    samples, rate = sf.read(path, dtype="float32")
    return samples, rate


def real_speech(data: Path) -> list[dict]:
    """Each recording with its samples and its forced-aligned phones."""
    from dtsdk.eval.alignment import align_phones

    missing = [f for f, _, _ in RECORDINGS if not (data / f).is_file()]
    if missing:
        raise DtsdkError(f"{data}: {len(missing)} recordings missing ({missing[0]}, ...); "
                         "apt-get install pocketsphinx-testdata, or pass --data")
    items = []
    for name, text, speaker in RECORDINGS:
        samples, rate = read_recording(data / name)
        items.append({"name": name, "text": text, "speaker": speaker, "samples": samples, "sr": rate,
                      "seconds": len(samples) / rate, "phones": align_phones(samples, text, sr=rate)})
    return items


def synthetic_clips(corpus: Path) -> list[dict]:
    """The natural test and held-out test clips of a corpus, with their phones and motion."""
    from dtsdk.animation import Animation
    from dtsdk.corpus.manifest import read_manifest

    manifest = read_manifest(corpus)
    items = []
    for clip in sorted(manifest["clips"], key=lambda c: c["clip"]):
        if clip["split"] in ("test", "heldout_test") and clip.get("kind", "natural") == "natural":
            motion = Animation.load(corpus / clip["motion"])
            items.append({"name": clip["clip"], "audio": corpus / clip["wav"], "seconds": clip["duration_s"],
                          "text": clip["text"], "phones": motion.meta["phones"], "motion": motion})
    return items


def aligner_check(synthetic: list[dict], closed_gap_mm: float) -> dict:
    """The corpus' own motion scored on the aligner's phones instead of the TTS engine's: what the
    forced alignment alone costs the scores (clips the aligner cannot place are left out)."""
    from dtsdk.eval.alignment import align_phones

    aligned = []
    for s in synthetic:
        try:
            aligned.append(dict(s, phones=align_phones(s["audio"], s["text"])))
        except DtsdkError as exc:
            print(f"aligner check: {s['name']} left out: {exc}", file=sys.stderr)
    return dict(score([s["motion"] for s in aligned], aligned, closed_gap_mm), clips=len(aligned))


def per_phone(animations: list, items: list[dict]) -> list[dict]:
    """Per item: the minimum gap of each of its p/b/m phones and the maximum of each open vowel, mm."""
    out = []
    for anim, item in zip(animations, items):
        gap = lip_gap_mm(anim)  # (T,) mm
        out.append({"name": item["name"], "bilabial_gaps_mm": bilabial_gaps_mm(gap, item["phones"], anim.fps),
                    "openings_mm": open_vowel_openings_mm(gap, item["phones"], anim.fps)})
    return out


def score(animations: list, items: list[dict], closed_gap_mm: float) -> dict:
    """Pooled articulation scores of ``animations`` (one per item, 30 fps or whatever they carry)."""
    phones = per_phone(animations, items)
    return articulation_summary(np.concatenate([p["bilabial_gaps_mm"] for p in phones]),
                                np.concatenate([p["openings_mm"] for p in phones]), closed_gap_mm)


def score_model(path: Path, real: list[dict], synthetic: list[dict], closed_gap_mm: float, seeds: int) -> dict:
    from dtsdk.inference import Talker

    talker = Talker(str(path))
    weights = path / "model.safetensors"
    out = {"model": str(path.resolve().relative_to(REPO) if path.resolve().is_relative_to(REPO) else path),
           "model_sha256": hashlib.sha256(weights.read_bytes()).hexdigest()[:12] if weights.is_file() else None,
           "date": datetime.date.today().isoformat(), "sampler": talker.sampler, "steps": talker.steps,
           "seeds": seeds, "real": {}, "synthetic": {}}
    for key, identity in IDENTITIES:
        try:
            runs = [[talker.animate(r["samples"], sr=r["sr"], seed=seed, identity=identity) for r in real]
                    for seed in range(seeds)]
        except DtsdkError as exc:  # a generic model refuses "auto"
            out["real"][key] = {"skipped": str(exc)}
            continue
        out["real"][key] = score([a for anims in runs for a in anims], real * seeds, closed_gap_mm)
        out["real"][key]["closure_rate_per_seed"] = [score(anims, real, closed_gap_mm)["closure_rate"]
                                                     for anims in runs]
        out["real"][key]["matched"] = sorted({a.meta["identity"] for a in runs[0] if a.meta.get("identity")})
        out["real"][key]["seed0_per_recording"] = [  # for looking into a change: which phones moved
            {"name": p["name"], "bilabial_gaps_mm": np.round(p["bilabial_gaps_mm"], 3).tolist(),
             "openings_mm": np.round(p["openings_mm"], 3).tolist()} for p in per_phone(runs[0], real)]
        if synthetic:
            anims = [talker.animate(s["audio"], seed=0, identity=identity) for s in synthetic]
            out["synthetic"][key] = score(anims, synthetic, closed_gap_mm)
    return out


ROW_KEYS = ("closure_rate", "bilabial_gap_mm", "open_vowel_opening_mm", "opening_to_gap_ratio")


def _row(label: str, speech: str, s: dict) -> str:
    if "skipped" in s:
        return f"| {label} | {speech} | skipped: {s['skipped']} ||||||"
    per_seed = s.get("closure_rate_per_seed", [])
    count = max(len(per_seed), 1)
    spread = f"{min(per_seed):.0%}–{max(per_seed):.0%}" if count > 1 else "–"
    seeds = f" × {count}" if count > 1 else ""
    return (f"| {label} | {speech} | {s['num_bilabials'] // count}{seeds} | {s['closure_rate']:.0%} | {spread} | "
            f"{s['bilabial_gap_mm']:.2f} | {s['num_open_vowels'] // count}{seeds} | "
            f"{s['open_vowel_opening_mm']:.2f} | {s['opening_to_gap_ratio']:.1f} |")


def _synthetic_line(synthetic: dict | None) -> str:
    if not synthetic:
        return "- synthetic: not run (--no-corpus)"
    return (f"- synthetic: the natural test and held-out test clips of `{synthetic['corpus']}`, {synthetic['clips']} "
            f"clips, {synthetic['seconds']:.1f} s of TTS voices, for context (the tiny recipe's voices and sentences "
            "may overlap the training corpus'); `corpus motion` is the articulation model's own motion on them, "
            "the reference, scored on the TTS engines' phone timings and on the aligner's (what the alignment "
            "alone costs)")


def section(results: dict) -> str:
    real = results["real_speech"]
    speakers = sorted({r["speaker"] for r in real["recordings"]})
    lines = [
        "## Real recorded speech", "",
        "Lip closures on p/b/m and openings on open vowels on human recordings, not TTS (issue 9: a model "
        "that fits the synthetic voices better but real voices worse is not an improvement). Written by "
        "`benchmarks/bench_real_speech.py`; install `apt-get install pocketsphinx-testdata` and "
        "`pip install 'dtsdk[bench]'` first.", "",
        f"- data: {SOURCE}: {len(real['recordings'])} utterances, {real['seconds']:.1f} s, "
        f"{len(speakers)} recording sets ({'; '.join(speakers)}); all adult male voices by pitch",
        "- phone timings: forced alignment of the package's transcripts with pocketsphinx "
        f"{real['aligner_version']} (en-us model, CMU dictionary, offline, 10 ms frames)",
        "- lip gap: vertical distance in mm between the inner-lip centres (iBUG-68 points 62/66) of the "
        "dtface mesh decoded from the ARKit weights, clamped at 0; rest pose 0.8 mm",
        f"- closure rate: share of p/b/m phones whose minimum gap is <= {results['closed_gap_mm']} mm; opening: "
        "max gap during aa ae ao aw ay; ratio: mean opening / max(mean bilabial gap, 0.1 mm); each phone "
        "widened by 40 ms a side for the aligner's error (`dtsdk/eval/articulation.py`, docs/metrics.md)",
        _synthetic_line(results.get("synthetic")),
        "- every model: its default sampler; real speech pooled over seeds 0..N-1 (p/b/m and open vowels "
        "counted once per seed (× N); `closed per seed` is the range of the seeds' closure rates, the noise a "
        "comparison has to beat), synthetic seed 0; `auto` matches an identity to the voice, `null` is "
        "the null (generic) identity", "",
        "| model | speech, identity | p/b/m | closed | closed per seed | bilabial gap mm | open vowels | opening mm "
        "| ratio |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    if results.get("synthetic", {}).get("corpus_motion"):
        lines.append(_row("corpus motion (reference)", "synthetic", results["synthetic"]["corpus_motion"]))
        lines.append(_row("corpus motion, aligner's phones", "synthetic",
                          results["synthetic"]["corpus_motion_aligned"]))
    notes = []
    for label, m in results["models"].items():
        for key, _ in IDENTITIES:
            lines.append(_row(label, f"real, {key}", m["real"][key]))
        for key, _ in IDENTITIES:
            if key in m["synthetic"]:
                lines.append(_row(label, f"synthetic, {key}", m["synthetic"][key]))
        matched = m["real"].get("auto", {}).get("matched")
        notes.append(f"`{label}`: `{m['model']}` (safetensors sha256 {m['model_sha256']}), {m['sampler']} "
                     f"{m['steps']} steps, seeds 0..{m['seeds'] - 1}, run {m['date']} on {m['machine']} "
                     f"in {m['seconds']:.0f} s"
                     + (f"; `auto` matched {', '.join(matched)} on the real voices" if matched else ""))
    lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", action="append", type=Path, help="model folder (repeat); default the packaged one")
    p.add_argument("--label", action="append", help="a label per --model, in order (default: the folder name)")
    p.add_argument("--data", type=Path, default=DATA, help="pocketsphinx-testdata's data folder")
    p.add_argument("--corpus", type=Path, help="a corpus for the synthetic rows (default: build tiny in a temp dir)")
    p.add_argument("--no-corpus", action="store_true", help="skip the synthetic rows")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 on the real speech (default 3)")
    p.add_argument("--closed-gap-mm", type=float, default=CLOSED_GAP_MM)
    p.add_argument("--no-write", action="store_true", help="print the section; leave docs/ alone")
    args = p.parse_args(argv)

    models = args.model or [DEFAULT_MODEL]
    labels = list(args.label or []) or (["default"] if not args.model else [])
    labels += [m.name if m.name != "final" else m.parent.name for m in models[len(labels):]]
    start = time.time()
    real = real_speech(args.data)
    from importlib.metadata import version

    previous = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    if previous.get("closed_gap_mm", args.closed_gap_mm) != args.closed_gap_mm:
        previous = {}  # rows scored with another threshold do not compare
    results = {
        "closed_gap_mm": args.closed_gap_mm,
        "real_speech": {"source": SOURCE, "aligner_version": version("pocketsphinx"),
                        "seconds": sum(r["seconds"] for r in real),
                        "recordings": [{k: r[k] for k in ("name", "text", "speaker", "seconds", "phones")}
                                       for r in real]},
        "synthetic": previous.get("synthetic", {}), "models": previous.get("models", {}),
    }
    synthetic = []
    if not args.no_corpus:
        with tempfile.TemporaryDirectory() as tmp:
            corpus = args.corpus
            if corpus is None:
                from dtsdk.corpus.build import build_corpus
                from dtsdk.corpus.recipe import CorpusRecipe

                corpus = Path(tmp) / "tiny"
                build_corpus(CorpusRecipe.from_yaml("tiny"), corpus)
            synthetic = synthetic_clips(corpus)
            for s in synthetic:  # the audio is read before the temp folder goes
                s["audio"] = s["audio"].read_bytes()
            results["synthetic"] = {
                "corpus": str(args.corpus or "dtsdk corpus build tiny"), "clips": len(synthetic),
                "seconds": sum(s["seconds"] for s in synthetic),
                "corpus_motion": score([s["motion"] for s in synthetic], synthetic, args.closed_gap_mm),
                "corpus_motion_aligned": aligner_check(synthetic, args.closed_gap_mm)}
    for path, label in zip(models, labels):
        t0 = time.time()
        row = score_model(path, real, synthetic, args.closed_gap_mm, args.seeds)
        row.update(seconds=time.time() - t0, machine=machine_line())
        results["models"][label] = row
        print(f"{label}: {json.dumps({k: v for k, v in row.items() if k in ('real', 'synthetic')})}",
              file=sys.stderr)
    text = section(results)
    if args.no_write:
        print(text)
    else:
        write_results(RESULTS, results, indent=1)
        print(f"wrote {write_section('real_speech', text)} and {RESULTS} in {time.time() - start:.0f} s",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
