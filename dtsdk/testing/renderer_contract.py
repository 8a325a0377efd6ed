"""What every renderer must satisfy (:class:`dtsdk.renderer.Renderer`), as an inheritable pytest class.

The renderer is looked up by its registered name, so passing also proves the plugin registers it.
It draws a known animation (12 frames at 24 fps, the jaw opening while the head turns) at 64 px
into each kind it declares, and the files are read back: an MP4 must hold every frame at the size
with the audio muxed in, a GIF every frame (by its total duration, as Pillow folds repeated frames),
a PNG one still at the size. Checks for kinds a renderer does not write skip, saying so.
"""
from __future__ import annotations

import numpy as np
import pytest

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError
from dtsdk.rigs import ARKIT52


class RendererContract:
    """Set ``renderer_name``; a renderer with ``needs_image = True`` also implements
    ``make_image(tmp_path) -> path`` (a picture it can draw, e.g. a face with its landmarks)."""

    renderer_name: str = ""
    size: int = 64  # px; even, as MP4 (yuv420p) pads odd sides
    frames: int = 12
    fps: float = 24.0  # under GIF's 25 fps cap, so every kind keeps every frame

    def make_renderer(self):
        from dtsdk.renderer import get_renderer

        return get_renderer(self.renderer_name)

    def make_image(self, tmp_path):
        raise NotImplementedError(f"renderer '{self.renderer_name}' declares needs_image = True: implement "
                                  "make_image(tmp_path) returning the path of a picture it can draw")

    def make_animation(self) -> Animation:
        t = np.arange(self.frames) / self.fps
        w = np.zeros((self.frames, 52), np.float32)
        w[:, ARKIT52.index("jawOpen")] = np.linspace(0, 1, self.frames)  # every frame differs from the last
        w[:, ARKIT52.index("mouthSmileLeft")] = 0.5 * t / t[-1]
        head = np.stack([0.3 * t / t[-1], np.zeros_like(t), np.zeros_like(t)], 1)  # yaw, pitch, roll (radians)
        return Animation(w, ARKIT52, self.fps, rig="arkit52", head_pose=head)

    # ---- helpers ------------------------------------------------------------------------------
    def _inputs(self, tmp_path):
        """(renderer, the folder outputs go to, image or None); inputs live outside that folder."""
        renderer = self.make_renderer()
        inputs = tmp_path / "inputs"
        inputs.mkdir(exist_ok=True)
        image = self.make_image(inputs) if renderer.needs_image else None
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        return renderer, out, image

    def _audio(self, tmp_path):
        import soundfile as sf

        path = tmp_path / "inputs" / "speech.wav"
        seconds = self.frames / self.fps
        sf.write(path, 0.1 * np.sin(np.linspace(0, 2000, int(seconds * 16000))).astype(np.float32), 16000)
        return path

    def _render(self, tmp_path, ext: str, audio: bool = False):
        """(renderer, path, summary) of the animation drawn into ``take<ext>``; skips if ``ext`` is not declared."""
        renderer, out, image = self._inputs(tmp_path)
        if ext not in renderer.extensions:
            pytest.skip(f"renderer '{renderer.name}' does not write {ext} (extensions: {renderer.extensions})")
        path = out / f"take{ext}"
        summary = renderer.render(self.make_animation(), path, audio=self._audio(tmp_path) if audio else None,
                                  image=image, size=self.size)
        assert path.is_file() and path.stat().st_size > 0, f"renderer '{renderer.name}' left no {path.name}"
        return renderer, path, summary

    # ---- what it declares ---------------------------------------------------------------------
    def test_declares_name_and_extensions(self):
        renderer = self.make_renderer()
        assert renderer.name.lower() == self.renderer_name.lower(), (
            f"the renderer registered as '{self.renderer_name}' calls itself '{renderer.name}'")
        assert renderer.extensions, f"renderer '{renderer.name}' declares no extensions: what does it write?"
        bad = [ext for ext in renderer.extensions if not (ext.startswith(".") and ext == ext.lower())]
        assert not bad, f"extensions must be lower case with the dot ('.mp4'), got {bad}"
        assert isinstance(renderer.default_size, int) and renderer.default_size > 0, (
            f"renderer '{renderer.name}': default_size must be a positive number of pixels, "
            f"got {renderer.default_size!r}")

    # ---- what it writes -----------------------------------------------------------------------
    def test_mp4_has_every_frame_at_the_size_and_the_audio(self, tmp_path):
        import subprocess

        imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
        from dtsdk.renderer.video import ffmpeg_executable

        renderer, path, summary = self._render(tmp_path, ".mp4", audio=True)
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        count = sum(1 for _ in reader)
        assert count == self.frames, (f"renderer '{renderer.name}' wrote {count} frames into {path.name} for an "
                                      f"animation of {self.frames} frames at {self.fps:g} fps")
        assert tuple(meta["size"]) == (self.size, self.size), (
            f"renderer '{renderer.name}' drew {meta['size'][0]}x{meta['size'][1]} frames for size={self.size}")
        probe = subprocess.run([ffmpeg_executable(), "-hide_banner", "-i", str(path)], capture_output=True,
                               text=True).stderr
        assert "Audio:" in probe, (f"renderer '{renderer.name}' was given audio= but {path.name} has no audio "
                                   "stream; mux it in (dtsdk.renderer.video.write_mp4(frames, path, fps, wave))")
        assert summary.get("audio") is True, f"renderer '{renderer.name}' muxed audio but its summary says {summary}"

    def test_gif_has_every_frame_at_the_size(self, tmp_path):
        from PIL import Image

        renderer, path, _ = self._render(tmp_path, ".gif")
        with Image.open(path) as im:
            assert im.size == (self.size, self.size), (
                f"renderer '{renderer.name}' drew {im.size[0]}x{im.size[1]} frames for size={self.size}")
            total_ms = 0
            for i in range(im.n_frames):  # Pillow folds repeated frames into one longer one: count by time
                im.seek(i)
                total_ms += im.info.get("duration", 0)
        shown = total_ms / 1000 * self.fps
        assert abs(shown - self.frames) < 0.5, (
            f"renderer '{renderer.name}' wrote a GIF of {total_ms} ms ({shown:.1f} frames at {self.fps:g} fps) "
            f"for {self.frames} frames")

    def test_png_is_one_still_at_the_size(self, tmp_path):
        from PIL import Image

        renderer, path, _ = self._render(tmp_path, ".png")
        with Image.open(path) as im:
            assert im.format == "PNG", f"renderer '{renderer.name}' wrote {im.format} into {path.name}"
            assert im.size == (self.size, self.size), (
                f"renderer '{renderer.name}' drew a {im.size[0]}x{im.size[1]} still for size={self.size}")

    def test_summary_names_what_was_written(self, tmp_path):
        renderer = self.make_renderer()
        _, path, summary = self._render(tmp_path, renderer.extensions[0])
        missing = [k for k in ("output", "frames", "fps", "size", "audio") if k not in summary]
        assert not missing, f"renderer '{renderer.name}': the summary render() returns lacks {missing}: {summary}"
        assert str(summary["output"]) == str(path), f"summary output {summary['output']} is not {path}"

    # ---- what it refuses ----------------------------------------------------------------------
    def test_an_unsupported_extension_is_a_dtsdk_error(self, tmp_path):
        renderer, out, image = self._inputs(tmp_path)
        path = out / "take.xyz"
        for step in ("check", "render"):
            with pytest.raises(DtsdkError, match=r"take\.xyz") as raised:
                if step == "check":
                    renderer.check(path, image=image)
                else:
                    renderer.render(self.make_animation(), path, image=image, size=self.size)
            assert "\n" not in str(raised.value), f"the {step}() error is not one line: {raised.value}"
        left = [p.name for p in out.iterdir()]
        assert not left, f"renderer '{renderer.name}' left {left} for an extension it does not write"

    def test_a_size_outside_its_range_is_refused_before_rendering(self, tmp_path):
        renderer, out, image = self._inputs(tmp_path)
        path = out / f"take{renderer.extensions[0]}"
        low, high = renderer.size_range
        for size in (low - 1, high + 1):
            with pytest.raises(DtsdkError, match=r"take\.") as raised:
                renderer.check(path, image=image, size=size)
            assert "\n" not in str(raised.value), f"the check() error is not one line: {raised.value}"
        renderer.check(path, image=image, size=self.size)  # and the contract's own size passes
        assert not list(out.iterdir()), f"renderer '{renderer.name}' wrote something while checking"

    def test_a_missing_image_is_a_dtsdk_error_naming_it(self, tmp_path):
        renderer, out, _ = self._inputs(tmp_path)
        if not renderer.needs_image:
            pytest.skip(f"renderer '{renderer.name}' declares needs_image = False")
        path = out / f"take{renderer.extensions[0]}"
        missing = tmp_path / "inputs" / "nobody.png"
        with pytest.raises(DtsdkError, match="nobody.png"):
            renderer.check(path, image=missing)
        with pytest.raises(DtsdkError):
            renderer.render(self.make_animation(), path, image=None, size=self.size)
        assert not list(out.iterdir()), f"renderer '{renderer.name}' wrote something without its picture"

    def test_failed_write_leaves_nothing(self, tmp_path, monkeypatch):
        import dtsdk.utils.atomic as atomic

        renderer, out, image = self._inputs(tmp_path)
        animation = self.make_animation()

        def failing_replace(src, dst):
            raise OSError("simulated failure at the final move")

        monkeypatch.setattr(atomic.os, "replace", failing_replace)
        try:
            renderer.render(animation, out / f"take{renderer.extensions[0]}", image=image, size=self.size)
        except OSError:
            pass
        finally:
            monkeypatch.undo()
        left = [p.name for p in out.iterdir()]
        assert not left, (f"a failed render left {left} behind; write through dtsdk.utils.atomic.atomic_path or "
                          "the writers in dtsdk.renderer.video")
