"""Frame sinks: MP4 (ffmpeg over a pipe, audio muxed in), GIF (Pillow, no ffmpeg), PNG stills and frames.

Every writer is atomic: a render that fails half-way leaves no file (and no new frames) at the
output path. Frames are ``uint8 (H, W, 3)`` RGB arrays, consumed lazily from any iterable.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from dtsdk.errors import DtsdkError, MissingExtraError
from dtsdk.utils.atomic import atomic_path

GIF_MAX_FPS = 25.0  # GIF delays are whole 1/100 s; above 25 fps browsers clamp or drift
FRAME_PATTERN = "%05d.png"  # the file names written into a frames folder


def output_kind(path: str | os.PathLike) -> str:
    """What ``path`` asks for: ``mp4``, ``gif``, ``png`` (one still), or ``frames`` (numbered PNGs).

    ``frames/%05d.png`` (a printf pattern) or a folder name without an extension (``frames/``)
    writes numbered PNGs; ``still.png`` writes the first frame only.
    """
    text = os.fspath(path)
    suffix = Path(text).suffix.lower()
    if suffix == ".mp4":
        return "mp4"
    if suffix == ".gif":
        return "gif"
    if suffix == ".png":
        return "frames" if "%" in Path(text).name else "png"
    if suffix == "" or text.endswith(("/", os.sep)) or Path(text).is_dir():
        return "frames"
    raise DtsdkError(f"{text}: unknown output type '{suffix}'; use .mp4, .gif, .png, frames/%05d.png or a folder")


def ffmpeg_executable() -> str:
    """The ffmpeg that imageio-ffmpeg bundles, else one on PATH (Debian's ``ffmpeg`` package)."""
    with contextlib.suppress(Exception):  # not installed, or no binary for this platform
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise MissingExtraError("MP4 output needs ffmpeg, which was not found: pip install 'dtsdk[render]' "
                            "(bundles it through imageio-ffmpeg) or install ffmpeg on PATH; GIF and PNG need no ffmpeg")


def _peek(frames: Iterable[np.ndarray], path) -> tuple[np.ndarray, Iterator[np.ndarray]]:
    """The first frame (to learn the size) and an iterator over all of them."""
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise DtsdkError(f"{os.fspath(path)}: nothing to write (the animation has no frames)")
    return first, _chain(first, it)


def _chain(first, rest):
    yield first
    yield from rest


def write_mp4(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float, audio: np.ndarray | None = None,
              sample_rate: int = 48000, crf: int = 18) -> int:
    """H.264/yuv420p MP4 from RGB frames streamed over a pipe; returns the number of frames written.

    ``audio`` (S,) float32 mono at ``sample_rate`` Hz is muxed as AAC; trim or pad it to the video's
    duration first (:func:`dtsdk.renderer.render_animation` does). Odd frame sizes are padded by one
    pixel (yuv420p needs even sides).
    """
    ffmpeg = ffmpeg_executable()
    first, frames = _peek(frames, path)
    height, width = first.shape[:2]
    with tempfile.TemporaryDirectory(prefix="dtsdk-render-") as scratch, atomic_path(path) as tmp:
        cmd = [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-framerate", f"{fps:.6g}",
               "-i", "pipe:0"]
        if audio is not None:
            import soundfile as sf

            wav = Path(scratch) / "audio.wav"
            sf.write(wav, np.asarray(audio, np.float32), sample_rate, subtype="PCM_16")
            cmd += ["-i", str(wav), "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac", "-b:a", "128k"]
        if width % 2 or height % 2:
            cmd += ["-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2:0:0:color=white"]
        cmd += ["-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p",
                "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        with open(Path(scratch) / "ffmpeg.log", "w+b") as log:
            # stderr goes to a file, not a pipe: a chatty ffmpeg could otherwise fill the pipe and stall.
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
            count = 0
            try:
                for frame in frames:
                    if frame.shape != first.shape:
                        raise DtsdkError(f"{os.fspath(path)}: frame {count} is {frame.shape}, expected {first.shape}")
                    proc.stdin.write(np.ascontiguousarray(frame, np.uint8).tobytes())
                    count += 1
                proc.stdin.close()
            except BrokenPipeError:
                pass  # ffmpeg exited early; its log says why
            except BaseException:
                proc.kill()
                proc.wait()
                raise
            code = proc.wait()
            log.seek(0)
            message = " ".join(log.read().decode(errors="replace").split())
        if code != 0:
            raise DtsdkError(f"{os.fspath(path)}: ffmpeg failed (exit {code}): {message[-400:] or 'no message'}")
    return count


def write_gif(frames: Iterable[np.ndarray], path: str | os.PathLike, fps: float) -> int:
    """Looping GIF through Pillow (no ffmpeg). Returns frames rendered.

    One palette, taken from the first frame, is used for the whole clip so colours do not flicker
    from frame to frame. Delays are whole centiseconds, so keep ``fps`` at or below 25 (100/fps
    rounds otherwise). Pillow folds identical consecutive frames into one longer frame.
    """
    from dtsdk._optional import require

    image_mod = require("PIL.Image", "render", "GIF output")
    first, frames = _peek(frames, path)
    palette = image_mod.fromarray(first).quantize(colors=256, method=image_mod.Quantize.MEDIANCUT)
    indexed = [image_mod.fromarray(f).quantize(palette=palette, dither=image_mod.Dither.NONE) for f in frames]
    with atomic_path(path) as tmp:
        indexed[0].save(tmp, format="GIF", save_all=True, append_images=indexed[1:],
                        duration=int(round(1000 / fps)), loop=0)
    return len(indexed)


def save_png(image: np.ndarray, path: str | os.PathLike) -> str:
    """Write one ``uint8 (H, W, 3)`` image as PNG, atomically; returns the path."""
    from dtsdk._optional import require

    image_mod = require("PIL.Image", "render", "PNG output")
    with atomic_path(path, suffix=".png") as tmp:
        image_mod.fromarray(np.asarray(image, np.uint8)).save(tmp, format="PNG")
    return os.fspath(path)


def write_png_frames(frames: Iterable[np.ndarray], output: str | os.PathLike) -> int:
    """Numbered PNGs: ``out/%05d.png`` (any printf pattern) or a folder ``out/`` (``00001.png``, ...).

    Frames are written into a hidden scratch folder beside the target and moved in only once all
    of them rendered, so a failed render adds nothing; numbered frames left by an earlier, longer
    render are removed so the folder holds exactly this clip.
    """
    from dtsdk._optional import require

    image_mod = require("PIL.Image", "render", "PNG output")
    output = Path(output)
    folder, pattern = (output.parent, output.name) if "%" in output.name else (output, FRAME_PATTERN)
    if not re.fullmatch(r"[^%]*%0?\d*d[^%]*", pattern):
        raise DtsdkError(f"{output}: a frame name needs exactly one printf number such as %05d")
    folder.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".dtsdk-frames.", dir=folder))
    try:
        names = []
        for i, frame in enumerate(frames, start=1):
            names.append(pattern % i)
            image_mod.fromarray(np.asarray(frame, np.uint8)).save(scratch / names[-1], format="PNG")
        if not names:
            raise DtsdkError(f"{output}: nothing to write (the animation has no frames)")
        stale = _numbered_files(folder, pattern) - set(names)
        for name in names:
            os.replace(scratch / name, folder / name)
        for name in stale:
            (folder / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return len(names)


def _numbered_files(folder: Path, pattern: str) -> set[str]:
    """Names in ``folder`` that ``pattern`` (e.g. ``frame_%05d.png``) could have produced."""
    head, _, tail = re.split(r"(%0?\d*d)", pattern, maxsplit=1)
    regex = re.compile(re.escape(head) + r"\d+" + re.escape(tail) + r"\Z")
    return {p.name for p in folder.iterdir() if p.is_file() and regex.match(p.name)}
