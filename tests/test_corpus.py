"""The synthetic corpus: the tiny recipe builds, is deterministic, splits do not leak, timings fit the audio."""
import shutil
from pathlib import Path

import numpy as np
import pytest

from dtsdk.corpus.build import build_corpus
from dtsdk.corpus.manifest import read_manifest, verify_checksums
from dtsdk.corpus.recipe import CorpusRecipe
from dtsdk.corpus.sentences import load_sentences
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


def _assert_no_leaks(clips, recipe):
    pools = split_sentences(len(load_sentences()), recipe.test_sentence_fraction, recipe.seed)
    spoken = [c for c in clips if c["sentence_id"] >= 0]  # -1: a silence-only clip
    train_sentences = {c["sentence_id"] for c in spoken if c["split"] in ("train", "enroll")}
    test_sentences = {c["sentence_id"] for c in spoken if c["split"] in ("test", "heldout_test", "swapped_test",
                                                                         "pause_test")}
    assert not train_sentences & test_sentences, "a test sentence was spoken in training"
    assert train_sentences <= set(pools.train) and test_sentences <= set(pools.test)
    heldout = {c["speaker"] for c in clips if c["split"] in ("enroll", "heldout_test")}
    others = [c for c in clips if c["split"] not in ("enroll", "heldout_test")]
    for field in ("speaker", "voice_speaker", "style_speaker"):
        assert not {c[field] for c in others} & heldout, f"a held-out speaker appears as {field} outside its splits"


def test_no_leaks_between_splits(tiny):
    root, _, recipe = tiny
    _assert_no_leaks(read_manifest(root)["clips"], recipe)


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
    recipe = CorpusRecipe.from_dict({**recipe.to_dict(), "train_speakers": 2, "heldout_speakers": 1, "workers": 1,
                                     "swapped_train_share": 0.2, "swapped_train_pairing": "test"})
    a = build_corpus(recipe, tmp_path / "a")
    b = build_corpus(recipe, tmp_path / "b")
    ma, mb = read_manifest(tmp_path / "a"), read_manifest(tmp_path / "b")
    assert [(c["clip"], c["sha256"]) for c in ma["clips"]] == [(c["clip"], c["sha256"]) for c in mb["clips"]]
    assert a["clips"] == b["clips"]
    assert {c["kind"] for c in ma["clips"]} == {"natural", "swapped", "pause"}  # the extra clips too


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


# ---- the extra clips: style-swapped, pauses (dtsdk/corpus/extras.py) ---------------------------------
CHECKSUMS = Path(__file__).parent / "data" / "corpus" / "tiny_checksums.json"


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGKILL"])
def test_a_killed_build_leaves_no_workers_and_no_temporary_folder(tmp_path, sig):
    """Killing `dtsdk corpus build` used to leave its workers speaking into the temporary folder for
    minutes. SIGTERM cleans up like Ctrl-C; after SIGKILL (no cleanup possible) the workers still exit."""
    import os
    import signal
    import subprocess
    import sys
    import time

    recipe = tmp_path / "r.yaml"
    recipe.write_text("corpus:\n  train_speakers: 2\n  heldout_speakers: 0\n  train_minutes: 3.0\n  workers: 2\n")
    build = subprocess.Popen([sys.executable, "-m", "dtsdk", "corpus", "build", str(recipe), "-o",
                              str(tmp_path / "c")], stderr=subprocess.PIPE, text=True)

    def workers():  # the build's worker processes (spawned children; not the resource tracker)
        out = subprocess.run(["ps", "-ww", "-eo", "pid=,ppid=,args="], capture_output=True, text=True).stdout
        rows = [line.split(None, 2) for line in out.splitlines()]
        return [int(pid) for pid, ppid, args in rows if ppid == str(build.pid) and "spawn_main" in args]

    deadline = time.monotonic() + 60
    while not workers() and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = workers()
    assert pids, "the build started no workers"
    os.kill(build.pid, getattr(signal, sig))
    build.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(map(_alive, pids)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_alive, pids)), "workers outlived the build"
    if sig == "SIGTERM":
        assert build.returncode == 130 and "interrupted" in build.stderr.read()
        assert [p.name for p in tmp_path.iterdir()] == ["r.yaml"]  # no .c.* temporary folder, no c


