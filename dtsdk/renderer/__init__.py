"""Preview rendering: a shaded software render of a mesh rig, to MP4 (with audio), GIF or PNG.

    from dtsdk.renderer import render_animation
    render_animation(anim, "take.mp4", rig="dtface", audio="take.wav")
"""
from __future__ import annotations

import os
import time

from dtsdk.animation import Animation
from dtsdk.renderer.frames import render_frames
from dtsdk.renderer.video import GIF_MAX_FPS, output_kind, write_gif, write_mp4, write_png_frames


def render_animation(animation: Animation, output: str | os.PathLike, rig="dtface", audio=None, size: int = 512,
                     fps: float | None = None, view: str = "front", supersample: int = 1, progress=None) -> dict:
    """Render ``animation`` on ``rig`` to ``output`` (.mp4, .gif, ``still.png`` or ``frames/%05d.png``).

    ``audio``: anything :func:`dtsdk.load_audio` reads, muxed into MP4 output. ``fps`` resamples the
    animation first (GIF is capped at 25 fps). Returns a summary dict.
    """
    from dtsdk.rigs import get_rig

    kind = output_kind(output)
    rig = get_rig(rig)
    if fps is None and kind == "gif":
        fps = min(animation.fps, GIF_MAX_FPS)
    if fps is not None:
        animation = animation.resample(min(fps, GIF_MAX_FPS) if kind == "gif" else fps)
    wave = None
    if audio is not None and kind == "mp4":
        from dtsdk.audio import load_audio

        wave = load_audio(audio, sr=16000)
    vertices = animation.to_vertices(rig)  # (T, V, 3)
    started = time.perf_counter()

    def frames():
        for frame in render_frames(vertices, rig, size, view, animation.head_pose, supersample):
            yield frame
            if progress:
                progress(1)

    if kind == "mp4":
        count = write_mp4(frames(), output, animation.fps, size, wave)
    elif kind == "gif":
        count = write_gif(frames(), output, animation.fps)
    else:
        count = write_png_frames(frames(), output)
    seconds = time.perf_counter() - started
    return {"output": os.fspath(output), "frames": count, "fps": animation.fps, "rig": rig.name, "size": size,
            "audio": wave is not None, "seconds": round(seconds, 3),
            "frames_per_second": round(count / seconds, 1) if seconds > 0 else None}


__all__ = ["render_animation", "render_frames"]
