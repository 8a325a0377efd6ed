"""benchmarks/bench_enroll.py's core (``measure`` and ``report``) on the tiny corpus with tiny untrained
models: every system, the curve, gap closure with an upper bound, targets, and no absolute paths."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench_helpers import load_benchmark, tiny_checkpoint
from dtsdk.corpus.manifest import read_manifest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_enroll")


@pytest.fixture(scope="module")
def models(tiny_corpus, tmp_path_factory):
    from dtsdk.corpus.manifest import read_manifest

    clips = read_manifest(tiny_corpus)["clips"]
    train = sorted({c["speaker"] for c in clips if c["split"] == "train"})
    heldout = sorted({c["speaker"] for c in clips if c["split"] == "heldout_test"})
    root = tmp_path_factory.mktemp("bench-enroll")
    return tiny_checkpoint(root / "model", train), tiny_checkpoint(root / "upper", heldout + train), heldout


def test_measure_and_report_with_an_upper_bound(bench, models, tiny_corpus, tmp_path):
    model, upper, heldout = models
    args = bench.parse_args([str(model), "--corpus", str(tiny_corpus), "--minutes", "0.2", "--curve", "10",
                             "--every", "1", "--sample-steps", "2", "--steps", "3", "--upper-bound", str(upper)])
    res = bench.measure(args)
    res["wall_seconds"] = 1.0
    assert res["speakers"] == heldout and res["scoring"]["steps"] == 2
    for name in ("generic", "auto", "resampled", "enrolled-audio", "enrolled-captures", "upper-bound"):
        assert res["systems"][name]["num_sequences"] == res["scoring"]["num_clips"] > 0, name
        assert set(res["systems"][name]["style_error_per_speaker"]) == set(heldout)
    assert set(res["curve"]) == {"captures", "audio"} and set(res["curve"]["captures"]) == {"10", "12"}
    assert set(res["gap_closed"]) >= {"auto", "enrolled-audio", "enrolled-captures", "curve-captures-10s"}
    assert set(res["retrieval_top1"]) == {"captures", "audio"}
    taken = res["library_voices_taken"]
    assert set(taken) == {"captures", "audio"} and all(0.0 <= v <= 1.0 for v in taken.values())
    clips = [c for c in read_manifest(tiny_corpus)["clips"] if c["split"] == "test"][::bench.LIBRARY_EVERY]
    assert clips and all(round(v * len(clips)) == v * len(clips) for v in taken.values())  # a count of clips
    text = bench.report(res)
    assert "| training voices taken |" in text
    assert "upper bound (trained on them)" in text and text.count("- [") == 5  # 2 gaps, 2 retrievals, speed
    assert "0.2 min in" in text and "(not judged: the target is for 3 min): missed" in text
    written = json.dumps(res)
    assert str(tmp_path.parent) not in written + text and str(REPO) not in written + text
    assert res["model"] == ".../model" and res["command"].endswith("--upper-bound .../upper")


def test_an_upper_bound_without_the_speakers_is_refused_before_enrolling(bench, models, tiny_corpus, monkeypatch):
    model, _, heldout = models
    monkeypatch.setattr(bench, "enroll_all", lambda *a, **k: pytest.fail("enrolled before checking"))
    args = bench.parse_args([str(model), "--corpus", str(tiny_corpus), "--upper-bound", str(model)])
    with pytest.raises(SystemExit, match=f"no identity named {heldout[0]}"):
        bench.measure(args)