def _alive(pid: int) -> bool:
    """Running (a zombie, exited but not yet reaped by init, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def tiny_without_extras(tmp_path_factory):
    """The tiny recipe with every extra clip off: the natural clips as the code made them before extras."""
    plain = {"swapped_test_sentences": 0, "swapped_train_share": 0.0, "pause_train_share": 0.0, "pause_test_clips": 0}
    recipe = CorpusRecipe.from_dict({**CorpusRecipe.from_yaml("tiny").to_dict(), **plain})
    root = tmp_path_factory.mktemp("corpus") / "tiny_plain"
    build_corpus(recipe, root)
    return read_manifest(root)


def _assert_natural_clips_unchanged(manifest, without_extras):
    """The natural clips are byte-identical to a build without any extra clip on this machine (the
    shipped model and docs/benchmarks.md were made on them)."""
    natural = {c["clip"]: c["sha256"] for c in manifest["clips"] if c["kind"] == "natural"}
    reference = {c["clip"]: c["sha256"] for c in without_extras["clips"]}
    assert sorted(natural) == sorted(reference), "extra clips added or removed natural clips"
    changed = [name for name, sha in reference.items() if natural[name] != sha]
    assert not changed, f"extra clips changed natural clips: {changed[:5]}"


def test_natural_clips_are_byte_identical_to_a_build_without_extra_clips(tiny, tiny_without_extras):
    _assert_natural_clips_unchanged(read_manifest(tiny[0]), tiny_without_extras)


def test_natural_clips_match_the_recorded_checksums_where_the_recording_machine_is_reproduced(tiny_without_extras):
    """Against tests/data/corpus/tiny_checksums.json, recorded on 2026-12-02 before extra clips existed.
    The bytes depend on the TTS engines' builds and the machine (measured: a second machine of the
    same kind, with the same Debian packages and numpy, speaks 27 of the 31 clips differently while
    its own builds repeat exactly), so it runs only where the recording's probe clip is reproduced."""
    import json

    recorded = json.loads(CHECKSUMS.read_text())
    got = {c["clip"]: c["sha256"] for c in tiny_without_extras["clips"]}
    probe = recorded["probe_clip"]
    if got.get(probe) != recorded["clips"][probe]:
        pytest.skip(f"this machine speaks {probe} differently from the machine that recorded {CHECKSUMS.name}")
    changed = [name for name, sha in recorded["clips"].items() if got.get(name) != sha]
    assert not changed, f"natural clips changed: {changed[:5]}"


def test_every_clip_names_its_voice_and_style(tiny):
    root, _, _ = tiny
    manifest = read_manifest(root)
    assert manifest["format_version"] == 2
    for c in manifest["clips"]:
        assert c["style_speaker"] == c["speaker"], c["clip"]  # the identity label is the style's speaker
        assert (c["voice_speaker"] == c["speaker"]) == (c["kind"] != "swapped"), c["clip"]
        assert c["wav"].startswith(f"speakers/{c['speaker']}/") and verify_checksums(root, manifest) == []


def test_swapped_test_clips_are_one_voice_in_another_style(tiny):
    import dtsdk

    root, _, recipe = tiny
    manifest = read_manifest(root)
    clips = {c["clip"]: c for c in manifest["clips"]}
    swapped = [c for c in manifest["clips"] if c["split"] == "swapped_test"]
    train_ids = sorted(s["speaker"] for s in manifest["speakers"] if s["role"] == "train")
    assert sorted({c["speaker"] for c in swapped}) == train_ids
    assert len(swapped) == len(train_ids) * min(recipe.swapped_test_sentences, recipe.test_sentences)
    for c in swapped:
        assert c["kind"] == "swapped" and c["voice_speaker"] != c["speaker"]
        assert manifest["swaps"]["swapped_test"][c["speaker"]] == [c["voice_speaker"]]
        natural = clips[c["natural_clip"]]  # the voice's own test clip of the sentence: the same audio
        assert natural["speaker"] == c["voice_speaker"] and natural["split"] == "test"
        assert natural["sentence_id"] == c["sentence_id"] and natural["sha256"]["wav"] == c["sha256"]["wav"]
        assert natural["sha256"]["motion"] != c["sha256"]["motion"]
        assert dtsdk.Animation.load(root / c["motion"]).meta["voice_speaker"] == c["voice_speaker"]
    ds = TalkingFaceDataset.from_corpus(root, split="swapped_test", window_s=1.0, speakers=train_ids)
    assert not any(ds[i]["voice_is_identity"] for i in range(len(ds)))
    train = TalkingFaceDataset.from_corpus(root, split="train", window_s=1.0, speakers=train_ids)
    assert all(train[i]["voice_is_identity"] for i in range(len(train)))  # the share is 0 by default


def test_a_swapped_clip_is_the_voice_articulated_with_the_partner_style(tiny):
    """Regenerate one swapped clip from what the docs say: voice A's audio and phones, style B, the
    clip's own stream default_rng(SeedSequence([seed, 5, index of B, k]).spawn(2)[1])."""
    import yaml

    import dtsdk
    from dtsdk.corpus.articulation import motion_for_utterance
    from dtsdk.corpus.extras import SWAPPED_TEST_STREAM
    from dtsdk.corpus.style import SpeakerStyle
    from dtsdk.corpus.tts import Voice, synthesize

    root, _, recipe = tiny
    clip = next(c for c in read_manifest(root)["clips"] if c["clip"].endswith("_swapped_test_001"))
    spec = {s: yaml.safe_load((root / "speakers" / s / "speaker.yaml").read_text())
            for s in (clip["voice_speaker"], clip["speaker"])}
    utt = synthesize(clip["text"], Voice(**spec[clip["voice_speaker"]]["voice"]))
    seq = np.random.SeedSequence([recipe.seed, SWAPPED_TEST_STREAM, int(clip["speaker"][1:]) - 1, 1]).spawn(2)[1]
    again = motion_for_utterance(utt.phones, utt.audio, 16000, recipe.fps,
                                 SpeakerStyle.from_dict(spec[clip["speaker"]]["style"]),
                                 np.random.default_rng(seq), stationary_blinks=True)
    assert np.array_equal(again.weights, dtsdk.Animation.load(root / clip["motion"]).weights)


