"""The portrait commands with the shipped checkpoint: transfer, interpolate, animate, samples; landmarks; bad inputs."""
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dtsdk.cli import main
from dtsdk.errors import DtsdkError
from dtsdk_gcgan import landmarks as lm
from dtsdk_gcgan.portrait import SHIPPED_CHECKPOINT, Portrait
from dtsdk_gcgan.shipped import DEFAULT_CHECKPOINT, checkpoint_folder, shipped_checkpoints

EXAMPLES = Path(__file__).resolve().parents[1] / "dtsdk_gcgan" / "examples"
FACE = EXAMPLES / "person10000_neutral.png"
OTHER = EXAMPLES / "person10001_neutral.png"


@pytest.fixture(scope="module")
def portrait():
    return Portrait()


SHIPPED = shipped_checkpoints()


def test_the_default_checkpoint_is_shipped_and_found_by_name():
    assert SHIPPED[0] == DEFAULT_CHECKPOINT and SHIPPED_CHECKPOINT == checkpoint_folder(None)
    assert (SHIPPED_CHECKPOINT / "model.safetensors").is_file()
    for name in SHIPPED:
        assert Portrait(name).checkpoint == str(checkpoint_folder(name))
        assert Portrait(name).size == int(name.removeprefix("portrait-"))  # named for its size


def test_a_folder_of_a_shipped_name_wins_over_the_shipped_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "portrait-64").mkdir()
    assert checkpoint_folder("portrait-64") == Path("portrait-64")  # the user's folder, not the package's
    with pytest.raises(DtsdkError, match="portrait-64"):
        Portrait("portrait-64")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_checkpoint_is_small_float16_without_the_critic(name):
    from safetensors import safe_open

    weights = checkpoint_folder(name) / "model.safetensors"
    assert weights.stat().st_size < 5e6
    with safe_open(str(weights), "pt") as f:
        keys = list(f.keys())
        assert f.get_tensor("generator.fc.weight").dtype.is_floating_point
        assert str(f.get_tensor("generator.fc.weight").dtype) == "torch.float16"
    assert not any(k.startswith("discriminator.") for k in keys)
    config = json.loads((checkpoint_folder(name) / "config.json").read_text())
    assert config["inference_only"] and config["trained"]["steps"] == config["recipe"]["steps"]


def test_shipped_model_moves_the_mouth_toward_the_target(portrait):
    """On a person it never saw, the neutral face drawn at its own open-mouth landmarks is nearer the
    open-mouth render around the mouth than the same face drawn at its neutral landmarks: the
    landmarks, not only the input image, decide the expression."""
    face = portrait.face(FACE)
    target = portrait.face(EXAMPLES / "person10000_open_mouth.png")
    at_open, at_neutral = portrait.generate(face.image, np.stack([target.landmarks, face.landmarks])).astype(float)
    s = portrait.size / 64
    mouth = slice(round(38 * s), round(56 * s)), slice(round(20 * s), round(44 * s))  # rows, columns of the mouth
    assert np.abs(at_open[mouth] - target.image[mouth]).mean() < np.abs(at_neutral[mouth] - target.image[mouth]).mean()


