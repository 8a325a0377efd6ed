"""The renderer hook: the built-in mesh renderer registers through it, `dtsdk animate` draws with whatever
renderer it names (--renderer, --portrait), and the renderer contract catches renderers that break it."""
import json
import os

import numpy as np
import pytest

import dtsdk
from dtsdk.cli import main
from dtsdk.errors import DtsdkError
from dtsdk.plugins import plugin_infos, registry
from dtsdk.renderer import Renderer, RendererOption, get_renderer
from dtsdk.renderer.video import save_png, write_gif, write_mp4
from dtsdk.testing import RendererContract, temporary_plugin


def gray_frames(animation, size):
    """One flat frame per animation frame, its brightness following the mean weight (every frame differs)."""
    level = animation.weights.mean(axis=1)
    level = (40 + 200 * (level - level.min()) / max(float(np.ptp(level)), 1e-9)).astype(np.uint8)
    return [np.full((size, size, 3), v, np.uint8) for v in level]


class FlatRenderer(Renderer):
    """A correct renderer of flat gray frames, through dtsdk's own writers."""

    name = "flat"
    extensions = (".mp4", ".gif", ".png")
    description = "flat gray frames"
    default_size = 32

    def render(self, animation, output, audio=None, image=None, size=None, fps=None, **options):
        self.check(output, image)
        size = size or self.default_size
        frames = self.frames(animation, size)
        suffix = os.path.splitext(os.fspath(output))[1].lower()
        wave = None
        if suffix == ".mp4":
            if audio is not None:
                wave = dtsdk.load_audio(audio, sr=48000)
            write_mp4(frames, output, animation.fps, wave, 48000)
        elif suffix == ".gif":
            write_gif(frames, output, animation.fps)
        else:
            save_png(frames[0], output)
        return {"output": os.fspath(output), "frames": len(frames), "fps": animation.fps, "size": size,
                "audio": wave is not None}

    def frames(self, animation, size):
        return gray_frames(animation, size)


class HalfTheFrames(FlatRenderer):
    name = "half-the-frames"

    def frames(self, animation, size):
        return gray_frames(animation, size)[::2]


class WrongSize(FlatRenderer):
    name = "wrong-size"

    def frames(self, animation, size):
        return gray_frames(animation, 48)


class AnyExtension(FlatRenderer):
    """Skips the extension check and writes PNG bytes into whatever it is given."""

    name = "any-extension"

    def check(self, output, image=None, **options):
        pass

    def render(self, animation, output, audio=None, image=None, size=None, fps=None, **options):
        from PIL import Image

        Image.fromarray(gray_frames(animation, size or 32)[0]).save(output, format="PNG")
        return {"output": os.fspath(output), "frames": 1, "fps": animation.fps, "size": size, "audio": False}


class NotAtomic(AnyExtension):
    """Checks the extension, but writes straight into the output path."""

    name = "not-atomic"
    extensions = (".png",)

    def check(self, output, image=None, **options):
        Renderer.check(self, output, image)

    def render(self, animation, output, audio=None, image=None, size=None, fps=None, **options):
        self.check(output, image)
        return super().render(animation, output, audio, image, size, fps)


class DropsTheAudio(FlatRenderer):
    name = "drops-the-audio"

    def render(self, animation, output, audio=None, **options):
        return super().render(animation, output, audio=None, **options)


class NeedsAPicture(FlatRenderer):
    name = "needs-a-picture"
    needs_image = True


class WithOptions(FlatRenderer):
    """Flat frames at the gray ``level`` its option names (``dtsdk animate --renderer-option level=N``)."""

    name = "with-options"
    options = {"level": RendererOption("the gray level, 0-255", int),
               "channel": RendererOption("the colour channel lit", choices=("red", "green", "blue"))}

    def render(self, animation, output, audio=None, image=None, size=None, fps=None, level=128, channel=None,
               **options):
        self.level, self.channel = level, channel
        return super().render(animation, output, audio, image, size, fps, **options)

    def frames(self, animation, size):
        frame = np.full((size, size, 3), 0 if self.channel else self.level, np.uint8)
        if self.channel:
            frame[..., ("red", "green", "blue").index(self.channel)] = self.level
        return [frame] * animation.num_frames


class Renderers:
    """A test-local plugin registering every renderer above."""

    @dtsdk.hookimpl
    def register_renderers(self, register):
        for cls in (FlatRenderer, HalfTheFrames, WrongSize, AnyExtension, NotAtomic, DropsTheAudio, NeedsAPicture,
                    WithOptions):
            register(cls.name, cls(), description=cls.__doc__ or "")
        register("not-a-renderer", "a string")


