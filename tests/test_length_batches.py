"""Whole-clip training batches (recipe ``crop: clip``; ``crop: span``): clips of similar length, no padding."""
from __future__ import annotations

import numpy as np
import pytest

from dtsdk.animation import Animation
from dtsdk.data import Clip, LengthBatchSampler, TalkingFaceDataset


def synthetic_dataset(seconds: list[float], fps: float = 30.0) -> TalkingFaceDataset:
    """Clips whose motion channel 0 counts frames and whose audio counts samples, to check alignment."""
    def clip(k: int, duration: float) -> Clip:
        frames = int(round(duration * fps))
        weights = np.zeros((frames, 52), np.float32)
        weights[:, 0] = np.arange(frames)
        audio = np.arange(int(round(duration * 16000)), dtype=np.float32)
        return Clip(f"c{k}", "t01", lambda: (audio, Animation(weights, (), fps)), duration)

    return TalkingFaceDataset([clip(k, s) for k, s in enumerate(seconds)], window_s=10.0, fps=fps)


@pytest.fixture
def mixed():
    rng = np.random.default_rng(0)
    return synthetic_dataset(list(rng.uniform(1.0, 14.0, size=203)))


def test_every_clip_once_per_epoch_each_batch_cropped_to_its_shortest_clip(mixed):
    sampler = LengthBatchSampler(mixed, batch_size=4, max_frames=300, seed=0, pool=5)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 203 // 4
    seen = [i for batch in batches for i, _ in batch]
    assert len(seen) == len(set(seen)) == 200  # drop_last: three clips wait for another epoch
    for batch in batches:
        frames = {f for _, f in batch}
        assert len(frames) == 1  # one length per batch
        assert frames.pop() == min(300, *(mixed.clip_frames(i) for i, _ in batch))
    spread = np.mean([np.ptp([mixed.clip_frames(i) for i, _ in b]) for b in batches])
    assert spread < 0.25 * np.ptp([mixed.clip_frames(i) for i in range(len(mixed))])  # similar lengths together


def test_batches_are_seeded_change_with_the_epoch_and_split_across_ranks(mixed):
    a, b = (LengthBatchSampler(mixed, 4, 300, seed=1) for _ in range(2))
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    ranks = [LengthBatchSampler(mixed, 4, 300, seed=1, num_replicas=2, rank=r) for r in (0, 1)]
    shares = [[i for batch in r for i, _ in batch] for r in ranks]
    assert len(list(ranks[0])) == len(list(ranks[1])) == len(ranks[0])  # the same number of steps
    assert not set(shares[0]) & set(shares[1])


def test_a_whole_clip_item_is_aligned_and_unpadded(mixed):
    sampler = LengthBatchSampler(mixed, 4, 300, seed=0)
    for key in next(iter(sampler)):
        item = mixed[key]
        frames = key[1]
        assert item["motion"].shape == (frames, 52) and bool(item["mask"].all())
        start = int(item["motion"][0, 0])  # channel 0 counts frames: where the crop begins
        assert np.array_equal(item["motion"][:, 0].numpy(), np.arange(start, start + frames))
        assert item["audio"].shape == (int(round(frames * 16000 / 30)),)
        assert int(item["audio"][0]) == int(round(start * 16000 / 30))  # audio starts with the motion


def test_evaluation_batches_keep_every_clip(mixed):
    keys = [i for batch in LengthBatchSampler(mixed, 4, 300, drop_last=False) for i, _ in batch]
    assert sorted(keys) == list(range(203))


def test_span_batches_draw_a_length_between_the_minimum_and_the_shortest_clip(mixed):
    whole = list(LengthBatchSampler(mixed, 4, 300, seed=2))
    span = LengthBatchSampler(mixed, 4, 300, seed=2, min_frames=45)
    drawn = list(span)
    assert [[i for i, _ in b] for b in drawn] == [[i for i, _ in b] for b in whole]  # the same clips
    lengths = []
    for got, cap in zip(drawn, whole):
        frames, limit = got[0][1], cap[0][1]
        assert {f for _, f in got} == {frames}
        assert min(45, limit) <= frames <= limit
        lengths.append((frames, limit))
    assert np.mean([f < cap for f, cap in lengths]) > 0.8  # mostly shorter than the whole clip
    assert len({f for f, _ in lengths}) > 20  # and spread, not one length
    ranks = [list(LengthBatchSampler(mixed, 4, 300, seed=2, min_frames=45, num_replicas=2, rank=r)) for r in (0, 1)]
    assert [b for pair in zip(*ranks) for b in pair] == drawn[:len(ranks[0]) * 2]  # ranks share the draws
    items = [mixed[key] for key in drawn[0]]
    starts = [int(item["motion"][0, 0]) for item in items]
    assert all(item["motion"].shape[0] == drawn[0][0][1] and bool(item["mask"].all()) for item in items)
    assert any(s > 0 for s in starts)  # random offsets: crops need not begin at the clip's start
