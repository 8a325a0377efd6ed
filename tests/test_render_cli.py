"""``dtsdk render``: exit codes, --json, audio muxing and one-line errors."""
import json
import subprocess

import numpy as np
import pytest

from dtsdk import ARKIT52, Animation
from dtsdk.cli import main


@pytest.fixture
def take(tmp_path):
    """A 12-frame, 30 fps jaw-opening ramp saved as .npz, and a 0.4 s WAV to go with it."""
    import soundfile as sf

    w = np.zeros((12, 52), np.float32)
    w[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, 12)
    path = tmp_path / "take.npz"
    Animation(w, ARKIT52, 30.0).save(path)
    wav = tmp_path / "speech.wav"
    sf.write(wav, 0.1 * np.sin(np.linspace(0, 2000, 6400)).astype(np.float32), 16000)
    return path, wav


def test_render_gif_prints_the_summary_as_json(take, tmp_path, capsys):
    path, _ = take
    out = tmp_path / "out.gif"
    assert main(["render", str(path), "-o", str(out), "--size", "32", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["output"] == str(out) and out.exists()
    assert result["frames"] == 10 and result["fps"] == 25.0  # GIF capped at 25 fps
    assert result["rig"] == "dtface" and result["seconds"] > 0 and result["frames_per_second"] > 0


def test_render_mp4_with_audio_and_a_view(take, tmp_path, capsys):
    import imageio_ffmpeg

    from dtsdk.renderer.video import ffmpeg_executable

    path, wav = take
    out = tmp_path / "out.mp4"
    code = main(["render", str(path), "-o", str(out), "--audio", str(wav), "--size", "48", "--fps", "15",
                 "--view", "three_quarter", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 6 and result["audio"] is True and result["view"] == "three_quarter"
    assert imageio_ffmpeg.count_frames_and_secs(str(out))[0] == 6
    probe = subprocess.run([ffmpeg_executable(), "-i", str(out)], capture_output=True, text=True).stderr
    assert "Audio: aac" in probe and "Video: h264" in probe and "yuv420p" in probe


def test_render_png_frames_folder(take, tmp_path, capsys):
    path, _ = take
    assert main(["render", str(path), "-o", str(tmp_path / "frames" / "%05d.png"), "--size", "16"]) == 0
    assert len(list((tmp_path / "frames").glob("*.png"))) == 12


@pytest.mark.parametrize("argv_tail, message", [
    (["-o", "{tmp}/x.gif"], "missing.npz"),
    (["-o", "{tmp}/x.avi"], "unknown output type"),
    (["-o", "{tmp}/x.gif", "--rig", "nope"], "unknown rig 'nope'"),
    (["-o", "{tmp}/x.gif", "--size", "4"], "size must be between"),
])
def test_bad_input_is_one_line_with_exit_2(take, tmp_path, capsys, argv_tail, message):
    path, _ = take
    source = str(tmp_path / "missing.npz") if message == "missing.npz" else str(path)
    argv = ["render", source] + [a.format(tmp=tmp_path) for a in argv_tail]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dtsdk: error:") and message in err and "\n" not in err
    assert not list(tmp_path.glob("x.*"))  # nothing written


def test_render_without_rig_uses_the_mesh_rig_the_file_names(tmp_path, capsys):
    example = pytest.importorskip("dtsdk_example_rig")  # a mesh rig of its own (make install-dev installs it)
    w = np.zeros((6, len(example.SHAPES)), np.float32)
    w[:, 0] = np.linspace(0, 1, 6)  # MouthOpen
    path = tmp_path / "mask.npz"
    Animation(w, list(example.SHAPES), 30.0, "example-mask").save(path)
    assert main(["render", str(path), "-o", str(tmp_path / "mask.gif"), "--size", "16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rig"] == "example-mask"


@pytest.mark.parametrize("rig", ["arkit52", "a-rig-not-installed-here"])
def test_render_without_rig_falls_back_to_the_default_mesh_rig(tmp_path, capsys, rig):
    from dtsdk.rigs import DEFAULT_MESH_RIG

    path = tmp_path / "take.npz"
    Animation(np.zeros((3, 52), np.float32), ARKIT52, 30.0, rig).save(path)
    assert main(["render", str(path), "-o", str(tmp_path / "take.gif"), "--size", "16", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rig"] == DEFAULT_MESH_RIG


def test_render_rig_flag_still_wins(take, tmp_path, capsys):
    pytest.importorskip("dtsdk_example_rig")
    path, _ = take
    assert main(["render", str(path), "-o", str(tmp_path / "x.gif"), "--size", "16", "--rig", "example-mask",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rig"] == "example-mask"
