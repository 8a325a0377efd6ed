"""The preview renderer: silhouettes, occlusion, part colours, moving mouths, and the file writers."""
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
    for name in ("a.mp4", "a.gif", "frames/%05d.png"):
        with pytest.raises(RuntimeError):
            render_animation(ramp, tmp_path / name, size=32)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []  # no video, no stray frames
    assert frames_mod  # the module itself is untouched


def uv_sphere(radius=60.0, rings=16, segments=24):
    """A procedural sphere ``(V, 3)``, ``(F, 3)`` (counter-clockwise from outside), +Z toward the viewer."""
    theta = np.linspace(0, np.pi, rings + 1)[:, None]  # from the top (+Y) down
    phi = np.linspace(0, 2 * np.pi, segments, endpoint=False)[None, :]
    verts = np.stack([np.sin(theta) * np.sin(phi), np.cos(theta) * np.ones_like(phi),
                      np.sin(theta) * np.cos(phi)], -1).reshape(-1, 3) * radius
    faces = []
    for r in range(rings):
        for k in range(segments):
            a, b = r * segments + k, r * segments + (k + 1) % segments
            c, d = a + segments, b + segments
            faces += [[a, c, d], [a, d, b]]
    return verts.astype(np.float32), np.array(faces, np.int32)


def test_a_rig_without_parts_is_neutral_grey_and_shaded():
    verts, faces = uv_sphere()
    rig = Rig("ball", "blendshape", ("jawOpen",), verts, faces, np.zeros((1, len(verts), 3), np.float32))
    img = next(render_frames(verts[None], rig, size=64)).astype(int)
    covered = np.abs(img - np.array(BACKGROUND)).sum(-1) > 6
    assert 0.3 < covered.mean() < 0.9  # the ball fills most of the frame, with background around it
    assert not covered[0, 0] and covered[32, 32]
    ball = img[covered]
    assert np.abs(ball[:, 0] - ball[:, 2]).max() < 12  # grey: no hue
    assert ball.sum(-1).std() > 10  # lit, not flat: the lighting varies over the sphere


def test_dtface_parts_get_their_colours():
    rig = dtsdk.get_rig("dtface")
    img = next(render_frames(rig.template_mm[None], rig, size=128)).astype(int)
    mask = np.abs(img - np.array(BACKGROUND)).sum(-1) > 6
    ys, xs = np.nonzero(mask)
    assert abs(xs.mean() - 64) < 6  # the face is centred left-right
    skin = img[int(ys.mean()), 64]
    assert skin[0] > skin[2] + 30  # warm skin in the middle of the face
    lips = img[80:105, 48:80].reshape(-1, 3)
    assert (lips[:, 0] - lips[:, 1] > 60).any()  # red lips in the lower middle


@pytest.mark.parametrize("view", ["front", "three_quarter", "profile"])
def test_every_view_frames_the_face(view):
    rig = dtsdk.get_rig("dtface")
    img = next(render_frames(rig.template_mm[None], rig, size=64, view=view)).astype(int)
    mask = np.abs(img - np.array(BACKGROUND)).sum(-1) > 6
    ys, xs = np.nonzero(mask)
    assert 0.2 < mask.mean() < 0.9
    assert abs(xs.mean() - 32) < 10 and abs(ys.mean() - 32) < 10


def test_unknown_view_and_bad_shapes_are_clear_errors():
    rig = dtsdk.get_rig("dtface")
    with pytest.raises(DtsdkError, match="unknown view 'top'"):
        next(render_frames(rig.template_mm[None], rig, view="top"))
    with pytest.raises(DtsdkError, match="expected vertices"):
        next(render_frames(np.zeros((1, 5, 3)), rig))


def test_supersampling_smooths_edges_at_the_same_size():
    verts, faces = uv_sphere()
    rig = Rig("ball", "blendshape", ("jawOpen",), verts, faces, np.zeros((1, len(verts), 3), np.float32))
    sharp = next(render_frames(verts[None], rig, size=48)).astype(int)
    smooth = next(render_frames(verts[None], rig, size=48, supersample=2)).astype(int)
    assert smooth.shape == sharp.shape == (48, 48, 3)

    def distinct_levels(img):  # along the silhouette, antialiasing adds in-between shades
        return len(np.unique(img[24, :, 1]))

    assert distinct_levels(smooth) >= distinct_levels(sharp)


