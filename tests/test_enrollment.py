"""Enrollment (dtsdk.enrollment) and the identity store (dtsdk.identities.store / sharing) on a tiny model:
the model stays bit-identical, the store is atomic and safe under two processes, bad folders and
names fail in one line, and Talker animates with enrolled identities (by name, path, mix and auto)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dtsdk.animation import Animation
from dtsdk.cli import main
from dtsdk.enrollment import enroll
from dtsdk.errors import DtsdkError
from dtsdk.identities import store as store_module
from dtsdk.identities.sharing import export_identity, import_identity
from dtsdk.identities.store import list_identities, load_identity, model_fingerprint, remove_identity
from dtsdk.inference import Talker
from dtsdk.model import DiffusionTalker, DiffusionTalkerConfig
from dtsdk.model.config import DenoiserConfig, PersonalizerConfig
from dtsdk.rigs import ARKIT52

REPO = Path(__file__).resolve().parents[1]
SR, FPS = 16000, 30.0
TINY = dict(encoder_config={"dim": 16, "num_conv_layers": 1, "num_transformer_layers": 1, "num_heads": 2},
            denoiser=DenoiserConfig(d_model=16, num_layers=1, num_heads=2, dropout=0.0),
            personalizer=PersonalizerConfig(identity_dim=8, hidden_dim=16), diffusion_steps=50, default_steps=2)
STEPS = 15


def tiny_model(seed: int = 0) -> DiffusionTalker:
    torch.manual_seed(seed)
    model = DiffusionTalker(DiffusionTalkerConfig(identities=["a", "b"], **TINY))
    for name, param in model.named_parameters():
        if "film" in name:  # FiLM starts at zero; random values give the identity a say, as training would
            torch.nn.init.normal_(param, std=0.3)
    return model.eval()


def tone(seconds: float, hz: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * hz * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def write_take(folder: Path, stem: str, seconds: float = 5.0, frames: int | None = None, hz: float = 150.0,
               capture: bool = True, audio_suffix: str = ".wav") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sf.write(folder / f"{stem}{audio_suffix}", tone(seconds, hz), SR)
    if capture:
        frames = round(seconds * FPS) if frames is None else frames
        weights = np.random.default_rng(len(stem)).random((frames, 52)).astype(np.float32) * 0.5
        Animation(weights, ARKIT52, FPS, "arkit52").save(folder / f"{stem}.npz")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    directory = tmp_path_factory.mktemp("enroll-model") / "tiny"
    tiny_model().save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def model(checkpoint):
    return DiffusionTalker.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    folder = tmp_path_factory.mktemp("recordings")
    for i in range(2):
        write_take(folder, f"take{i}", hz=140 + 30 * i)
    write_take(folder / "more", "take2", audio_suffix=".flac", hz=200)  # recursive, and not only WAV
    return folder


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DTSDK_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture(scope="module")
def enrolled(model, recordings, tmp_path_factory):
    """'me' enrolled once into a module store (tests that change the store use ``home``)."""
    home = tmp_path_factory.mktemp("store")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    flags = {k: p.requires_grad for k, p in model.named_parameters()}
    with pytest.MonkeyPatch.context() as mp:  # only while enrolling: tests choose their store themselves
        mp.setenv("DTSDK_HOME", str(home))
        result = enroll(recordings, "me", model, steps=STEPS)
    return result, before, flags, home


@pytest.fixture
def in_store(enrolled, monkeypatch):
    monkeypatch.setenv("DTSDK_HOME", str(enrolled[3]))
    return enrolled[0]


def test_the_model_stays_bit_identical_and_only_the_embedding_moves(model, enrolled):
    result, before, flags, _ = enrolled
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert {k: p.requires_grad for k, p in model.named_parameters()} == flags  # the caller's flags come back
    metrics = result.metrics
    assert metrics["steps"] == STEPS and metrics["windows"] == 6  # 3 recordings of 5 s in 4 s windows
    assert metrics["motion_loss_end"] < metrics["motion_loss_start"]  # the fit learnt from the captures
    assert metrics["windows_matching_it"] == 1.0  # and the user's voice still picks it among the library


def test_the_result_is_the_mean_of_the_last_iterates(model, recordings):
    """Polyak averaging: with a constant step the first k steps do not depend on the total, so the
    averaged result of 6 steps from half-way is the mean of the 3-, 4-, 5- and 6-step last iterates."""
    from dtsdk.enrollment.fit import EnrollSettings, cut_windows, fit_identity
    from dtsdk.enrollment.scan import scan_recordings

    windows = cut_windows(model, scan_recordings(recordings, model.config, 10.0).used, 4.0)

    def fitted(steps, average_from):
        return fit_identity(model, windows, EnrollSettings(steps=steps, average_from=average_from)).embedding

    iterates = torch.stack([fitted(k, 1.0) for k in (3, 4, 5, 6)])
    assert not torch.allclose(iterates[0], iterates[-1])  # the iterates do move
    torch.testing.assert_close(fitted(6, 0.5), iterates.mean(0))


def test_the_store_holds_config_weights_and_card(model, in_store):
    folder = in_store.path
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json", "identity.safetensors"]
    config = json.loads((folder / "config.json").read_text())
    assert config["model_fingerprint"] == model_fingerprint(model) and config["embedding_dim"] == 8
    assert config["source"]["files"] == 3 and config["source"]["with_capture"] == 3
    assert config["source"]["seconds"] == pytest.approx(15.0) and config["source"]["mode"] == "captures"
    assert config["created"] and "motion_loss_end" in config["metrics"]
    torch.testing.assert_close(load_identity("me").embedding, in_store.embedding)
    assert "sha256:" in (folder / "README.md").read_text()


def test_talker_animates_with_the_enrolled_identity(model, recordings, in_store):
    talker = Talker(model, device="cpu", identity="me")
    wave = recordings / "take0.wav"
    mine = talker.animate(wave, seed=0)
    assert mine.meta["identity"] == "me" and mine.meta["identity_source"] == "store"
    generic = talker.animate(wave, seed=0, identity=None)
    assert np.abs(mine.weights - generic.weights).max() > 1e-3  # the enrolled identity changes the motion
    by_path = talker.animate(wave, seed=0, identity=str(in_store.path))
    np.testing.assert_array_equal(by_path.weights, mine.weights)
    mixed = talker.animate(wave, seed=0, identity="me:0.5,a:0.5")
    library = talker.animate(wave, seed=0, identity="a")
    assert mixed.meta["identity"] == "me:0.5,a:0.5"
    assert np.abs(mixed.weights - mine.weights).max() > 1e-4 and np.abs(mixed.weights - library.weights).max() > 1e-4


def test_auto_matches_the_enrolled_voice(model, recordings, in_store):
    chosen = Talker(model, device="cpu").animate(recordings / "take1.wav", seed=0, identity="auto")
    assert chosen.meta["identity"] == "me" and chosen.meta["identity_source"] == "auto"
    assert 0 < chosen.meta["identity_confidence"] <= 1
    # dtsdk eval leaves the store out, so scores do not depend on what a user enrolled
    library_only = Talker(model, device="cpu", match_enrolled=False)
    assert library_only.animate(recordings / "take1.wav", seed=0, identity="auto").meta["identity"] in ("a", "b")


def test_an_identity_of_another_model_is_a_one_line_error(recordings, in_store):
    other = tiny_model(seed=1)
    with pytest.raises(DtsdkError, match="identity 'me' belongs to the model sha256:.*not to this one") as err:
        Talker(other, device="cpu", identity="me")
    assert "\n" not in str(err.value)
    auto = Talker(other, device="cpu").animate(recordings / "take0.wav", seed=0, identity="auto")
    assert auto.meta["identity"] in ("a", "b")  # the store's identities of other models are not candidates


def test_audio_only_keeps_the_library_length(model, recordings, home, tmp_path):
    folder = tmp_path / "voice"
    for i in range(3):
        write_take(folder, f"v{i}", hz=120 + 10 * i, capture=False)
    result = enroll(folder, "voice", model, steps=STEPS)
    assert result.source["mode"] == "audio-only" and "motion_loss_end" not in result.metrics
    assert result.metrics["contrastive_loss_end"] < result.metrics["contrastive_loss_start"]
    library_length = model.personalizer.bank.detach().norm(dim=-1).mean()
    assert float(result.embedding.norm()) == pytest.approx(float(library_length), rel=1e-5)


def test_the_voice_keys_are_the_queries_of_the_enrolled_windows(model, recordings, in_store, tmp_path, monkeypatch):
    """auto compares a voice with every enrolled window's audio-to-identity query, captured or not."""
    from dtsdk.enrollment.fit import cut_windows
    from dtsdk.enrollment.scan import scan_recordings

    windows = cut_windows(model, scan_recordings(recordings, model.config, 10.0).used, 4.0)
    expected = torch.nn.functional.normalize(model.personalizer.query(windows.features, windows.mask), dim=-1)
    stored = load_identity("me")
    assert stored.voice_keys.shape == (len(windows.features), 8)  # 3 takes of 5 s: 2 windows each
    assert stored.config["metrics"]["voice_keys"] == len(windows.features)
    torch.testing.assert_close(stored.voice_keys, expected.detach())
    voice_only = tmp_path / "voice-only"
    for wav in recordings.rglob("*.*"):
        if wav.suffix != ".npz":
            target = voice_only / wav.relative_to(recordings)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(wav.read_bytes())
    monkeypatch.setenv("DTSDK_HOME", str(tmp_path / "other-home"))
    enroll(voice_only, "voice", model, steps=STEPS)
    torch.testing.assert_close(load_identity("voice").voice_keys, stored.voice_keys)  # the same windows


