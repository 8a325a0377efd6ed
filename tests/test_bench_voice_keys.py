"""benchmarks/bench_voice_keys.py on the tiny corpus with a tiny untrained model: every kind of key and
margin is scored on both sets of clips, the rule's choice obeys the rule, the margin and the keys do
what they say, and no absolute paths are written."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from bench_helpers import load_benchmark, tiny_checkpoint

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_voice_keys")


def test_measure_scores_every_key_and_margin_and_chooses_by_the_rule(bench, tiny_corpus, tmp_path):
    from dtsdk.corpus.manifest import read_manifest

    train = sorted({c["speaker"] for c in read_manifest(tiny_corpus)["clips"] if c["split"] == "train"})
    model = tiny_checkpoint(tmp_path / "model", train)
    args = bench.parse_args([str(model), "--corpus", str(tiny_corpus), "--minutes", "0.17"])  # 4 of the 5 clips
    res = bench.measure(args)
    assert len(res["rows"]) == len(bench.KEYS) * len(bench.MARGINS)
    for row in res["rows"]:
        for part in ("tune", "judged"):
            assert row[part]["clips"] > 0 and row[part]["voices"] > 0
            assert 0 <= row[part]["found"] <= 1 and 0 <= row[part]["taken"] <= 1
    pick = (res["chosen"]["keys"], res["chosen"]["margin"])
    chosen = next(r for r in res["rows"] if (r["keys"], r["margin"]) == pick)
    allowed = [r for r in res["rows"] if r["tune"]["taken"] <= bench.MAX_TAKEN]
    if allowed:
        assert chosen in allowed and chosen["tune"]["found"] == max(r["tune"]["found"] for r in allowed)
    else:
        assert chosen["tune"]["taken"] == min(r["tune"]["taken"] for r in res["rows"])
    text = bench.report(res)
    assert text.count("**(chosen)**") == 1 and "margin 0.12" in text
    written = json.dumps(res) + text
    assert str(tmp_path) not in written and str(REPO) not in written and res["model"] == ".../model"


def test_picks_need_the_margin_and_take_the_closest_key(bench):
    bank = torch.eye(3)[:2]  # two library identities along x and y
    voice = F.normalize(torch.tensor([0.6, 0.0, 0.8]), dim=0)  # cos 0.6 to x
    near = F.normalize(torch.tensor([0.5, 0.0, 0.9]), dim=0)  # cos ~0.995 to the voice
    keys = {"me": torch.stack([torch.tensor([0.0, -1.0, 0.0]), near])}
    assert bench.picks([voice], bank, keys, margin=0.1) == ["me"]  # its second key counts
    assert bench.picks([voice], bank, keys, margin=0.5) == [None]  # 0.995 does not beat 0.6 by 0.5
    assert bench.picks([torch.tensor([1.0, 0.0, 0.0])], bank, keys, margin=0.0) == [None]  # the library's own


def test_the_rule_keeps_to_the_ceiling_then_finds_the_most(bench):
    def row(name, found, taken):
        return {"keys": name, "margin": 0.0, "tune": {"found": found, "taken": taken}}

    rows = [row("greedy", 0.99, 0.20), row("good", 0.95, 0.04), row("tied", 0.95, 0.03), row("shy", 0.80, 0.0)]
    assert bench.choose(rows)["keys"] == "tied"
    assert bench.choose([row("greedy", 0.99, 0.20), row("less", 0.5, 0.10)])["keys"] == "less"


def test_spherical_kmeans_finds_two_groups(bench):
    generator = torch.Generator().manual_seed(0)
    a = F.normalize(torch.tensor([1.0, 0, 0]) + 0.05 * torch.randn(20, 3, generator=generator), dim=-1)
    b = F.normalize(torch.tensor([0, 1.0, 0]) + 0.05 * torch.randn(20, 3, generator=generator), dim=-1)
    centres = bench.spherical_kmeans(torch.cat([a, b]), 2)
    torch.testing.assert_close(centres.norm(dim=-1), torch.ones(2))
    assert sorted(centres.argmax(dim=-1).tolist()) == [0, 1]
