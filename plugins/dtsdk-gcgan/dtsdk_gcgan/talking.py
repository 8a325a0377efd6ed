"""The talking portrait: an animation's projected landmarks drive a face image, frame by frame.

The animation (any rig dtsdk can decode onto ``dtface``) is posed on the dtface mesh, its 68
landmark vertices are projected with the synthetic set's front camera (head pose included), and
each frame's displacement from dtface's own neutral is carried onto the portrait's neutral
(:func:`dtsdk_gcgan.landmarks.transfer_expression`), so the portrait keeps its face shape.

:data:`PORTRAIT` is the ``portrait`` renderer the plugin registers through dtsdk's
``register_renderers`` hook: ``dtsdk animate speech.wav --portrait me.png -o talk.mp4`` and
``dtsdk portrait animate`` both draw through it.
"""
from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import numpy as np

from dtsdk.errors import DtsdkError, MissingExtraError
from dtsdk.renderer.base import Renderer, RendererOption
from dtsdk_gcgan.landmarks import Face, transfer_expression

PROJECTION_SIZE = 256  # px of the projection; landmarks are normalised, so any size gives the same points


def animation_landmarks(animation) -> tuple[np.ndarray, np.ndarray]:
    """(landmarks (T, 68, 2), neutral (68, 2)), normalised, of ``animation`` posed on dtface."""
    from dtsdk.rigs import get_rig
    from dtsdk_gcgan.synthetic import _front_camera

    rig = get_rig("dtface")
    camera = _front_camera(PROJECTION_SIZE)
    vertices = animation.to_vertices(rig)[:, rig.landmarks68]  # (T, 68, 3) mm
    poses = animation.head_pose if animation.head_pose is not None else [None] * len(vertices)
    frames = [camera.project(camera.to_camera_space(v, pose))[:, :2] for v, pose in zip(vertices, poses)]
    neutral = camera.project(camera.to_camera_space(rig.template_mm[rig.landmarks68]))[:, :2]  # (68, 2)
    to_norm = 2.0 / PROJECTION_SIZE
    return (np.stack(frames) * to_norm - 1).astype(np.float32), (neutral * to_norm - 1).astype(np.float32)


def portrait_frames(portrait, face: Face, animation) -> np.ndarray:
    """uint8 frames (T, S, S, 3) of ``face`` speaking ``animation``."""
    landmarks, rig_neutral = animation_landmarks(animation)  # (T, 68, 2), (68, 2)
    face_neutral = face.neutral if face.neutral is not None else face.landmarks
    targets = np.stack([transfer_expression(face_neutral, frame, rig_neutral) for frame in landmarks])
    return portrait.generate(face.image, targets)


def write_talking_portrait(frames: np.ndarray, output: str | os.PathLike, fps: float, audio=None,
                           size: int = 256) -> dict:
    """Frames (T, S, S, 3) enlarged to ``size`` px into ``output``: ``.mp4`` (``audio`` muxed in, trimmed
    or padded to the video), ``.gif`` (at most 25 fps, no audio) or a ``.png`` still of the first frame."""
    from PIL import Image

    from dtsdk.renderer import MP4_AUDIO_RATE, _fit_length
    from dtsdk.renderer.video import GIF_MAX_FPS, save_png, write_gif, write_mp4

    suffix = Path(output).suffix.lower()
    if suffix not in (".mp4", ".gif", ".png"):
        raise DtsdkError(f"{os.fspath(output)}: a talking portrait is written as .mp4, .gif or .png")
    if len(frames) == 0:
        raise DtsdkError(f"{os.fspath(output)}: nothing to write (the animation has no frames)")
    big = [np.asarray(Image.fromarray(f).resize((size, size), Image.BICUBIC), np.uint8) for f in frames]
    started = time.perf_counter()
    muxed = False
    if suffix == ".mp4":
        wave = None
        if audio is not None:
            from dtsdk.audio import load_audio

            wave = _fit_length(load_audio(audio, sr=MP4_AUDIO_RATE), int(round(len(big) / fps * MP4_AUDIO_RATE)))
            muxed = True
        write_mp4(big, output, fps, wave, MP4_AUDIO_RATE)
    elif suffix == ".gif":
        step = max(1, int(np.ceil(fps / GIF_MAX_FPS)))  # drop frames rather than let the player clamp
        write_gif(big[::step], output, fps / step)
    else:
        save_png(big[0], output)
    return {"output": os.fspath(output), "frames": len(big), "fps": fps, "size": size, "audio": muxed,
            "write_seconds": round(time.perf_counter() - started, 2)}


@functools.lru_cache(maxsize=4)
def loaded_portrait(checkpoint: str | None = None):
    """The :class:`~dtsdk_gcgan.portrait.Portrait` of ``checkpoint`` (None: the shipped one), loaded once:
    the renderer's ``check`` and ``render`` both need it."""
    from dtsdk_gcgan.portrait import Portrait

    return Portrait(checkpoint)


class PortraitRenderer(Renderer):
    """The talking portrait as a dtsdk renderer: ``image`` is the face picture (PNG/JPEG).

    Options besides the renderer contract's (``dtsdk animate --renderer-option NAME=VALUE``):
    ``face_landmarks`` (a landmark file for ``image``; default: its sidecar, else MediaPipe) and
    ``checkpoint`` (a ``dtsdk portrait train`` folder; default: the shipped model). Frames are drawn at
    the model's size and enlarged to ``size``.
    """

    name = "portrait"
    extensions = (".mp4", ".gif", ".png")
    description = "GC-GAN talking portrait: a face picture driven by the animation's projected landmarks"
    needs_image = True
    default_size = 256
    options = {"face_landmarks": RendererOption("a landmark file of the face picture (default: its sidecar, "
                                                "else MediaPipe)"),
               "checkpoint": RendererOption("a `dtsdk portrait train` folder or a shipped checkpoint's name "
                                             "(default: the default shipped model)")}

    def check(self, output, image=None, size=None, face_landmarks=None, checkpoint=None, **options) -> None:
        """The extension, the size, ffmpeg for MP4, and the face itself (read with its landmarks)."""
        from dtsdk.renderer.video import ffmpeg_executable

        super().check(output, image, size)
        if Path(output).suffix.lower() == ".mp4":
            try:
                ffmpeg_executable()
            except MissingExtraError as exc:
                raise MissingExtraError(f"{os.fspath(output)}: {exc}") from None
        self.face(image, face_landmarks, checkpoint)  # a missing, unreadable or landmark-less face fails here

    def face(self, image, face_landmarks=None, checkpoint=None) -> Face:
        """``image`` read for the model of ``checkpoint``, with its landmarks."""
        return loaded_portrait(None if checkpoint is None else os.fspath(checkpoint)).face(image, face_landmarks)

    def render(self, animation, output, audio=None, image=None, size=None, fps=None, face_landmarks=None,
               checkpoint=None, **options) -> dict:
        """``animation`` spoken by the face in ``image`` into ``output`` (see :func:`write_talking_portrait`);
        other ``options`` (``rig``, ...) do not apply to a portrait and are ignored."""
        self.check(output, image, size, face_landmarks, checkpoint)
        if fps and abs(fps - animation.fps) > 1e-9:
            animation = animation.resample(fps)
        portrait = loaded_portrait(None if checkpoint is None else os.fspath(checkpoint))
        face = portrait.face(image, face_landmarks)
        frames = portrait_frames(portrait, face, animation)
        summary = write_talking_portrait(frames, output, animation.fps, audio, size or self.default_size)
        return {**summary, "face_landmarks": face.source, "checkpoint": portrait.checkpoint}


PORTRAIT = PortraitRenderer()
