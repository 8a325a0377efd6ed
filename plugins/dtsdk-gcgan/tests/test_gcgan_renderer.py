"""The talking portrait through dtsdk's renderer hook: the renderer contract, `dtsdk animate --portrait`
end to end (frames, size, audio), and bad inputs as one-line errors that write nothing."""
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dtsdk.cli import main
from dtsdk.plugins import registry
from dtsdk.testing import RendererContract
from dtsdk_gcgan.landmarks import mediapipe_available
from dtsdk_gcgan.talking import PORTRAIT

EXAMPLES = Path(__file__).resolve().parents[1] / "dtsdk_gcgan" / "examples"
FACE = EXAMPLES / "person10000_neutral.png"


class TestPortraitRenderer(RendererContract):
    renderer_name = "portrait"

    def make_image(self, tmp_path):
        return FACE  # its landmark sidecar person10000_neutral.json lies beside it


def test_the_portrait_renderer_is_registered_by_the_plugin():
    entry = registry("renderer")["portrait"]
    assert entry.plugin == "gcgan" and entry.obj is PORTRAIT and PORTRAIT.needs_image


def test_dtsdk_animate_portrait_writes_the_talking_mp4_with_the_audio(speech_wav, tmp_path, capsys):
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    from dtsdk.renderer.video import ffmpeg_executable

    out, anim = tmp_path / "talk.mp4", tmp_path / "talk.npz"
    assert main(["animate", str(speech_wav), "--portrait", str(FACE), "--size", "96", "--seed", "0",
                 "-o", str(out), "-o", str(anim), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["outputs"] == [str(out), str(anim)] and anim.is_file()  # the animation file as usual
    reader = imageio_ffmpeg.read_frames(str(out))
    meta = next(reader)
    frames = np.stack([np.frombuffer(f, np.uint8).reshape(96, 96, 3) for f in reader]).astype(float)
    assert tuple(meta["size"]) == (96, 96) and len(frames) == summary["frames"] == 15  # 0.5 s at 30 fps
    probe = subprocess.run([ffmpeg_executable(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr
    assert "Audio: aac" in probe
    assert frames[0].std() > 20  # a face on its background, not a flat frame (test_gcgan_portrait: the mouth moves)


def test_portrait_animate_and_dtsdk_animate_draw_the_same_frames(tmp_path):
    """`dtsdk portrait animate` goes through the same renderer: from the same animation, the same GIF."""
    from PIL import Image

    animation = _opening_mouth()
    animation.save(tmp_path / "open.npz")
    assert main(["portrait", "animate", str(tmp_path / "open.npz"), "--face", str(FACE), "--size", "64",
                 "-o", str(tmp_path / "command.gif")]) == 0
    PORTRAIT.render(animation, tmp_path / "api.gif", image=FACE, size=64)
    with Image.open(tmp_path / "command.gif") as a, Image.open(tmp_path / "api.gif") as b:
        assert a.n_frames == b.n_frames and np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


def test_a_missing_face_is_one_line_and_writes_nothing(tmp_path, capsys, no_model, one_line_error):
    assert main(["animate", "--say", "Hello", "--portrait", str(tmp_path / "me.png"),
                 "-o", str(tmp_path / "talk.mp4")]) == 2
    one_line_error("me.png", "no such image file")
    assert list(tmp_path.iterdir()) == []  # not even the spoken talk.wav


def test_a_non_image_face_is_one_line(speech_wav, tmp_path, capsys, no_model, one_line_error):
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    assert main(["animate", str(speech_wav), "--portrait", str(notes), "-o", str(tmp_path / "talk.mp4")]) == 2
    one_line_error("notes.png", "not an image")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.png", "speech.wav"]


def test_an_output_the_portrait_cannot_write_is_one_line(speech_wav, tmp_path, capsys, no_model, one_line_error):
    assert main(["animate", str(speech_wav), "--portrait", str(FACE), "-o", str(tmp_path / "talk.webm")]) == 2
    one_line_error("talk.webm", "cannot write '.webm' files", "'portrait' renderer, .mp4, .gif, .png")
    assert main(["animate", str(speech_wav), "--portrait", str(FACE), "--size", "8",
                 "-o", str(tmp_path / "talk.gif")]) == 2
    one_line_error("talk.gif", "at least 16 pixels")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav"]


def test_dtsdk_animate_passes_the_checkpoint_and_face_landmarks_options(small_set, speech_wav, tmp_path, capsys,
                                                                        one_line_error):
    """`--renderer-option checkpoint=... face_landmarks=...` reach the renderer: the frames are those of that
    checkpoint (not the shipped one) for a face whose landmarks come from the named file."""
    import shutil

    from PIL import Image

    from dtsdk.animation import Animation
    from dtsdk_gcgan.train import PortraitRecipe, train

    recipe = PortraitRecipe.from_yaml("tiny")
    recipe.steps = 1
    train(recipe, output=tmp_path / "ckpt", data=small_set)
    face = tmp_path / "me.png"  # no sidecar beside it: its landmarks come only from the option
    shutil.copy(FACE, face)
    shutil.copy(FACE.with_suffix(".json"), tmp_path / "me_points.json")
    common = ["animate", str(speech_wav), "--portrait", str(face), "--size", "64", "--seed", "0"]
    if not mediapipe_available():  # with it, MediaPipe would find the face
        assert main(common + ["-o", str(tmp_path / "no-landmarks.gif")]) == 2
        one_line_error("me.png")
    assert main(common + ["--renderer-option", f"checkpoint={tmp_path / 'ckpt'}", "--renderer-option",
                          f"face_landmarks={tmp_path / 'me_points.json'}", "-o", str(tmp_path / "talk.gif"),
                          "-o", str(tmp_path / "talk.npz")]) == 0
    animation = Animation.load(tmp_path / "talk.npz")
    PORTRAIT.render(animation, tmp_path / "tiny.gif", image=face, size=64, checkpoint=tmp_path / "ckpt",
                    face_landmarks=tmp_path / "me_points.json")
    PORTRAIT.render(animation, tmp_path / "shipped.gif", image=FACE, size=64)

    def first(name):
        with Image.open(tmp_path / name) as im:
            return np.asarray(im.convert("RGB")).astype(int)

    assert np.array_equal(first("talk.gif"), first("tiny.gif"))
    assert np.abs(first("talk.gif") - first("shipped.gif")).mean() > 5  # an untrained model draws no face


needs_mediapipe = pytest.mark.skipif(not mediapipe_available(),
                                     reason="mediapipe is not installed (make test-mediapipe runs these)")


@needs_mediapipe
def test_a_face_without_landmarks_is_found_by_mediapipe_and_talks(speech_wav, tmp_path, capsys):
    """A picture with no sidecar and no landmark file: MediaPipe finds the face, the portrait speaks."""
    import shutil

    from PIL import Image

    face = tmp_path / "render.png"
    shutil.copy(FACE, face)  # without its sidecar
    summary = PORTRAIT.render(_opening_mouth(), tmp_path / "talk.gif", image=face, size=64)
    assert summary["face_landmarks"] == "mediapipe" and summary["frames"] == 6
    with Image.open(tmp_path / "talk.gif") as im:
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB")).astype(float)
    with Image.open(tmp_path / "talk.gif") as im:
        first = np.asarray(im.convert("RGB")).astype(float)
    assert first.std() > 20 and np.abs(last - first).mean() > 0.5  # a face, and the mouth opening changes it
    assert main(["animate", str(speech_wav), "--portrait", str(face), "--size", "64", "-o",
                 str(tmp_path / "cli.png")]) == 0


@needs_mediapipe
def test_a_picture_with_no_face_is_one_line_before_the_model_runs(speech_wav, tmp_path, capsys, no_model,
                                                                  one_line_error):
    from dtsdk.renderer.video import save_png

    wall = tmp_path / "wall.png"
    save_png(np.full((128, 128, 3), 200, np.uint8), wall)
    assert main(["animate", str(speech_wav), "--portrait", str(wall), "-o", str(tmp_path / "talk.mp4")]) == 2
    one_line_error("wall.png", "no face found")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav", "wall.png"]


def _opening_mouth():
    from dtsdk.animation import Animation
    from dtsdk.rigs.arkit import ARKIT52

    weights = np.zeros((6, 52), np.float32)
    weights[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, 6)
    return Animation(weights, list(ARKIT52), 24.0, "arkit52")