def _clip_query(model, wav: Path) -> torch.Tensor:
    from dtsdk.audio import load_audio

    wave = torch.from_numpy(load_audio(wav, sr=SR))[None]
    with torch.no_grad():
        return model.personalizer.query(model.encoder(wave, round(wave.shape[1] / SR * FPS)))[0]


def test_auto_ranks_enrolled_identities_by_their_keys_less_the_margin(model, recordings, home, monkeypatch):
    """A key on the voice itself wins and animates with the identity's embedding; a key no closer than
    a library identity loses to it (ENROLLED_MARGIN), so enrolling does not take library voices."""
    from dtsdk.identities.resolver import ENROLLED_MARGIN
    from dtsdk.identities.store import write_identity

    query = torch.nn.functional.normalize(_clip_query(model, recordings / "take1.wav"), dim=0)
    bank = torch.nn.functional.normalize(model.personalizer.bank.detach(), dim=-1)
    nearest = int((bank @ query).argmax())
    assert float(bank[nearest] @ query) < 1 - ENROLLED_MARGIN  # the premise: the voice is no library row
    away = -model.personalizer.bank.detach().mean(0)
    fingerprint = model_fingerprint(model)
    write_identity("keyed", away, fingerprint, voice_keys=torch.stack([-query, query]))
    write_identity("twin", away, fingerprint, voice_keys=bank[nearest][None])  # exactly the library row
    talker = Talker(model, device="cpu")
    chosen = talker.animate(recordings / "take1.wav", seed=0, identity="auto")
    assert chosen.meta["identity"] == "keyed"  # its best key counts, not its first
    keyless = talker.animate(recordings / "take1.wav", seed=0, identity="keyed")
    np.testing.assert_array_equal(chosen.weights, keyless.weights)  # it animates with its embedding
    remove_identity("keyed")
    assert talker.animate(recordings / "take1.wav", seed=0, identity="auto").meta["identity"] == "ab"[nearest]
    monkeypatch.setattr("dtsdk.identities.resolver.ENROLLED_MARGIN", -0.01)  # without the margin the twin wins
    assert talker.animate(recordings / "take1.wav", seed=0, identity="auto").meta["identity"] == "twin"