@pytest.fixture
def renderers(fresh_plugins):
    with temporary_plugin(Renderers(), name="renderers"):
        yield


def test_the_mesh_renderer_registers_through_the_hook_and_is_listed(fresh_plugins, capsys):
    entry = registry("renderer")["mesh"]
    assert entry.plugin == "dtsdk.renderer.builtin" and get_renderer("MESH") is entry.obj
    assert {i.name: i for i in plugin_infos()}["dtsdk.renderer.builtin"].registers == {"renderer": ["mesh"]}
    assert main(["plugins", "--json"]) == 0
    listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert listing["dtsdk.renderer.builtin"]["registers"] == {"renderer": ["mesh"]}


def test_plugins_check_flags_a_renderer_that_is_not_one(renderers, capsys):
    assert main(["plugins", "--check", "--json"]) == 0
    status = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}["renderers"]["status"]
    assert "renderer 'not-a-renderer' is a str, not a dtsdk.renderer.base.Renderer" in status, status


# ---- the contract passes a good renderer and catches broken ones --------------------------------
@pytest.mark.usefixtures("renderers")
class TestFlatRenderer(RendererContract):
    renderer_name = "flat"


# broken renderer -> (the check that must fail, what its message must say)
BROKEN = {
    "half-the-frames": [("test_mp4_has_every_frame_at_the_size_and_the_audio", r"wrote 6 frames .* of 12 frames"),
                        ("test_gif_has_every_frame_at_the_size", r"6\.0 frames at 24 fps\) for 12 frames")],
    "wrong-size": [("test_png_is_one_still_at_the_size", r"drew a 48x48 still for size=64"),
                   ("test_mp4_has_every_frame_at_the_size_and_the_audio", r"drew 48x48 frames for size=64")],
    "any-extension": [("test_an_unsupported_extension_is_a_dtsdk_error", r"DID NOT RAISE")],
    "not-atomic": [("test_failed_write_leaves_nothing", r"a failed render left \['take\.png'\] behind")],
    "drops-the-audio": [("test_mp4_has_every_frame_at_the_size_and_the_audio", r"has no audio stream")],
}
CASES = [(name, check, message) for name, checks in BROKEN.items() for check, message in checks]


@pytest.mark.parametrize("name, check, message", CASES, ids=[f"{n}-{c[5:]}" for n, c, _ in CASES])
def test_the_renderer_contract_catches_a_broken_renderer(renderers, tmp_path, monkeypatch, name, check, message):
    import inspect
    import re

    contract = type("OnBroken", (RendererContract,), {"renderer_name": name})()
    method = getattr(contract, check)
    wants = inspect.signature(method).parameters
    kwargs = {k: v for k, v in {"tmp_path": tmp_path, "monkeypatch": monkeypatch}.items() if k in wants}
    with pytest.raises((AssertionError, pytest.fail.Exception)) as failure:
        method(**kwargs)
    text = " ".join(str(failure.value).split())
    assert re.search(message, text), f"the {check} message for '{name}' does not explain it: {text}"


# ---- dtsdk animate picks its renderer through the hook ------------------------------------------
def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("dtsdk: error:") and "\n" not in err and "Traceback" not in err, err
    return err


