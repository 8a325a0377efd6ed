"""The plugin as a user meets it: `dtsdk plugins`, `dtsdk portrait train`, reading images and landmarks."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dtsdk.cli import main
from dtsdk.errors import DtsdkError
from dtsdk.plugins import plugin_infos
from dtsdk_gcgan.images import load_image, load_landmarks
from dtsdk_gcgan.landmarks import mediapipe_available

EXAMPLES = Path(__file__).resolve().parents[1] / "dtsdk_gcgan" / "examples"


def test_dtsdk_plugins_lists_the_plugin_its_command_and_its_renderer(capsys):
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert listed["gcgan"]["registers"] == {"renderer": ["portrait"], "command": ["portrait"]}
    assert listed["gcgan"]["distribution"] == "dtsdk-gcgan" and listed["gcgan"]["status"] == "ok"
    assert any(info.name == "gcgan" for info in plugin_infos())


def test_portrait_train_command_writes_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["portrait", "train", "tiny", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 3 and (out / "model.safetensors").is_file()


def test_portrait_train_with_a_missing_recipe_is_one_line(tmp_path, capsys):
    assert main(["portrait", "train", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dtsdk: error:") and "missing.yaml" in err and "\n" not in err


def test_load_image_crops_and_resizes(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(tmp_path / "face.png")
    assert load_image(tmp_path / "face.png", 64).shape == (64, 64, 3)


def test_a_non_image_file_is_a_one_line_error(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(DtsdkError, match="notes.png: not an image") as err:
        load_image(text, 64)
    assert "\n" not in str(err.value)


def test_landmark_files_need_68_points(tmp_path):
    good = tmp_path / "good.txt"
    np.savetxt(good, np.zeros((68, 2)))
    assert load_landmarks(good).shape == (68, 2)
    short = tmp_path / "short.txt"
    np.savetxt(short, np.zeros((67, 2)))
    with pytest.raises(DtsdkError, match="short.txt: has 134 numbers") as err:
        load_landmarks(short)
    assert "\n" not in str(err.value)


# ---- dtsdk portrait landmarks: an image's or a video's landmarks as a file -----------------------
def _talking_video(path, frames=6):
    """A short MP4 of a shipped example face (enlarged to 256 px, as MediaPipe wants a face that big)."""
    from dtsdk.renderer.video import write_mp4

    face = np.asarray(Image.open(EXAMPLES / "person10000_smile.png").convert("RGB").resize((256, 256)))
    write_mp4([face] * frames, path, 10.0)


@pytest.mark.skipif(not mediapipe_available(), reason="mediapipe is not installed (make test-mediapipe runs this)")
def test_landmarks_of_an_image_and_of_each_video_frame(tmp_path, capsys):
    truth = (np.asarray(json.loads((EXAMPLES / "person10000_smile.json").read_text())["landmarks"]) + 1) / 2 * 128
    assert main(["portrait", "landmarks", str(EXAMPLES / "person10000_smile.png"), "-o", str(tmp_path / "p.txt")]) == 0
    points = np.loadtxt(tmp_path / "p.txt")
    assert points.shape == (68, 2) and np.linalg.norm(points - truth, axis=1)[27:].mean() < 6
    capsys.readouterr()
    _talking_video(tmp_path / "talk.mp4")
    assert main(["portrait", "landmarks", str(tmp_path / "talk.mp4"), "-o", str(tmp_path / "track.json"),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    track = json.loads((tmp_path / "track.json").read_text())
    assert summary["frames"] == 6 and track["fps"] == 10.0 and track["missing"] == []
    track = np.asarray(track["landmarks"])  # (6, 68, 2) in the video's 256 px
    assert track.shape == (6, 68, 2) and np.linalg.norm(track / 2 - truth, axis=2)[:, 27:].mean() < 6


def test_landmarks_bad_inputs_are_one_line(tmp_path, capsys, one_line_error):
    notes = tmp_path / "notes.pdf"
    notes.write_text("not a face")
    assert main(["portrait", "landmarks", str(notes), "-o", str(tmp_path / "p.npy")]) == 2
    one_line_error("notes.pdf", "neither an image")
    broken = tmp_path / "broken.mp4"
    broken.write_text("not a video")
    assert main(["portrait", "landmarks", str(broken), "-o", str(tmp_path / "p.npy")]) == 2
    one_line_error("broken.mp4")
    assert main(["portrait", "landmarks", str(EXAMPLES / "person10000_smile.png"), "-o", str(tmp_path / "p.csv")]) == 2
    one_line_error("p.csv", ".npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.mp4", "notes.pdf"]


@pytest.mark.skipif(mediapipe_available(), reason="checks the message shown without mediapipe")
def test_landmarks_without_mediapipe_say_how_to_get_it(tmp_path, capsys, one_line_error):
    _talking_video(tmp_path / "talk.mp4", frames=2)
    assert main(["portrait", "landmarks", str(tmp_path / "talk.mp4"), "-o", str(tmp_path / "track.npy")]) == 2
    one_line_error("talk.mp4", "needs mediapipe", "pip install 'dtsdk-gcgan[mediapipe]'")
    assert not (tmp_path / "track.npy").exists()
