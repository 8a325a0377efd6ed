"""``Talker`` and ``dtsdk animate`` on a tiny untrained checkpoint: shapes, seeds, identities, inputs,
long-audio windows and stitching, bad inputs, and the CLI."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
import torch

from dtsdk.cli import main
from dtsdk.errors import AudioError, DtsdkError
from dtsdk.inference import Stitcher, Talker, plan_windows
from dtsdk.model import DenoiserConfig, DiffusionTalker, DiffusionTalkerConfig, PersonalizerConfig
from dtsdk.rigs.arkit import ARKIT52

SR = 16000
TINY = dict(encoder_config={"dim": 16, "num_conv_layers": 1, "num_transformer_layers": 1, "num_heads": 2},
            denoiser=DenoiserConfig(d_model=16, num_layers=1, num_heads=2, dropout=0.0),
            personalizer=PersonalizerConfig(identity_dim=8, hidden_dim=16), diffusion_steps=50, default_steps=2)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("ckpt") / "tiny"
    model = DiffusionTalker(DiffusionTalkerConfig(identities=["a", "b"], **TINY))
    # FiLM starts at zero (identity has no effect before training); random values stand in for training.
    for name, param in model.named_parameters():
        if "film" in name:
            torch.nn.init.normal_(param, std=0.1)
    model.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def talker(checkpoint):
    return Talker(checkpoint, device="cpu")


@pytest.fixture(scope="module")
def speech():
    """1.5 s of a vowel-ish buzz at 16 kHz, as an array, WAV bytes and a WAV file."""
    t = np.arange(int(1.5 * SR)) / SR
    wave = (0.2 * np.sin(2 * np.pi * 140 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32)
    buffer = io.BytesIO()
    sf.write(buffer, wave, SR, format="WAV", subtype="FLOAT")
    return wave, buffer.getvalue()


def test_animation_shape_fps_names_and_meta(talker, speech):
    wave, _ = speech
    anim = talker.animate(wave, sr=SR, seed=0)
    assert anim.num_frames == round(1.5 * 30) and anim.fps == 30.0 and anim.weights.shape == (45, 52)
    assert anim.names == tuple(ARKIT52) and anim.rig == "arkit52"
    assert anim.meta["identity"] is None and anim.meta["seed"] == 0 and anim.meta["windows"] == 1
    samples = talker.animate(wave, sr=SR, seed=0, num_samples=2)
    assert len(samples) == 2 and not np.allclose(samples[0].weights, samples[1].weights)


def test_seed_is_deterministic_and_seeds_differ(talker, speech):
    wave, _ = speech
    a, b = talker.animate(wave, sr=SR, seed=3), talker.animate(wave, sr=SR, seed=3)
    c = talker.animate(wave, sr=SR, seed=4)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.allclose(a.weights, c.weights)


def test_identity_name_none_and_auto(checkpoint, talker, speech):
    wave, _ = speech
    named = talker.animate(wave, sr=SR, seed=0, identity="b")
    generic = talker.animate(wave, sr=SR, seed=0, identity=None)
    auto = talker.animate(wave, sr=SR, seed=0, identity="auto")
    assert named.meta["identity"] == "b" and named.meta["identity_confidence"] is None
    assert generic.meta["identity"] is None and not np.allclose(named.weights, generic.weights)
    assert auto.meta["identity"] in ("a", "b") and 0.5 <= auto.meta["identity_confidence"] <= 1.0
    # "auto" picks one bank identity and then samples exactly as that name would.
    named = talker.animate(wave, sr=SR, seed=0, identity=auto.meta["identity"])
    np.testing.assert_array_equal(auto.weights, named.weights)
    assert Talker(checkpoint, identity="a").animate(wave, sr=SR, seed=0).meta["identity"] == "a"
    with pytest.raises(DtsdkError, match="unknown identity 'zed'.*knows: a, b"):
        talker.animate(wave, sr=SR, identity="zed")
    with pytest.raises(DtsdkError, match="knows: a, b"):
        Talker(checkpoint, identity="zed")


def test_path_bytes_and_array_inputs_agree(talker, speech, tmp_path):
    wave, wav_bytes = speech
    path = tmp_path / "speech.wav"
    path.write_bytes(wav_bytes)
    sources = ((wave, SR), (wav_bytes, None), (path, None), (str(path), None))
    results = [talker.animate(x, sr=sr, seed=1).weights for x, sr in sources]
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], atol=1e-5)
    # A 48 kHz array is resampled to the model's rate: same frame count.
    wave48 = np.repeat(wave, 3)
    assert talker.animate(wave48, sr=48000, seed=1).num_frames == 45


def test_bad_inputs_give_one_line_errors(talker, speech, tmp_path):
    wave, _ = speech
    with pytest.raises(AudioError, match="pass sr="):
        talker.animate(wave)
    with pytest.raises(AudioError, match="sr= is only for arrays"):
        talker.animate(b"RIFF", sr=SR)
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("hello, not a wave file")
    with pytest.raises(AudioError, match="notes.wav"):
        talker.animate(not_audio)
    with pytest.raises(AudioError, match="file not found"):
        talker.animate(tmp_path / "missing.wav")
    short = Talker(talker.model, max_duration_s=1.0, device="cpu")
    with pytest.raises(AudioError, match="max_duration_s=1"):
        short.animate(wave, sr=SR)
    silence = talker.animate(np.zeros(SR, np.float32), sr=SR, seed=0)  # valid: silence animates
    assert silence.num_frames == 30 and np.isfinite(silence.weights).all()


def test_default_model_missing_says_how_to_pass_one(monkeypatch, tmp_path):
    import dtsdk.inference.talker as talker_module

    monkeypatch.setattr(talker_module, "DEFAULT_MODEL_DIR", tmp_path / "models" / "default")
    with pytest.raises(DtsdkError, match="no default model is installed yet.*--model DIR"):
        Talker()


def test_default_model_is_loaded_when_present(monkeypatch, checkpoint):
    import dtsdk.inference.talker as talker_module

    monkeypatch.setattr(talker_module, "DEFAULT_MODEL_DIR", checkpoint)
    assert Talker().identities == ["a", "b"]


def test_window_plan_for_25_seconds():
    windows = plan_windows(750, window_frames=300, overlap_frames=30)  # 25 s at 30 fps, 10 s windows, 1 s overlap
    assert [(w.start, w.end) for w in windows] == [(0, 300), (270, 570), (540, 750)]
    assert len(plan_windows(300, 300, 30)) == 1 and len(plan_windows(301, 300, 30)) == 2
    with pytest.raises(DtsdkError, match="overlap"):
        plan_windows(750, 30, 30)


def test_stitching_two_windows_has_no_seam_jump():
    t = np.arange(200, dtype=np.float32)[:, None] / 30
    first = np.sin(t)  # (120 frames used)
    second = np.sin(t) + 0.3  # a different sample: offset by 0.3, a hard cut would jump by 0.3
    stitcher = Stitcher(200, 1)
    stitcher.add(0, first[:120])
    stitcher.add(90, second[90:200])  # 30 frames overlap
    out = stitcher.result()
    jumps = np.abs(np.diff(out[:, 0]))
    neighbour = np.abs(np.diff(first[:, 0])).max()
    assert jumps.max() < 0.3 / 2 and jumps.max() < neighbour + 0.3 * np.pi / 2 / 30 + 1e-6
    np.testing.assert_allclose(out[:90], first[:90])
    np.testing.assert_allclose(out[120:], second[120:200])


def test_long_audio_windows_are_stitched_without_jumps(talker):
    # 25 s of noise-modulated tone in the model's training-length windows: the steps at the edges of
    # every crossfade must look like any other frame step.
    rng = np.random.default_rng(0)
    wave = (0.1 * rng.standard_normal(25 * SR)).astype(np.float32)
    anim = talker.animate(wave, sr=SR, seed=0)
    windows = plan_windows(750, talker.window_frames, talker.overlap_frames)
    assert anim.num_frames == 750 and anim.meta["windows"] == len(windows) > 1
    again = talker.animate(wave, sr=SR, seed=0)
    np.testing.assert_array_equal(anim.weights, again.weights)
    steps = np.abs(np.diff(anim.weights, axis=0)).max(axis=1)  # (T-1,) largest channel step per frame
    overlap = talker.overlap_frames
    edges = [i for w in windows[1:] for i in (w.start - 1, w.start, w.start + overlap - 1, w.start + overlap)]
    assert steps[[i for i in edges if i < len(steps)]].max() <= np.percentile(steps, 99.5)


def test_windows_are_10_s_unless_asked_and_the_training_crop_is_recorded(checkpoint):
    """10 s windows by default (the training crop's 2 s close the lips less on real speech); any asked."""
    talker = Talker(checkpoint, device="cpu")
    assert (talker.window_frames, talker.overlap_frames) == (300, 30)  # 10 s at 30 fps, 1 s crossfade
    crop = talker.config.train_window_s
    asked = Talker(checkpoint, device="cpu", window_s=crop, overlap_s=crop / 4)
    assert (asked.window_frames, asked.overlap_frames) == (round(crop * 30), round(crop * 30 / 4))
    wave = (0.1 * np.random.default_rng(0).standard_normal(5 * SR)).astype(np.float32)
    assert talker.animate(wave, sr=SR, seed=0).meta["windows"] == 1 < asked.animate(wave, sr=SR, seed=0).meta["windows"]


def test_ten_minutes_of_silence_animates_in_windows(talker):
    # Speed is a benchmark matter, not a unit-test one: this checks the 10-minute path works end to end.
    anim = talker.animate(np.zeros(600 * SR, np.float32), sr=SR, seed=0, identity="auto")
    assert anim.num_frames == 18000
    assert anim.meta["windows"] == len(plan_windows(18000, talker.window_frames, talker.overlap_frames))
    assert np.isfinite(anim.weights).all()


def test_cli_writes_glb_csv_npz_gif_and_json(checkpoint, speech, tmp_path, capsys):
    _, wav_bytes = speech
    wav = tmp_path / "speech.wav"
    wav.write_bytes(wav_bytes)
    outs = [tmp_path / f"out.{ext}" for ext in ("glb", "csv", "npz", "gif")]
    argv = ["animate", str(wav), "--model", str(checkpoint), "--identity", "auto", "--seed", "0", "--steps", "2",
            "--device", "cpu", "--size", "32", "--json"]
    for out in outs:
        argv += ["-o", str(out)]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 45 and summary["fps"] == 30.0 and summary["identity"] in ("a", "b")
    assert summary["outputs"] == [str(o) for o in outs] and all(o.stat().st_size > 0 for o in outs)
    from dtsdk.animation import Animation

    np.testing.assert_allclose(Animation.load(outs[2]).weights,
                               Talker(checkpoint).animate(wav, seed=0, identity="auto").weights, atol=1e-6)


def test_cli_reports_the_identity_it_chose(checkpoint, speech, tmp_path, capsys):
    """--identity goes through the one resolver: an index typed as digits, and auto with its confidence."""
    _, wav_bytes = speech
    wav = tmp_path / "speech.wav"
    wav.write_bytes(wav_bytes)
    base = ["animate", str(wav), "--model", str(checkpoint), "--steps", "1", "--device", "cpu", "--json"]
    assert main([*base, "--identity", "1", "-o", str(tmp_path / "i.npz")]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["identity"], summary["identity_source"]) == ("b", "library")
    assert "identity: b (library)" in captured.err
    assert main([*base, "--identity", "auto", "-o", str(tmp_path / "a.npz")]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["identity_source"] == "auto" and 0 < summary["identity_confidence"] <= 1
    assert f"(auto, confidence {summary['identity_confidence']:.2f})" in captured.err


@pytest.mark.parametrize("extra, message", [
    (["--identity", "zed"], "unknown identity 'zed'"),
    (["-o", "out.xyz"], "dtsdk animate cannot write '.xyz' files"),
    (["--device", "tpu"], "device"),
])
def test_cli_errors_are_one_line_exit_2(checkpoint, speech, tmp_path, capsys, extra, message):
    _, wav_bytes = speech
    wav = tmp_path / "speech.wav"
    wav.write_bytes(wav_bytes)
    code = main(["animate", str(wav), "-o", str(tmp_path / "a.npz"), "--model", str(checkpoint), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err


def test_cli_missing_audio_and_missing_default_model(monkeypatch, speech, tmp_path, capsys):
    import dtsdk.inference.talker as talker_module

    assert main(["animate", str(tmp_path / "nope.wav"), "-o", str(tmp_path / "a.npz")]) == 2
    assert "nope.wav" in capsys.readouterr().err
    monkeypatch.setattr(talker_module, "DEFAULT_MODEL_DIR", tmp_path / "models" / "default")
    wav = tmp_path / "speech.wav"
    wav.write_bytes(speech[1])
    assert main(["animate", str(wav), "-o", str(tmp_path / "a.npz")]) == 2
    assert "no default model is installed yet" in capsys.readouterr().err


def test_cli_say_speaks_saves_the_wav_and_animates_it(checkpoint, tmp_path, capsys):
    from dtsdk.animation import Animation
    from dtsdk.audio import audio_info

    out = tmp_path / "take" / "hello.npz"
    argv = ["animate", "--say", "Bob bought a map.", "--voice", "flite:slt", "-o", str(out), "--model",
            str(checkpoint), "--seed", "0", "--steps", "2", "--device", "cpu", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    wav = tmp_path / "take" / "hello.wav"
    assert summary["audio"] == str(wav) and wav.is_file()
    assert summary["frames"] == round(audio_info(wav).duration_s * 30)  # the animation matches the saved speech
    np.testing.assert_allclose(Animation.load(out).weights, Talker(checkpoint).animate(wav, seed=0).weights, atol=1e-6)


@pytest.mark.parametrize("argv, message", [
    (["--say", "hi", "--voice", "festival:kal"], "--voice 'festival:kal': expected ENGINE:NAME"),
    (["--say", "  "], "nothing to say"),
    ([], "give a speech file or --say TEXT"),
])
def test_cli_say_errors(checkpoint, tmp_path, capsys, argv, message):
    code = main(["animate", *argv, "-o", str(tmp_path / "a.npz"), "--model", str(checkpoint)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and "\n" not in err
    assert not (tmp_path / "a.wav").exists() and not (tmp_path / "a.npz").exists()


def test_arkit_output_stays_in_the_unit_range(talker, speech):
    wave, _ = speech
    raw = talker.model.sample(torch.from_numpy(wave)[None], 45, identity="a", steps=3,
                              generator=torch.Generator().manual_seed(0)).numpy()
    assert raw.min() < 0 or raw.max() > 1  # the untrained model overshoots, as a sampled one can
    anim = talker.animate(wave, sr=SR, seed=0, identity="a")
    assert anim.weights.min() >= 0.0 and anim.weights.max() <= 1.0


def test_a_rig_is_looked_up_once_per_request(talker, speech, monkeypatch):
    """Two samples retargeted to dtface: one registry lookup for the call, the Rig passed on."""
    import dtsdk.plugins

    wave, _ = speech
    lookups = []
    real = dtsdk.plugins.lookup
    monkeypatch.setattr(dtsdk.plugins, "lookup", lambda kind, name: lookups.append((kind, name)) or real(kind, name))
    samples = talker.animate(wave, sr=SR, seed=0, num_samples=2, rig="dtface")
    assert [s.rig for s in samples] == ["dtface", "dtface"]
    assert [name for kind, name in lookups if kind == "rig"] == ["dtface"], lookups


# -- the fast runtime: batches, threads, compile ---------------------------------------------------


def test_animate_batch_equals_animate_one_by_one_with_the_same_seeds(checkpoint, speech):
    """Windows of equal length across clips run as one batch (batch_windows=True), each with its own noise:
    ddpm draws fresh noise at every step, so this fails unless each window keeps its own generator."""
    wave, wav_bytes = speech
    rng = np.random.default_rng(1)
    long_clip = (0.1 * rng.standard_normal(23 * SR)).astype(np.float32)  # 3 windows: 300, 300, 150 frames
    clips = [wave, long_clip, long_clip[:12 * SR], wav_bytes]
    one_by_one = Talker(checkpoint, device="cpu", sampler="ddpm", steps=3, guidance=2.0, identity="a")
    batched = Talker(checkpoint, device="cpu", sampler="ddpm", steps=3, guidance=2.0, identity="a",
                     batch_windows=True)
    sources = [(c, None if isinstance(c, bytes) else SR) for c in clips]
    expected = [one_by_one.animate(c, sr=sr, seed=s, num_samples=2) for (c, sr), s in zip(sources, [5, 6, 7, 8])]
    arrays = batched.animate_batch(clips[:3], sr=SR, seed=[5, 6, 7], num_samples=2)
    got = arrays + batched.animate_batch([wav_bytes], seed=8, num_samples=2)
    for exp, res in zip(expected, got):
        for e, r in zip(exp, res):
            np.testing.assert_allclose(r.weights, e.weights, atol=1e-5)
            assert r.meta["seed"] == e.meta["seed"] and r.meta["windows"] == e.meta["windows"]
    generic = batched.animate_batch([wave, wave], sr=SR, seed=3, identity=None)
    np.testing.assert_array_equal(generic[0].weights, generic[1].weights)
    np.testing.assert_allclose(generic[0].weights, one_by_one.animate(wave, sr=SR, seed=3, identity=None).weights,
                               atol=1e-5)
    with pytest.raises(DtsdkError, match="got 2 seeds for 3 clips"):
        batched.animate_batch(clips[:3], sr=SR, seed=[1, 2])


def test_compile_is_for_cuda_and_threads_are_capped_at_usable_cpus(checkpoint, monkeypatch):
    import dtsdk.inference.talker as talker_module

    with pytest.raises(DtsdkError, match="compile=True: torch.compile is used on CUDA only"):
        Talker(checkpoint, device="cpu", compile=True)
    before = torch.get_num_threads()
    try:
        assert Talker(checkpoint, device="cpu", threads=1).threads == 1 == torch.get_num_threads()
        monkeypatch.setattr(talker_module, "usable_cpus", lambda: 1)
        torch.set_num_threads(2)
        assert Talker(checkpoint, device="cpu").threads == 1  # torch's default exceeded what this process may use
        with pytest.raises(DtsdkError, match="threads must be at least 1"):
            Talker(checkpoint, device="cpu", threads=0)
    finally:
        torch.set_num_threads(before)
    assert talker_module.usable_cpus() >= 1


def test_sampling_runs_under_inference_mode(talker, speech, monkeypatch):
    import dtsdk.inference.talker as talker_module

    modes = []
    real = talker_module.sample_window

    def spy(*args, **kwargs):
        modes.append(torch.is_inference_mode_enabled())
        return real(*args, **kwargs)
    monkeypatch.setattr(talker_module, "sample_window", spy)
    talker.animate(speech[0], sr=SR, seed=0)
    assert modes == [True]


def test_cli_several_inputs_write_one_file_per_input_and_format(checkpoint, speech, tmp_path, capsys):
    from dtsdk.animation import Animation

    wave, wav_bytes = speech
    first, second = tmp_path / "first.wav", tmp_path / "second.wav"
    first.write_bytes(wav_bytes)
    sf.write(second, wave[: SR // 2], SR)
    out = tmp_path / "anims"
    argv = ["animate", str(first), str(second), "-o", f"{out}/", "--format", "npz,csv", "--model", str(checkpoint),
            "--seed", "4", "--device", "cpu", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["inputs"] == 2 and summary["folder"] == str(out)
    assert sorted(p.name for p in out.iterdir()) == ["first.csv", "first.npz", "second.csv", "second.npz"]
    talker = Talker(checkpoint, device="cpu")
    for wav in (first, second):
        np.testing.assert_allclose(Animation.load(out / f"{wav.stem}.npz").weights,
                                   talker.animate(wav, seed=4).weights, atol=1e-6)


def test_cli_stream_writes_the_streamed_animation_and_reports_latency(checkpoint, speech, tmp_path, capsys):
    from dtsdk.animation import Animation

    wave, wav_bytes = speech
    wav = tmp_path / "speech.wav"
    wav.write_bytes(wav_bytes)
    out = tmp_path / "streamed.npz"
    argv = ["animate", str(wav), "--stream", "--chunk-ms", "40", "-o", str(out), "--model", str(checkpoint),
            "--seed", "2", "--device", "cpu", "--json"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["frames"] == 45 and summary["stream"]["algorithmic_latency_ms"] == 400.0
    assert summary["stream"]["chunk_ms_median"] == 40.0 and summary["stream"]["runs"] >= 7
    assert "each frame is decided 200-400 ms after its audio" in captured.err and "compute per run" in captured.err
    frames = list(Talker(checkpoint, device="cpu").stream([wave], SR, seed=2))  # chunking does not change frames
    expected = np.stack([f.weights for f in frames])
    np.testing.assert_allclose(Animation.load(out).weights, expected, atol=1e-5)


@pytest.mark.parametrize("sampler, guidance", [("ddpm", 1.0), ("ddim", 2.0)])
def test_talker_sampling_path_is_diffusion_talkers(talker, speech, sampler, guidance):
    """Talker samples through inference.sampling.sample_window (so streaming and batches can wrap the sampler);
    it must stay what DiffusionTalker.sample draws, or the two paths have drifted apart."""
    from dtsdk.inference.sampling import sample_window, to_rig_units

    audio = torch.from_numpy(speech[0])[None]
    model = talker.model
    expected = model.sample(audio, 45, identity="b", sampler=sampler, steps=3, identity_guidance=guidance,
                            generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        got = to_rig_units(model, sample_window(model, audio, 45, "b", sampler, 3, torch.Generator().manual_seed(0),
                                                guidance))
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
