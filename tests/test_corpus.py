"""The synthetic corpus: the tiny recipe builds, is deterministic, splits do not leak, timings fit the audio."""
import shutil

import numpy as np
import pytest

from dtsdk.corpus.build import build_corpus
from dtsdk.corpus.manifest import read_manifest, verify_checksums
from dtsdk.corpus.recipe import CorpusRecipe
from dtsdk.corpus.splits import split_sentences
from dtsdk.data import TalkingFaceDataset
from dtsdk.errors import DtsdkError


pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("flite") is None,
                                reason="the TTS engines espeak-ng and flite are not installed "
                                       "(make install-dev installs them)")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    recipe = CorpusRecipe.from_yaml("tiny")
    root = tmp_path_factory.mktemp("corpus") / "tiny"
    summary = build_corpus(recipe, root)
    return root, summary, recipe


def test_tiny_recipe_builds_every_split(tiny):
    root, summary, recipe = tiny
    manifest = read_manifest(root)
    assert manifest["synthetic"] is True and manifest["generator"].startswith("dtsdk ")
    assert summary["speakers"] == recipe.train_speakers + recipe.heldout_speakers
    for split in ("train", "test", "enroll", "heldout_test"):
        assert manifest["splits"][split]["clips"] > 0, split
    assert manifest["splits"]["train"]["speakers"] == recipe.train_speakers
    assert manifest["splits"]["enroll"]["speakers"] == recipe.heldout_speakers
    for speaker in manifest["speakers"]:
        assert (root / "speakers" / speaker["speaker"] / "speaker.yaml").is_file()
    # Each training speaker reached its minutes budget.
    for spk in (s["speaker"] for s in manifest["speakers"] if s["role"] == "train"):
        minutes = sum(c["duration_s"] for c in manifest["clips"] if c["speaker"] == spk and c["split"] == "train") / 60
        assert minutes >= recipe.train_minutes
    assert verify_checksums(root) == []


def test_no_leaks_between_splits(tiny):
    root, _, _ = tiny
    clips = read_manifest(root)["clips"]
    train_sentences = {c["sentence_id"] for c in clips if c["split"] == "train"}
    test_sentences = {c["sentence_id"] for c in clips if c["split"] in ("test", "heldout_test")}
    assert not train_sentences & test_sentences, "a test sentence was spoken in training"
    train_speakers = {c["speaker"] for c in clips if c["split"] == "train"}
    heldout_speakers = {c["speaker"] for c in clips if c["split"] in ("enroll", "heldout_test")}
    assert not train_speakers & heldout_speakers, "a held-out speaker appears in training"


def test_distinct_voices_and_styles(tiny):
    import yaml

    root, _, _ = tiny
    speakers = [yaml.safe_load(p.read_text()) for p in sorted((root / "speakers").glob("*/speaker.yaml"))]
    voices = {tuple(sorted((k, str(v)) for k, v in s["voice"].items())) for s in speakers}
    assert len(voices) == len(speakers)
    assert len(speakers[0]["style"]) >= 10
    assert len({tuple(sorted(s["style"].items())) for s in speakers}) == len(speakers)


def test_build_is_deterministic(tiny, tmp_path):
    root, _, recipe = tiny
    recipe = CorpusRecipe.from_dict({**recipe.to_dict(), "train_speakers": 2, "heldout_speakers": 1, "workers": 1})
    a = build_corpus(recipe, tmp_path / "a")
    b = build_corpus(recipe, tmp_path / "b")
    ma, mb = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    assert [c["sha256"] for c in ma["clips"]] == [c["sha256"] for c in mb["clips"]]
    assert a["clips"] == b["clips"]


def test_closures_fall_on_quiet_frames(tiny):
    """Bilabial closures (p/b/m) stop the airflow: their audio is quieter than open vowels."""
    import dtsdk

    root, _, _ = tiny
    clips = read_manifest(root)["clips"]
    closure_db, vowel_db = [], []
    for clip in clips[:30]:
        audio = dtsdk.load_audio(root / clip["wav"])
        anim = dtsdk.Animation.load(root / clip["motion"])
        for phone, start, end, _stress in anim.meta["phones"]:
            seg = audio[int(start * 16000):int(end * 16000)]
            if len(seg) < 160:
                continue
            db = 10 * np.log10(np.mean(seg**2) + 1e-10)
            if phone in ("p", "b", "m"):
                closure_db.append(db)
            elif phone in ("aa", "ae", "ao"):
                vowel_db.append(db)
    assert closure_db and vowel_db
    assert np.median(closure_db) < np.median(vowel_db) - 6


def test_dataset_windows_are_aligned(tiny):
    root, _, _ = tiny
    ds = TalkingFaceDataset.from_corpus(root, split="train", window_s=1.0, seed=0)
    item = ds[0]
    assert item["motion"].shape == (30, 52) and item["audio"].shape == (16000,)
    assert item["mask"].any()
    loader = __import__("torch").utils.data.DataLoader(ds, batch_size=4, shuffle=True)
    batch = next(iter(loader))
    assert batch["motion"].shape == (4, 30, 52) and batch["speaker"].shape == (4,)
    with pytest.raises(DtsdkError, match="unknown split"):
        TalkingFaceDataset.from_corpus(root, split="validation")


def test_sentence_split_is_disjoint_and_seeded():
    a = split_sentences(1000, 0.15, seed=3)
    b = split_sentences(1000, 0.15, seed=3)
    assert a == b and not set(a.train) & set(a.test) and len(a.test) == 150
    assert split_sentences(1000, 0.15, seed=4) != a


def test_recipe_errors_name_the_file(tmp_path):
    bad = tmp_path / "r.yaml"
    bad.write_text("corpus:\n  speakerz: 3\n")
    with pytest.raises(DtsdkError, match=r"r.yaml: unknown setting\(s\) speakerz"):
        CorpusRecipe.from_yaml(bad)
    bad.write_text("corpus: [1, 2\n")
    with pytest.raises(DtsdkError, match="not valid YAML"):
        CorpusRecipe.from_yaml(bad)


def test_builds_from_a_main_that_is_not_a_file(tmp_path):
    """`python -` (a heredoc) used to make every spawned worker die and the pool respawn forever."""
    import subprocess
    import sys

    script = (f"from dtsdk.corpus.build import build_corpus\n"
              f"from dtsdk.corpus.recipe import CorpusRecipe\n"
              f"r = CorpusRecipe.from_dict({{**CorpusRecipe.from_yaml('tiny').to_dict(),"
              f" 'train_speakers': 2, 'heldout_speakers': 0}})\n"
              f"print(build_corpus(r, {str(tmp_path / 'c')!r})['speakers'])\n")
    out = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "2"


def test_a_script_without_a_main_guard_fails_clearly_instead_of_hanging(tmp_path):
    """spawn re-runs an unguarded script in each worker; the workers die, which must end the build."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(f"from dtsdk.corpus.build import build_corpus\n"
                      f"from dtsdk.corpus.recipe import CorpusRecipe\n"
                      f"r = CorpusRecipe.from_dict({{**CorpusRecipe.from_yaml('tiny')"
                      f".to_dict(), 'train_speakers': 2, 'heldout_speakers': 0, 'workers': 2}})\n"
                      f"build_corpus(r, {str(tmp_path / 'c')!r})\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert 'if __name__ == "__main__":' in out.stderr
    assert not (tmp_path / "c").exists()  # nothing half-written