def test_a_broken_voice_key_is_a_one_line_error(model, in_store, tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "broken"
    export_identity("me", folder)
    save_file({"embedding": load_identity("me").embedding, "voice_keys": torch.zeros(3)},
              str(folder / "identity.safetensors"))
    with pytest.raises(DtsdkError, match=r"identity.safetensors: expected a 'voice_keys' of shape \(K, 8\), "
                                         r"found \(3,\)"):
        load_identity(folder)


def test_the_scan_names_what_it_skips(model, home, tmp_path):
    folder = tmp_path / "mixed"
    write_take(folder, "good", seconds=6.0)
    write_take(folder, "long", seconds=6.0, frames=60)  # 2 s of motion for 6 s of audio
    write_take(folder, "plain", seconds=6.0, capture=False)
    (folder / "notes.txt").write_text("not audio")
    (folder / "._good.wav").write_bytes(b"\0\5\26\7AppleDouble")
    (folder / ".hidden.wav").write_bytes(b"RIFF")
    (folder / "broken.wav").write_bytes(b"RIFF0000WAVEgarbage")
    Animation.zeros(30).save(folder / "orphan.npz")
    result = enroll(folder, "scan", model, steps=2)
    used = result.source
    assert used["files"] == 3 and used["with_capture"] == 1 and used["seconds"] == pytest.approx(18.0)
    why = {p.name: reason for p, reason in result.skipped}
    assert "lasts 6.000 s but motion" in why["long.npz"] and "audio only" in why["long.npz"]
    assert "no recording of the same stem" in why["notes.txt"] and "no recording" in why["orphan.npz"]
    assert "resource fork" in why["._good.wav"] and why[".hidden.wav"] == "hidden file"
    assert why["broken.wav"].startswith("unreadable audio")


def test_live_link_face_and_plugin_captures(model, home, tmp_path):
    """A Live Link Face CSV (60 fps, read by the livelink capture reader beside a WAV, by the llf-csv format
    beside a FLAC) and a format only a capture-reader plugin knows, through the capture-reader hook."""
    from dtsdk.capture import CaptureClip, CaptureReader
    from dtsdk.plugins import hookimpl
    from dtsdk.testing import temporary_plugin

    folder = tmp_path / "llf"
    for stem, suffix in (("phone", ".wav"), ("phone2", ".flac")):
        write_take(folder, stem, seconds=5.0, capture=False, audio_suffix=suffix)
        Animation(np.full((300, 52), 0.25, np.float32), ARKIT52, 60.0, "arkit52").save(folder / f"{stem}.csv")
    write_take(folder, "rig", seconds=5.0, capture=False)
    (folder / "rig.mocap").write_text("150")

    class MocapReader(CaptureReader):
        name, description = "test-mocap", "a test format: the frame count as text"

        def can_read(self, path):
            return str(path).endswith(".mocap")

        def read(self, path):
            stem = Path(path).with_suffix("")
            audio, _ = sf.read(f"{stem}.wav", dtype="float32")
            frames = int(Path(path).read_text())
            yield CaptureClip(stem.name, "me", audio, SR, Animation(np.full((frames, 52), 0.5, np.float32),
                                                                    ARKIT52, FPS, "arkit52"))

    class Plugin:
        @hookimpl
        def register_capture_readers(self, register):
            register("test-mocap", MocapReader(), description=MocapReader.description)

    with temporary_plugin(Plugin()):
        result = enroll(folder, "llf", model, steps=2)
    assert result.skipped == [] and result.source["with_capture"] == 3 and result.source["files"] == 3


@pytest.mark.parametrize("make, message", [
    (lambda d: None, "no such folder of recordings"),
    (lambda d: d.mkdir(), "no usable recording"),
    (lambda d: write_take(d, "short", seconds=3.0), r"only 3\.0 s of usable audio in 1 file\(s\); enrollment needs "
                                                     r"at least 10 s"),
    (lambda d: (d.mkdir(), (d / "a.txt").write_text("x")), "no usable recording.*a.txt: not audio"),
])
def test_bad_folders_fail_in_one_line_and_write_nothing(model, home, tmp_path, make, message):
    folder = tmp_path / "bad"
    make(folder)
    with pytest.raises(DtsdkError, match=message) as err:
        enroll(folder, "bad", model, steps=2)
    assert "\n" not in str(err.value)
    assert not (home / "identities" / "bad").exists()


@pytest.mark.parametrize("name", ["", "../evil", "a/b", ".hidden", "123", "auto", "t05:0.5", "a,b", "x" * 65, "a"])
def test_names_are_validated(model, recordings, home, name):
    with pytest.raises(DtsdkError, match="identity name"):
        enroll(recordings, name, model, steps=1)
    assert not (home / "identities").exists() or not any(p for p in (home / "identities").iterdir()
                                                         if not p.name.startswith("."))


def test_no_clobbering_without_force_and_a_crash_keeps_the_old_identity(model, recordings, home):
    first = enroll(recordings, "me", model, steps=1)
    with pytest.raises(DtsdkError, match="exists already; pass --force"):
        enroll(recordings, "me", model, steps=1)

    def crash(folder, config, embedding):
        (folder / "config.json").write_text("{half")
        raise RuntimeError("power cut")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(store_module, "write_identity_files", crash)
        with pytest.raises(RuntimeError, match="power cut"):
            enroll(recordings, "me", model, steps=3, force=True)
    torch.testing.assert_close(load_identity("me").embedding, first.embedding)  # the old one, whole
    assert sorted(p.name for p in (home / "identities").iterdir()) == [".locks", "me"]  # no temporary left
    replaced = enroll(recordings, "me", model, steps=3, force=True, seed=1)
    assert not torch.equal(load_identity("me").embedding, first.embedding)
    assert torch.equal(load_identity("me").embedding, replaced.embedding)


def test_two_processes_enroll_at_once(checkpoint, recordings, home):
    script = ("import sys; from dtsdk.enrollment import enroll; "
              "enroll(sys.argv[1], sys.argv[2], sys.argv[3], steps=3)")
    env = {**os.environ, "DTSDK_HOME": str(home), "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", script, str(recordings), name, str(checkpoint)], env=env,
                              stderr=subprocess.PIPE, text=True) for name in ("left", "right")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert [i.name for i in list_identities()] == ["left", "right"]
    assert sorted(p.name for p in (home / "identities").iterdir()) == [".locks", "left", "right"]