def test_transfer_command_writes_the_image_and_both_modes(portrait, tmp_path, capsys):
    size = portrait.size  # the default model's; outputs are at it
    out = tmp_path / "out.png"
    assert main(["portrait", "transfer", "--face", str(FACE), "--expression-from",
                 str(EXAMPLES / "person10001_smile.png"), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["face_landmarks"] == "sidecar" and Image.open(out).size == (size, size)
    both = tmp_path / "both.png"
    assert main(["portrait", "transfer", "--face", str(FACE), "--expression-from",
                 str(EXAMPLES / "person10001_smile.png"), "--mode", "both", "-o", str(both)]) == 0
    assert Image.open(both).size == (4 * size + 3 * 2, size)  # face, source, displacement, raw


def test_interpolate_command_strip_and_gif(portrait, tmp_path):
    size = portrait.size
    strip = tmp_path / "strip.png"
    assert main(["portrait", "interpolate", "--face", str(FACE), "--to", str(EXAMPLES / "person10001_open_mouth.png"),
                 "--steps", "5", "-o", str(strip)]) == 0
    image = np.asarray(Image.open(strip))
    assert image.shape == (size, 5 * size, 3)
    frames = image.reshape(size, 5, size, 3).transpose(1, 0, 2, 3).astype(float)
    change = np.abs(np.diff(frames, axis=0)).mean((1, 2, 3))
    assert change.min() > 0  # every step moves
    landmark_file = tmp_path / "open.npy"  # the same target as a landmark file, pixels of its 128 px image
    side = json.loads((EXAMPLES / "person10001_open_mouth.json").read_text())
    np.save(landmark_file, (np.asarray(side["landmarks"]) + 1) / 2 * 128)
    gif = tmp_path / "anim.gif"
    assert main(["portrait", "interpolate", "--face", str(FACE), "--from", str(EXAMPLES / "person10001_smile.png"),
                 "--to", str(landmark_file), "--steps", "4", "-o", str(gif)]) == 0
    assert Image.open(gif).n_frames == 4


def test_animate_command_drives_the_portrait_from_an_animation(tmp_path, capsys):
    from dtsdk.animation import Animation
    from dtsdk.io import save_animation
    from dtsdk.rigs.arkit import ARKIT52

    weights = np.zeros((12, 52), np.float32)
    weights[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, 12)
    anim = tmp_path / "open.npz"
    save_animation(Animation(weights, list(ARKIT52), 24.0, "arkit52"), anim)
    gif = tmp_path / "talk.gif"
    assert main(["portrait", "animate", str(anim), "--face", str(FACE), "--size", "96", "-o", str(gif), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 12 and summary["source"] == "animation"
    im = Image.open(gif)
    assert im.size == (96, 96) and im.n_frames == 12
    first, last = np.asarray(im.convert("RGB"), float), None
    im.seek(11)
    last = np.asarray(im.convert("RGB"), float)
    assert np.abs(first - last)[60:90].mean() > np.abs(first - last)[:30].mean()  # the mouth moved, not the brow


def test_animate_command_from_speech_muxes_the_audio(tmp_path, capsys):
    pytest.importorskip("imageio_ffmpeg")
    speech = Path(__file__).resolve().parents[3] / "examples" / "hello.wav"
    if not speech.is_file():
        pytest.skip("the repository's examples/hello.wav is not here")
    out = tmp_path / "talk.mp4"
    assert main(["portrait", "animate", str(speech), "--face", str(FACE), "--seed", "0", "--size", "64",
                 "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["audio"] and summary["source"] == "speech" and out.stat().st_size > 1000


def test_samples_command_writes_images_with_sidecars(tmp_path):
    assert main(["portrait", "samples", str(tmp_path), "--identities", "1", "--size", "32"]) == 0
    pngs = sorted(tmp_path.glob("*.png"))
    assert len(pngs) == 6 and all(p.with_suffix(".json").is_file() for p in pngs)
    sidecar = json.loads(pngs[0].with_suffix(".json").read_text())
    assert sidecar["space"] == "normalized" and np.asarray(sidecar["neutral_landmarks"]).shape == (68, 2)


# ---- landmarks and transfer ------------------------------------------------------------------

def test_displacement_transfer_keeps_the_face_shape_and_raw_does_not():
    from dtsdk_gcgan.synthetic import draw_identity, expression_weights, person_landmarks

    a, b = draw_identity(10000), draw_identity(10001)
    a_neutral, a_smile = person_landmarks(a, expression_weights(0)), person_landmarks(a, expression_weights(1))
    b_neutral, b_smile = person_landmarks(b, expression_weights(0)), person_landmarks(b, expression_weights(1))
    # The own expression comes back exactly.
    assert np.allclose(lm.transfer_expression(a_neutral, a_smile, a_neutral), a_smile, atol=1e-5)
    # Another person's smile carried onto A is nearer A's own smile than B's raw landmarks are.
    carried = lm.transfer_expression(a_neutral, b_smile, b_neutral)
    assert np.abs(carried - a_smile).mean() < 0.5 * np.abs(b_smile - a_smile).mean()
    # A face twice as large gets a displacement twice as large.
    big = lm.transfer_expression(2 * a_neutral, a_smile, a_neutral) - 2 * a_neutral
    assert np.allclose(big, 2 * (a_smile - a_neutral), atol=1e-4)


def test_a_photo_is_aligned_to_the_training_frame(tmp_path):
    """Without a sidecar, pixel landmarks of a shifted, smaller face are mapped onto the mean face."""
    from dtsdk_gcgan.synthetic import mean_neutral_landmarks

    face = np.asarray(Image.open(FACE).convert("RGB"))
    canvas = np.full((300, 400, 3), 90, np.uint8)
    canvas[150:278, 200:328] = face  # the 128 px face in a corner of a larger picture
    side = json.loads(FACE.with_suffix(".json").read_text())
    pixels = (np.asarray(side["landmarks"]) + 1) / 2 * 128 + [200, 150]
    np.savetxt(tmp_path / "photo.txt", pixels)
    Image.fromarray(canvas).save(tmp_path / "photo.png")
    aligned = lm.read_face(tmp_path / "photo.png", 64, tmp_path / "photo.txt")
    assert aligned.image.shape == (64, 64, 3) and aligned.source.endswith("photo.txt")
    stable = list(lm.STABLE_POINTS)
    assert np.abs(aligned.landmarks[stable] - mean_neutral_landmarks()[stable]).mean() < 0.05


def test_landmark_files_in_every_format(tmp_path):
    points = np.random.default_rng(0).uniform(10, 50, (68, 2))
    np.save(tmp_path / "a.npy", points)
    np.savetxt(tmp_path / "a.txt", points.reshape(-1))
    (tmp_path / "a.json").write_text(json.dumps(points.tolist()))
    (tmp_path / "b.json").write_text(json.dumps({"landmarks": points.tolist(), "space": "normalized"}))
    for name in ("a.npy", "a.txt", "a.json", "b.json"):
        assert np.allclose(lm.read_landmark_file(tmp_path / name).points, points, atol=1e-4)
    assert lm.read_landmark_file(tmp_path / "b.json").space == "normalized"


def test_mediapipe_mapping_is_68_distinct_mesh_vertices():
    assert len(lm.MEDIAPIPE_TO_IBUG68) == 68 and len(set(lm.MEDIAPIPE_TO_IBUG68)) == 68
    assert all(0 <= i < 468 for i in lm.MEDIAPIPE_TO_IBUG68)


# ---- bad inputs: one line, naming the file -------------------------------------------------------

def test_a_non_image_face_is_one_line(tmp_path, capsys, one_line_error):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    assert main(["portrait", "transfer", "--face", str(bad), "--expression-from", str(OTHER), "-o",
                 str(tmp_path / "o.png")]) == 2
    one_line_error("notes.png", "not an image")


def test_a_wrong_landmark_count_is_one_line(tmp_path, capsys, one_line_error):
    short = tmp_path / "short.txt"
    np.savetxt(short, np.zeros((67, 2)))
    assert main(["portrait", "interpolate", "--face", str(FACE), "--to", str(short),
                 "-o", str(tmp_path / "s.png")]) == 2
    one_line_error("short.txt", "134 numbers")
    assert main(["portrait", "transfer", "--face", str(FACE), "--face-landmarks", str(short), "--expression-from",
                 str(OTHER), "-o", str(tmp_path / "o.png")]) == 2
    one_line_error("short.txt", "68")


def test_landmarks_off_the_image_are_one_line(tmp_path, capsys, one_line_error):
    far = tmp_path / "far.npy"
    np.save(far, np.random.default_rng(0).uniform(1000, 2000, (68, 2)))
    assert main(["portrait", "transfer", "--face", str(FACE), "--face-landmarks", str(far), "--expression-from",
                 str(OTHER), "-o", str(tmp_path / "o.png")]) == 2
    one_line_error("person10000_neutral.png", "do not lie on the 128x128 image")


def test_an_image_without_landmarks_or_a_face_is_one_line(tmp_path, capsys, monkeypatch, one_line_error):
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((80, 80, 3), 200, np.uint8)).save(blank)
    monkeypatch.setattr(lm, "mediapipe_available", lambda: False)
    assert main(["portrait", "transfer", "--face", str(blank), "--expression-from", str(OTHER), "-o",
                 str(tmp_path / "o.png")]) == 2
    one_line_error("wall.png", "no landmarks")

    # With MediaPipe (here a stand-in whose face mesh finds nothing, as the real one does on a wall).
    class NoFaceMesh:
        def __init__(self, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def process(self, image):
            return types.SimpleNamespace(multi_face_landmarks=None)

    fake = types.ModuleType("mediapipe")
    fake.solutions = types.SimpleNamespace(face_mesh=types.SimpleNamespace(FaceMesh=NoFaceMesh))
    monkeypatch.setitem(sys.modules, "mediapipe", fake)
    monkeypatch.setattr(lm, "mediapipe_available", lambda: True)
    assert main(["portrait", "transfer", "--face", str(blank), "--expression-from", str(OTHER), "-o",
                 str(tmp_path / "o.png")]) == 2
    one_line_error("wall.png", "no face found")


@pytest.mark.skipif(not lm.mediapipe_available(), reason="mediapipe is not installed")
def test_real_mediapipe_finds_no_face_on_a_wall_and_one_on_a_render(tmp_path):
    blank = np.full((128, 128, 3), 200, np.uint8)
    with pytest.raises(DtsdkError, match="wall.png: no face found"):
        lm.detect_landmarks(blank, "wall.png")
    found = lm.detect_landmarks(np.asarray(Image.open(EXAMPLES / "person10000_smile.png").convert("RGB")))
    truth = (np.asarray(json.loads((EXAMPLES / "person10000_smile.json").read_text())["landmarks"]) + 1) / 2 * 128
    assert np.linalg.norm(found - truth, axis=1)[27:].mean() < 6  # px at 128; the jaw differs more


def test_bad_outputs_and_modes_are_one_line(tmp_path, capsys, one_line_error):
    assert main(["portrait", "interpolate", "--face", str(FACE), "--to", str(OTHER),
                 "-o", str(tmp_path / "x.mp4")]) == 2
    one_line_error("x.mp4", ".png or .gif")
    assert main(["portrait", "interpolate", "--face", str(FACE), "--to", str(OTHER), "--steps", "1",
                 "-o", str(tmp_path / "x.png")]) == 2
    one_line_error("--steps")
    assert main(["portrait", "transfer", "--face", str(EXAMPLES / "person10000_neutral.json"), "--expression-from",
                 str(OTHER), "-o", str(tmp_path / "x.png")]) == 2
    one_line_error("person10000_neutral.json", "landmark file")