def test_animate_draws_with_the_renderer_it_names(renderers, speech_wav, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "take.gif"
    assert main(["animate", str(speech_wav), "--renderer", "flat", "--size", "24", "-o", str(out),
                 "-o", str(tmp_path / "take.npz"), "--seed", "0", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    with Image.open(out) as im:
        assert im.size == (24, 24)  # drawn by the flat renderer: the mesh renderer cannot draw flat gray
        assert np.ptp(np.asarray(im.convert("RGB"))) == 0
    assert summary["outputs"] == [str(out), str(tmp_path / "take.npz")]


def test_portrait_without_a_plugin_that_draws_one_says_which_to_install(fresh_plugins, monkeypatch, speech_wav,
                                                                      tmp_path, capsys, no_model):
    monkeypatch.setenv("DTSDK_DISABLE_PLUGIN_AUTOLOAD", "1")  # built-ins only: nothing registers 'portrait'
    face = tmp_path / "face.png"
    save_png(np.zeros((8, 8, 3), np.uint8), face)
    assert main(["animate", str(speech_wav), "--portrait", str(face), "-o", str(tmp_path / "talk.mp4")]) == 2
    err = one_line_error(capsys)
    assert "--portrait" in err and "'portrait' renderer" in err and "installed: mesh" in err, err
    assert "pip install ./plugins/dtsdk-gcgan" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png", "speech.wav"]


def test_animate_renderer_and_portrait_must_fit(renderers, speech_wav, tmp_path, capsys, no_model):
    face = tmp_path / "face.png"
    save_png(np.zeros((8, 8, 3), np.uint8), face)
    assert main(["animate", str(speech_wav), "--renderer", "nope", "-o", str(tmp_path / "a.mp4")]) == 2
    assert "unknown renderer 'nope'; installed: " in one_line_error(capsys)
    assert main(["animate", str(speech_wav), "--renderer", "needs-a-picture", "-o", str(tmp_path / "a.mp4")]) == 2
    assert "'needs-a-picture' renderer draws a picture: give it with --portrait" in one_line_error(capsys)
    assert main(["animate", str(speech_wav), "--renderer", "mesh", "--portrait", str(face),
                 "-o", str(tmp_path / "a.mp4")]) == 2
    assert "the 'mesh' renderer draws no picture" in one_line_error(capsys)
    assert main(["animate", str(speech_wav), "--renderer", "needs-a-picture",
                 "--portrait", str(tmp_path / "nobody.png"), "-o", str(tmp_path / "a.mp4")]) == 2
    assert "nobody.png: no such image file" in one_line_error(capsys)
    assert main(["animate", str(speech_wav), "--renderer", "needs-a-picture", "--portrait", str(face),
                 "-o", str(tmp_path / "a.npz")]) == 2
    assert "no output is drawn" in one_line_error(capsys)
    assert main(["animate", str(speech_wav), "--renderer", "needs-a-picture", "--portrait", str(face),
                 "-o", str(tmp_path / "a.webm")]) == 2
    err = one_line_error(capsys)
    assert "a.webm" in err and "'needs-a-picture' renderer, .mp4, .gif, .png" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["face.png", "speech.wav"]


def test_renderer_check_errors_name_the_file():
    mesh = get_renderer("mesh")
    with pytest.raises(DtsdkError, match=r"take\.webm: the 'mesh' renderer cannot write '\.webm' files; "
                                         r"it writes \.mp4, \.gif, \.png"):
        mesh.check("take.webm")


# ---- renderer options: declared on the renderer, filled by --renderer-option NAME=VALUE ---------
def test_renderer_options_reach_the_renderer_converted(renderers, speech_wav, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "take.png"
    assert main(["animate", str(speech_wav), "--renderer", "with-options", "--renderer-option", "level=77",
                 "--renderer-option", "channel=green", "-o", str(out), "--seed", "0"]) == 0
    with Image.open(out) as im:
        assert np.asarray(im.convert("RGB"))[0, 0].tolist() == [0, 77, 0]  # 77 arrived as an int, green as named


@pytest.mark.parametrize("option, message", [
    ("lvl=3", r"--renderer-option lvl=3: the 'with-options' renderer has no option 'lvl' "
              r"\(its options: channel, level\)"),
    ("level", r"--renderer-option level: give NAME=VALUE"),
    ("=3", r"--renderer-option =3: give NAME=VALUE"),
    ("level=bright", r"--renderer-option level=bright: 'bright' is not an int"),
    ("channel=pink", r"--renderer-option channel=pink: choose one of red, green, blue"),
])
def test_a_bad_renderer_option_is_one_line_before_the_model_runs(renderers, speech_wav, tmp_path, capsys, no_model,
                                                                 option, message):
    import re

    assert main(["animate", str(speech_wav), "--renderer", "with-options", "--renderer-option", option,
                 "-o", str(tmp_path / "take.png")]) == 2
    err = one_line_error(capsys)
    assert re.search(message, err), err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav"]


def test_a_renderer_without_options_refuses_any(renderers):
    with pytest.raises(DtsdkError, match=r"the 'flat' renderer has no option 'level' \(its options: none\)"):
        get_renderer("flat").parse_options(["level=3"])


def test_the_mesh_renderer_takes_its_view_and_supersample(fresh_plugins):
    assert get_renderer("mesh").parse_options(["view=profile", "supersample=2"]) == {"view": "profile",
                                                                                    "supersample": 2}


def test_plugins_lists_each_renderers_options(renderers, capsys):
    assert main(["plugins", "--json"]) == 0
    listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert listing["renderers"]["renderer_options"]["with-options"] == {"level": "the gray level, 0-255",
                                                                        "channel": "the colour channel lit"}
    assert listing["renderers"]["renderer_options"]["flat"] == {}
    assert set(listing["dtsdk.renderer.builtin"]["renderer_options"]["mesh"]) == {"view", "supersample"}
