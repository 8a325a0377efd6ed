"""The built-in ``mesh`` renderer: :func:`dtsdk.renderer.render_animation` behind the renderer hook.

It is what ``dtsdk animate -o take.mp4`` draws with (``dtsdk render`` calls ``render_animation``
itself, for its mesh-only options ``--view`` and ``--antialias``, which reach this renderer as
``view=`` and ``supersample=``: ``dtsdk animate --renderer-option view=profile`` gives them too).
"""
from __future__ import annotations

import os

from dtsdk.renderer.base import Renderer, RendererOption
from dtsdk.renderer.camera import VIEWS


class MeshRenderer(Renderer):
    name = "mesh"
    extensions = (".mp4", ".gif", ".png")
    description = "Shaded software render of a mesh rig (default dtface): MP4 with audio, GIF, PNG"
    default_size = 512
    options = {"view": RendererOption("the camera", choices=tuple(VIEWS)),
               "supersample": RendererOption("render at N times the size and average (antialiasing)", int)}

    def check(self, output, image=None, size=None, **options) -> None:
        """The extension and size, then the optional dependencies the rasterizer and writer import lazily."""
        from dtsdk._optional import require
        from dtsdk.errors import MissingExtraError
        from dtsdk.renderer.video import ffmpeg_executable, output_kind

        super().check(output, image, size, **options)
        kind = output_kind(output)
        try:
            require("numba", "render", "Preview rendering")  # the rasterizer, for every output
            if kind == "mp4":
                ffmpeg_executable()  # MP4 goes through ffmpeg; GIF and PNG do not
            else:
                require("PIL.Image", "render", "GIF output" if kind == "gif" else "PNG output")
        except MissingExtraError as exc:
            raise MissingExtraError(f"{os.fspath(output)}: {exc}") from None

    def render(self, animation, output, audio=None, image=None, size=None, fps=None, rig=None, **options) -> dict:
        """``rig``: the mesh rig to draw on (default dtface); ``options``: ``view``, ``supersample``,
        ``progress`` of :func:`~dtsdk.renderer.render_animation`."""
        from dtsdk.renderer import render_animation
        from dtsdk.rigs import DEFAULT_MESH_RIG

        self.check(output, image, size)
        return render_animation(animation, output, rig=rig or DEFAULT_MESH_RIG, audio=audio,
                                size=size or self.default_size, fps=fps, **options)


MESH = MeshRenderer()
