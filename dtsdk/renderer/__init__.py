"""Preview rendering: a shaded software render of a mesh rig, to MP4 (with audio), GIF or PNG.

    from dtsdk.renderer import render_animation, render_frames, save_png
    render_animation(anim, "take.mp4", rig="dtface", audio="take.wav")
    first = next(render_frames(anim.to_vertices("dtface"), "dtface", size=512))  # uint8 (512, 512, 3)
    save_png(first, "still.png")

Renderers (:class:`Renderer`, :func:`get_renderer`) are what ``dtsdk animate`` draws with, looked up
through the ``register_renderers`` hook: the built-in ``mesh`` (``render_animation`` below, in
:mod:`dtsdk.renderer.mesh`), and plugins' own (the GC-GAN plugin's talking ``portrait``).

CPU only: a numba-compiled z-buffer rasterizer (the ``render`` extra), Gouraud-shaded with a fixed
key/fill light; MP4 goes through the ffmpeg that imageio-ffmpeg bundles, GIF and PNG through Pillow.
"""
from __future__ import annotations

import os
import time
from typing import Callable

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError
from dtsdk.renderer.base import Renderer, RendererOption, get_renderer
from dtsdk.renderer.camera import VIEWS
from dtsdk.renderer.frames import render_frames
from dtsdk.renderer.video import (GIF_MAX_FPS, output_kind, save_png, write_gif, write_mp4,
                                  write_png_frames)
from dtsdk.rigs import DEFAULT_MESH_RIG

MP4_AUDIO_RATE = 48000  # Hz; AAC at the rate players expect, whatever the source rate


def render_animation(animation: Animation, output: str | os.PathLike, rig=DEFAULT_MESH_RIG, audio=None, size: int = 512,
                     fps: float | None = None, view: str = "front", supersample: int = 1,
                     progress: Callable[[int], None] | None = None) -> dict:
    """Render ``animation`` on ``rig`` to ``output``, picked by its name: ``.mp4``, ``.gif``,
    ``still.png`` (first frame), ``frames/%05d.png`` or a folder (numbered PNGs).

    ``audio``: a path (or anything :func:`dtsdk.load_audio` reads) muxed into MP4 output, trimmed
    or padded with silence to the animation's duration. ``fps`` resamples the animation first; GIF
    is capped at 25 fps. ``progress(n)`` is called after each frame. Returns a summary dict
    (``frames``, ``fps``, ``seconds`` of wall time, ``frames_per_second``, ``output``, ...).
    """
    from dtsdk.rigs import get_rig

    kind = output_kind(output)
    rig = get_rig(rig)
    fps = output_fps(animation, output, fps)
    if abs(fps - animation.fps) > 1e-9:
        animation = animation.resample(fps)
    wave = None
    if audio is not None and kind == "mp4":
        from dtsdk.audio import load_audio

        wave = load_audio(audio, sr=MP4_AUDIO_RATE)  # (S,) float32
        wave = _fit_length(wave, int(round(animation.duration_s * MP4_AUDIO_RATE)))
    started = time.perf_counter()
    vertices = animation.to_vertices(rig)  # (T, V, 3) mm

    def frames():
        for frame in render_frames(vertices, rig, size, view, animation.head_pose, supersample):
            yield frame
            if progress is not None:
                progress(1)

    if kind == "mp4":
        count = write_mp4(frames(), output, animation.fps, wave, MP4_AUDIO_RATE)
    elif kind == "gif":
        count = write_gif(frames(), output, animation.fps)
    elif kind == "png":
        first = next(frames(), None)
        if first is None:
            raise DtsdkError(f"{os.fspath(output)}: nothing to write (the animation has no frames)")
        save_png(first, output)
        count = 1
    else:
        count = write_png_frames(frames(), output)
    seconds = time.perf_counter() - started
    return {"output": os.fspath(output), "format": kind, "frames": count, "fps": animation.fps, "rig": rig.name,
            "size": size, "view": view, "audio": wave is not None, "seconds": round(seconds, 3),
            "frames_per_second": round(count / seconds, 1) if seconds > 0 else None}


def output_fps(animation: Animation, output: str | os.PathLike, fps: float | None = None) -> float:
    """The frame rate ``output`` will get: ``fps`` if given, else the animation's; at most 25 for GIF."""
    fps = float(fps or animation.fps)
    return min(fps, GIF_MAX_FPS) if output_kind(output) == "gif" else fps


def _fit_length(wave: np.ndarray, num_samples: int) -> np.ndarray:
    """``wave`` cut or padded with silence to ``num_samples``, so audio and video end together."""
    if len(wave) >= num_samples:
        return wave[:num_samples]
    return np.concatenate([wave, np.zeros(num_samples - len(wave), wave.dtype)])


__all__ = ["render_animation", "render_frames", "save_png", "output_kind", "output_fps", "VIEWS", "Renderer",
           "RendererOption", "get_renderer", "MP4_AUDIO_RATE"]