@pytest.fixture(scope="module")
def tiny_swapped_train(tmp_path_factory):
    """The tiny recipe with swapped training clips on."""
    recipe = CorpusRecipe.from_dict({**CorpusRecipe.from_yaml("tiny").to_dict(), "swapped_train_share": 0.5})
    root = tmp_path_factory.mktemp("corpus") / "tiny_swapped"
    build_corpus(recipe, root)
    return root, recipe


def test_swapped_training_clips_are_an_option_that_changes_no_natural_clip(tiny_swapped_train, tiny_without_extras):
    root, recipe = tiny_swapped_train
    manifest = read_manifest(root)
    _assert_no_leaks(manifest["clips"], recipe)
    swapped = [c for c in manifest["clips"] if c["split"] == "train" and c["kind"] == "swapped"]
    test_pairs = {(c["voice_speaker"], c["speaker"]) for c in manifest["clips"] if c["split"] == "swapped_test"}
    assert swapped and all(c["voice_speaker"] != c["speaker"] for c in swapped)
    assert not {(c["voice_speaker"], c["speaker"]) for c in swapped} & test_pairs  # pairing "disjoint"
    for speaker, voices in manifest["swaps"]["train"].items():
        mine = [c for c in swapped if c["speaker"] == speaker]
        assert {c["voice_speaker"] for c in mine} == set(voices)
        assert sum(c["duration_s"] for c in mine) / 60 >= recipe.swapped_train_share * recipe.train_minutes
        for c in mine:  # the voice's own training sentence, so the same audio is there in two styles
            natural = next(n for n in manifest["clips"] if n["clip"] == c["natural_clip"])
            assert natural["sha256"]["wav"] == c["sha256"]["wav"] and natural["split"] == "train"
    ds = TalkingFaceDataset.from_corpus(root, split="train", window_s=1.0)
    flags = {ds.clips[i].name: ds[i]["voice_is_identity"] for i in range(len(ds))}
    assert {name for name, ok in flags.items() if not ok} == {c["clip"] for c in swapped}
    _assert_natural_clips_unchanged(manifest, tiny_without_extras)


def test_pause_clips_hold_long_silences(tiny):
    import dtsdk
    from dtsdk.corpus.extras import NOISE_FLOOR_DBFS, PAUSE_S, SILENCE_ONLY_S

    root, _, recipe = tiny
    manifest = read_manifest(root)
    pauses = [c for c in manifest["clips"] if c["kind"] == "pause"]
    assert {c["split"] for c in pauses} == {"train", "pause_test"}
    assert len([c for c in pauses if c["split"] == "pause_test"]) == recipe.pause_test_clips * recipe.train_speakers
    longest = 0.0
    for c in pauses:
        audio = dtsdk.load_audio(root / c["wav"])
        assert c["silences"] and c["voice_speaker"] == c["speaker"]
        for start, end in c["silences"]:
            longest = max(longest, end - start)
            assert end - start <= max(PAUSE_S[1], SILENCE_ONLY_S[1]) + 1e-3
            quiet = audio[int(start * 16000) + 1:int(end * 16000) - 1].astype(float)
            if c["noise_dbfs"] is None:
                assert not quiet.any(), c["clip"]  # digital silence
            else:
                level = 10 * np.log10(np.mean(quiet ** 2) + 1e-20)
                assert NOISE_FLOOR_DBFS[0] - 1 <= level <= NOISE_FLOOR_DBFS[1] + 1, c["clip"]
    assert longest >= 2.0


def test_built_pause_clips_rest_in_silence(tiny):
    import yaml

    import dtsdk
    from dtsdk.corpus.extras import silent_frames
    from dtsdk.corpus.style import SpeakerStyle, rest_pose
    from dtsdk.rigs.arkit import arkit_index

    root, _, _ = tiny
    checked = [arkit_index(n) for n in ("jawOpen", "mouthClose", "browInnerUp", "browOuterUpLeft",
                                        "browOuterUpRight", "browDownLeft", "browDownRight")]
    quiet_s = 0.0
    for c in (c for c in read_manifest(root)["clips"] if c["kind"] == "pause"):
        style = yaml.safe_load((root / "speakers" / c["speaker"] / "speaker.yaml").read_text())["style"]
        rest = rest_pose(SpeakerStyle.from_dict(style))
        anim = dtsdk.Animation.load(root / c["motion"])
        quiet = silent_frames(c["silences"], anim.num_frames, anim.fps, c["duration_s"])
        assert np.abs(anim.weights[quiet][:, checked] - rest[checked]).max(initial=0.0) <= 0.05, c["clip"]
        quiet_s += quiet.sum() / anim.fps
    assert quiet_s > 20