def test_export_import_and_pull_from_a_hub_cache(model, in_store, tmp_path, monkeypatch):
    exported = export_identity("me", tmp_path / "export")
    assert sorted(p.name for p in exported.iterdir()) == ["README.md", "config.json", "identity.safetensors"]
    with pytest.raises(DtsdkError, match="not empty"):
        export_identity("me", tmp_path / "export")
    monkeypatch.setenv("DTSDK_HOME", str(tmp_path / "home"))  # an empty store: import under another name
    path = import_identity(exported, name="copy")
    torch.testing.assert_close(load_identity("copy").embedding, in_store.embedding)
    torch.testing.assert_close(load_identity("copy").voice_keys, load_identity(in_store.path).voice_keys)
    assert json.loads((path / "config.json").read_text())["name"] == "copy"
    # the Hub cache layout: models--OWNER--NAME/{refs/main, snapshots/REV/...}, read offline
    repo = tmp_path / "hub" / "models--someone--my-voice"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0123456789abcdef0123456789abcdef01234567")
    snapshot = repo / "snapshots" / "0123456789abcdef0123456789abcdef01234567"
    export_identity(exported, snapshot)
    pulled = import_identity("someone/my-voice", cache_dir=tmp_path / "hub", local_files_only=True)
    assert pulled.name == "me" and Talker(model, device="cpu", identity="me").identity == "me"
    with pytest.raises(DtsdkError, match="could not get identity 'someone/missing' from the local Hub cache"):
        import_identity("someone/missing", cache_dir=tmp_path / "hub", local_files_only=True)
    remove_identity("me")
    assert [i.name for i in list_identities()] == ["copy"]


def test_cli_enroll_and_identities(checkpoint, recordings, home, tmp_path, capsys):
    assert main(["enroll", str(recordings), "--name", "cli", "--model", str(checkpoint), "--steps", "2",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["source"]["files"] == 3
    assert main(["identities", "list", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["cli"]
    assert main(["identities", "show", "cli", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["embedding_dim"] == 8
    assert main(["identities", "export", "cli", str(tmp_path / "out")]) == 0
    assert main(["identities", "rm", "cli"]) == 0
    assert main(["identities", "import", str(tmp_path / "out"), "--name", "back"]) == 0
    capsys.readouterr()
    assert main(["identities", "rm", "cli"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no enrolled identity 'cli'" in err and "\n" not in err
    assert main(["enroll", str(tmp_path / "none"), "--name", "x", "--model", str(checkpoint)]) == 2
    assert "no such folder of recordings" in capsys.readouterr().err