def test_output_kinds():
    from dtsdk.renderer.video import output_kind

    assert output_kind("a.MP4") == "mp4" and output_kind("a.gif") == "gif"
    assert output_kind("still.png") == "png" and output_kind("f/%04d.png") == "frames"
    assert output_kind("frames_dir") == "frames"
    with pytest.raises(DtsdkError, match="unknown output type"):
        output_kind("a.avi")


def test_mp4_audio_is_cut_to_the_video_length(ramp, tmp_path):
    import subprocess

    from dtsdk.renderer.video import ffmpeg_executable

    long_audio = 0.1 * np.sin(np.linspace(0, 8000, int(4 * ramp.duration_s * 16000))).astype(np.float32)
    render_animation(ramp, tmp_path / "a.mp4", size=32, audio=audio_file(tmp_path, long_audio))
    pcm = subprocess.run([ffmpeg_executable(), "-v", "error", "-i", str(tmp_path / "a.mp4"), "-vn", "-f", "s16le",
                          "-ac", "1", "-ar", "16000", "-"], capture_output=True, check=True).stdout
    audio_s = len(pcm) / 2 / 16000
    assert abs(audio_s - ramp.duration_s) < 0.05  # 0.4 s of video, not the 1.6 s of speech


def test_missing_ffmpeg_names_the_extra(monkeypatch, ramp, tmp_path):
    import imageio_ffmpeg

    from dtsdk.errors import MissingExtraError

    def no_binary():
        raise RuntimeError("no ffmpeg binary for this platform")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", no_binary)
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(MissingExtraError, match=r"dtsdk\[render\]"):
        render_animation(ramp, tmp_path / "a.mp4", size=32)
    assert not (tmp_path / "a.mp4").exists()
    assert render_animation(ramp, tmp_path / "a.gif", size=32)["frames"] == 10  # GIF needs no ffmpeg


def test_png_folder_is_refreshed_and_a_failed_render_keeps_the_old_frames(ramp, tmp_path):
    out = tmp_path / "frames"
    out.mkdir()
    (out / "00099.png").write_bytes(b"stale frame of a longer clip")
    (out / "notes.txt").write_text("not a frame")
    assert render_animation(ramp, out, size=16)["frames"] == 12
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i:05d}.png" for i in range(1, 13)] + ["notes.txt"]


def test_numba_cache_falls_back_when_no_cache_dir_is_writable(monkeypatch):
    from dtsdk.renderer import _kernels

    calls = []

    class FakeNumba:
        @staticmethod
        def njit(cache, **options):
            calls.append(cache)
            if cache:
                raise RuntimeError("cannot cache function 'f': no locator available for file '...'")
            return lambda fn: fn

    monkeypatch.setattr(_kernels, "numba", FakeNumba)
    compiled = _kernels._jit(lambda: 42)
    assert compiled() == 42 and calls == [True, False]


def test_lip_and_brow_borders_are_softened_but_eyes_stay_sharp():
    from dtsdk.renderer.shading import PART_COLORS, albedo, soften_part_borders
    from dtsdk.rigs.base import PART_IRIS

    # A strip of four vertices: skin - lips - lips, and an iris vertex glued to the last lip vertex.
    faces = np.array([[0, 1, 4], [1, 2, 4], [2, 3, 4]], np.int32)
    parts = np.array([PART_SKIN, PART_LIPS, PART_LIPS, PART_IRIS, PART_LIPS], np.uint8)
    base = albedo(parts, 5)
    soft = soften_part_borders(base, faces, parts, keep=0.6)
    assert np.allclose(soft[3], PART_COLORS[PART_IRIS])  # eyes are not blended
    assert not np.allclose(soft[0], base[0]) and not np.allclose(soft[1], base[1])  # across the lip line
    assert np.allclose(soften_part_borders(base, faces, None), base)
