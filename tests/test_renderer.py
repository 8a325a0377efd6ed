"""The preview renderer: silhouettes, occlusion, part colours, moving mouths, and the file writers."""
import json

import numpy as np
import pytest

import dtsdk
from dtsdk import ARKIT52, Animation, Rig
from dtsdk.errors import DtsdkError
from dtsdk.renderer import render_animation, render_frames
from dtsdk.renderer.frames import BACKGROUND
from dtsdk.renderer.raster import rasterize
from dtsdk.rigs.base import PART_LIPS, PART_SKIN

BG = np.array(BACKGROUND, np.float32) / 255


def quad_rig(z_far=0.0):
    """Two overlapping squares facing the viewer: a red-lips near one (small) and a skin far one (big)."""
    far = np.array([[-50, -50, z_far], [50, -50, z_far], [50, 50, z_far], [-50, 50, z_far]], np.float32)
    near = np.array([[-20, -20, 10], [20, -20, 10], [20, 20, 10], [-20, 20, 10]], np.float32)
    verts = np.concatenate([far, near])
    faces = np.array([[0, 1, 2], [0, 2, 3], [4, 5, 6], [4, 6, 7]], np.int32)
    parts = np.array([PART_SKIN] * 4 + [PART_LIPS] * 4, np.uint8)
    deltas = np.zeros((1, 8, 3), np.float32)
    deltas[0, 4:, 1] = 25  # "jawOpen" lifts the near square
    return Rig("quads", "blendshape", ("jawOpen",), verts, faces, deltas, regions={"lips": [4], "upper_face": [0]},
               part_ids=parts)


def one_frame(rig, weights=(0.0,)):
    verts = rig.decode(np.array([weights], np.float32))
    return next(render_frames(verts, rig, size=64)).astype(np.float32) / 255


def test_rasterizer_z_buffer_keeps_the_nearer_triangle():
    screen = np.array([[0, 0, 0], [20, 0, 0], [0, 20, 0], [0, 0, 5], [20, 0, 5], [0, 20, 5]], np.float32)
    colors = np.array([[1, 0, 0]] * 3 + [[0, 0, 1]] * 3, np.float32)
    for faces in ([[0, 1, 2], [3, 4, 5]], [[3, 4, 5], [0, 1, 2]]):  # draw order must not matter
        img = rasterize(screen, colors, np.array(faces), (24, 24), (255, 255, 255))
        np.testing.assert_array_equal(img[3, 3], [0, 0, 255])
        np.testing.assert_array_equal(img[22, 22], [255, 255, 255])  # outside both: background


def test_silhouette_is_centred_and_parts_are_coloured():
    img = one_frame(quad_rig())
    mask = np.abs(img - BG).sum(-1) > 0.05
    ys, xs = np.nonzero(mask)
    assert abs(xs.mean() - 32) < 2 and abs(ys.mean() - 32) < 2
    centre, edge = img[32, 32], img[32, 8]
    assert centre[0] > centre[2] + 0.1  # lips red in front
    assert np.abs(centre - edge).sum() > 0.1  # the far square has the skin colour


def test_opening_the_mouth_changes_pixels_where_the_mouth_is():
    rig = dtsdk.get_rig("dtface")
    shut = np.zeros((1, 52), np.float32)
    open_ = shut.copy()
    open_[0, ARKIT52.index("jawOpen")] = 1.0
    frames = [next(render_frames(Animation(w, ARKIT52, 30).to_vertices(rig), rig, size=128)) for w in (shut, open_)]
    diff = np.abs(frames[0].astype(int) - frames[1].astype(int)).sum(-1) > 30
    ys, xs = np.nonzero(diff)
    assert diff.sum() > 100
    assert ys.mean() > 64 and abs(xs.mean() - 64) < 10  # lower middle of the face
    assert diff[:50].sum() < 0.05 * diff.sum()  # the brows and eyes did not move


def test_head_pose_turns_the_head():
    rig = dtsdk.get_rig("dtface")
    verts = np.repeat(rig.template_mm[None], 2, 0)
    pose = np.array([[0, 0, 0], [0.5, 0, 0]], np.float32)
    a, b = render_frames(verts, rig, size=96, head_pose=pose)
    assert np.abs(a.astype(int) - b.astype(int)).sum() > 0


def test_mesh_less_rig_is_a_clear_error():
    with pytest.raises(DtsdkError, match="no mesh"):
        next(render_frames(np.zeros((1, 0, 3)), "arkit52"))


@pytest.fixture
def ramp():
    w = np.zeros((12, 52), np.float32)
    w[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, 12)
    return Animation(w, ARKIT52, 30.0)


def test_gif_has_the_right_frames_and_delay(ramp, tmp_path):
    from PIL import Image

    summary = render_animation(ramp, tmp_path / "a.gif", size=48)
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == summary["frames"] == round(ramp.duration_s * 25)  # GIF is capped at 25 fps
        assert im.info["duration"] == 40


def test_mp4_has_frames_and_audio(ramp, tmp_path):
    import subprocess

    import imageio_ffmpeg

    from dtsdk.renderer.video import ffmpeg_executable

    audio = 0.1 * np.sin(np.linspace(0, 2000, int(ramp.duration_s * 16000))).astype(np.float32)
    render_animation(ramp, tmp_path / "a.mp4", size=51, audio=audio_file(tmp_path, audio))
    frames, _secs = imageio_ffmpeg.count_frames_and_secs(str(tmp_path / "a.mp4"))
    assert frames == 12
    probe = subprocess.run([ffmpeg_executable(), "-i", str(tmp_path / "a.mp4")], capture_output=True, text=True).stderr
    assert "Audio:" in probe and "Video: h264" in probe and "52x52" in probe  # odd sizes padded to even


def audio_file(tmp_path, audio):
    import soundfile as sf

    path = tmp_path / "speech.wav"
    sf.write(path, audio, 16000)
    return path


def test_png_frames_and_still(ramp, tmp_path):
    assert render_animation(ramp, tmp_path / "frames" / "%03d.png", size=32)["frames"] == 12
    assert sorted(p.name for p in (tmp_path / "frames").iterdir())[:2] == ["001.png", "002.png"]
    assert render_animation(ramp, tmp_path / "still.png", size=32)["frames"] == 1


def test_failed_render_leaves_no_file(ramp, tmp_path, monkeypatch):
    import dtsdk.renderer.frames as frames_mod

    def broken(*args, **kwargs):
        yield np.zeros((32, 32, 3), np.uint8)
        raise RuntimeError("rasterizer crashed")

    monkeypatch.setattr("dtsdk.renderer.render_frames", broken)
    for name in ("a.mp4", "a.gif"):
        with pytest.raises(RuntimeError):
            render_animation(ramp, tmp_path / name, size=32)
    assert list(tmp_path.iterdir()) == []
    assert frames_mod  # the module itself is untouched


def test_cli_render_json_and_errors(ramp, tmp_path, capsys):
    from dtsdk.cli import main

    take = tmp_path / "take.npz"
    ramp.save(take)
    assert main(["render", str(take), "-o", str(tmp_path / "out.gif"), "--size", "32", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 10 and result["rig"] == "dtface"
    for argv, message in [
        (["render", str(tmp_path / "missing.npz"), "-o", str(tmp_path / "x.gif")], "missing.npz"),
        (["render", str(take), "-o", str(tmp_path / "x.avi")], "unknown output type"),
        (["render", str(take), "-o", str(tmp_path / "x.gif"), "--rig", "nope"], "unknown rig 'nope'"),
    ]:
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and err.count("\n") == 0
