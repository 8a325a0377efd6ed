"""Style-swapped clips without TTS: who pairs with whom, the voice flag through the dataset, and the
audio-to-identity head learning only from clips whose voice is the identity's."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import yaml

from dtsdk.corpus.extras import swap_cycle, swap_voices
from dtsdk.corpus.manifest import read_manifest
from dtsdk.data import TalkingFaceDataset
from dtsdk.model import DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, PersonalizerConfig

SPEAKERS = ["t01", "t02", "t03", "t04"]
TINY = dict(objective="diffusion", parameterization="x0", default_sampler="ddim", default_steps=10,
            encoder_config={"dim": 32, "num_conv_layers": 1, "num_transformer_layers": 1, "num_heads": 2},
            denoiser=DenoiserConfig(d_model=32, num_layers=1, num_heads=2, dropout=0.0),
            personalizer=PersonalizerConfig(identity_dim=16, hidden_dim=32), diffusion_steps=50)


@pytest.mark.parametrize("n", [2, 3, 5, 24])
def test_swap_pairs_are_a_seeded_derangement(n):
    ids = [f"t{i + 1:02d}" for i in range(n)]
    assert swap_cycle(ids, 7) == swap_cycle(ids, 7) and sorted(swap_cycle(ids, 7)) == ids
    test = swap_voices(ids, 7, "test")
    assert sorted(test) == ids and all(len(v) == 1 and v[0] != s for s, v in test.items())
    assert sorted(v[0] for v in test.values()) == ids  # every voice is swapped exactly once
    everyone = swap_voices(ids, 7, "all")
    assert all(sorted(v + [s]) == ids for s, v in everyone.items())
    if n >= 3:
        disjoint = swap_voices(ids, 7, "disjoint")
        assert all(disjoint[s][0] not in (s, test[s][0]) for s in ids)
    if n >= 5:
        assert swap_cycle(ids, 8) != swap_cycle(ids, 7)


def _batch(voice_is_identity=None, B=4, T=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    batch = {"audio": 0.1 * torch.randn(B, int(T / 30 * 16000), generator=g),
             "motion": torch.rand(B, T, 52, generator=g), "mask": torch.ones(B, T, dtype=torch.bool),
             "speaker": torch.arange(B) % len(SPEAKERS)}
    if voice_is_identity is not None:
        batch["voice_is_identity"] = torch.tensor(voice_is_identity)
    return batch


def _model():
    torch.manual_seed(0)
    return DiffusionTalker(DiffusionTalkerConfig(identities=SPEAKERS, **TINY))


def _infonce(model, batch) -> float:
    return float(model.training_loss(batch, torch.Generator().manual_seed(1))["infonce"].detach())


def test_the_identity_head_never_learns_from_a_swapped_clip():
    model = _model()
    flags = [True, False, True, False]
    base = _infonce(model, _batch(flags))
    other = _batch(flags)
    other["audio"][[1, 3]] = 0.3 * torch.randn(2, other["audio"].shape[1])  # another voice on the swapped rows
    assert _infonce(model, other) == pytest.approx(base, abs=1e-6)
    # ... and it is the loss over the voice-matched rows alone.
    only = {k: v[[0, 2]] for k, v in _batch(flags).items() if k != "voice_is_identity"}
    assert _infonce(model, only) == pytest.approx(base, abs=1e-6)
    # The head gets no gradient from the swapped rows' audio.
    audio = _batch(flags)["audio"].requires_grad_(True)
    model.training_loss({**_batch(flags), "audio": audio})["infonce"].backward()
    assert audio.grad[[1, 3]].abs().max() == 0 and audio.grad[[0, 2]].abs().max() > 0


def test_a_batch_without_a_matched_clip_has_zero_infonce_and_no_nan():
    model = _model()
    parts = model.training_loss(_batch([False] * 4), torch.Generator().manual_seed(1))
    assert float(parts["infonce"].detach()) == 0.0 and torch.isfinite(parts["loss"].detach())
    parts["loss"].backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    # No flag at all (captures, old callers) is every clip matched: the loss as before.
    with torch.no_grad():
        a = model.training_loss(_batch(), torch.Generator().manual_seed(1))
        b = model.training_loss(_batch([True] * 4), torch.Generator().manual_seed(1))
    assert float(a["loss"]) == float(b["loss"]) and float(a["infonce"]) > 0


def _write_corpus(root, clips, format_version):
    import soundfile as sf

    from dtsdk.animation import Animation
    from dtsdk.rigs.arkit import ARKIT52

    folder = root / "speakers" / "t01"
    folder.mkdir(parents=True)
    for clip in clips:
        sf.write(folder / f"{clip['clip']}.wav", np.zeros(16000, np.float32), 16000, subtype="PCM_16")
        Animation(np.zeros((30, 52), np.float32), ARKIT52, 30.0, rig="arkit52").save(folder / f"{clip['clip']}.npz")
        clip.update({"split": "train", "sentence_id": 0, "text": "", "duration_s": 1.0, "frames": 30,
                     "wav": f"speakers/t01/{clip['clip']}.wav", "motion": f"speakers/t01/{clip['clip']}.npz"})
    (root / "manifest.yaml").write_text(yaml.safe_dump({"format_version": format_version, "fps": 30.0,
                                                        "clips": clips}))


def test_a_format_1_corpus_reads_with_voice_equal_to_speaker(tmp_path):
    _write_corpus(tmp_path, [{"clip": "t01_train_000", "speaker": "t01"}], 1)
    assert read_manifest(tmp_path)["format_version"] == 1
    ds = TalkingFaceDataset.from_corpus(tmp_path, "train", window_s=1.0)
    assert ds[0]["voice_is_identity"] is True


def test_the_dataset_flags_swapped_clips(tmp_path):
    _write_corpus(tmp_path, [
        {"clip": "t01_train_000", "speaker": "t01", "voice_speaker": "t01", "style_speaker": "t01", "kind": "natural"},
        {"clip": "t01_swapped_train_000", "speaker": "t01", "voice_speaker": "t02", "style_speaker": "t01",
         "kind": "swapped"}], 2)
    ds = TalkingFaceDataset.from_corpus(tmp_path, "train", window_s=1.0, speakers=["t01", "t02"])
    assert [ds[i]["voice_is_identity"] for i in range(2)] == [True, False]
    assert [ds[i]["speaker"] for i in range(2)] == [0, 0]  # the label is the style's speaker
    batch = next(iter(torch.utils.data.DataLoader(ds, batch_size=2)))
    assert batch["voice_is_identity"].dtype == torch.bool and batch["voice_is_identity"].tolist() == [True, False]
