"""Frame sinks: MP4 (ffmpeg over a pipe, audio muxed in), GIF (Pillow, no ffmpeg), PNG frames.

All of them write atomically: a failed render leaves no file (or folder) at the output path.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np

from dtsdk.errors import DtsdkError
from dtsdk.io.atomic import atomic_dir, atomic_path

VIDEO_FORMATS = {".mp4": "mp4", ".gif": "gif", ".png": "png"}
GIF_MAX_FPS = 25.0  # GIF delays are in 1/100 s; above 25 fps players drift or clamp


def output_kind(path: str | os.PathLike) -> str:
    """``mp4``, ``gif`` or ``png`` (``frames/%05d.png`` or a folder name ending in ``.png``)."""
    kind = VIDEO_FORMATS.get(Path(path).suffix.lower())
    if kind is None:
        raise DtsdkError(f"{os.fspath(path)}: unknown output type; use .mp4, .gif or a %05d.png pattern")
    return kind


def ffmpeg_executable() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # not installed, or its binary is missing on this platform
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise DtsdkError("MP4 output needs ffmpeg: pip install 'dtsdk[render]' (bundles it) or install ffmpeg")


def write_mp4(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float, size: int,
              audio: np.ndarray | None = None, sample_rate: int = 16000, crf: int = 18) -> int:
    """H.264/yuv420p MP4 from RGB frames; ``audio`` (S,) float32 is muxed as AAC. Returns frames written."""
    ffmpeg = ffmpeg_executable()
    even = size + (size % 2)  # yuv420p needs even sides
    with tempfile.TemporaryDirectory(prefix="dtsdk-render-") as scratch, atomic_path(path) as tmp:
        cmd = [ffmpeg, "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
               "-s", f"{size}x{size}", "-r", f"{fps:g}", "-i", "-"]
        if audio is not None:
            import soundfile as sf

            wav = Path(scratch) / "audio.wav"
            sf.write(wav, audio, sample_rate, subtype="PCM_16")
            cmd += ["-i", str(wav), "-c:a", "aac", "-b:a", "128k"]
        if even != size:
            cmd += ["-vf", f"pad={even}:{even}"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        count = 0
        try:
            for frame in frames:
                proc.stdin.write(np.ascontiguousarray(frame).tobytes())
                count += 1
            proc.stdin.close()
        except BrokenPipeError:
            pass
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        err = proc.stderr.read().decode(errors="replace")
        if proc.wait() != 0:
            raise DtsdkError(f"{os.fspath(path)}: ffmpeg failed: {' '.join(err.split())[-300:]}")
    return count


def write_gif(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float) -> int:
    from dtsdk._optional import require

    image_mod = require("PIL.Image", "render", "GIF output")
    images = [image_mod.fromarray(f) for f in frames]
    if not images:
        raise DtsdkError(f"{os.fspath(path)}: nothing to write (the animation has no frames)")
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=int(round(1000 / fps)), loop=0, optimize=False)
    return len(images)


def write_png_frames(frames: Iterable[np.ndarray], pattern: str | os.PathLike) -> int:
    """``out/%05d.png`` writes numbered frames into ``out/``; a plain ``still.png`` writes the first frame."""
    from dtsdk._optional import require

    image_mod = require("PIL.Image", "render", "PNG output")
    pattern = Path(pattern)
    if "%" not in pattern.name:
        first = next(iter(frames), None)
        if first is None:
            raise DtsdkError(f"{pattern}: nothing to write (the animation has no frames)")
        with atomic_path(pattern) as tmp:
            image_mod.fromarray(first).save(tmp, format="PNG")
        return 1
    count = 0
    with atomic_dir(pattern.parent) as folder:
        for i, frame in enumerate(frames):
            image_mod.fromarray(frame).save(folder / (pattern.name % (i + 1)), format="PNG")
            count += 1
    return count
