"""The :class:`Renderer` contract: one way to draw an animation into a video or an image file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dtsdk.errors import DtsdkError, file_error


@dataclass(frozen=True)
class RendererOption:
    """One option a renderer takes beyond the contract's: what it is (``help``), how a command-line
    string becomes its value (``type``: str, int or float) and, when it is one of a few, ``choices``."""

    help: str
    type: type = str
    choices: tuple[str, ...] = ()

    def convert(self, pair: str, value: str):
        try:
            converted = self.type(value)
        except ValueError:
            raise DtsdkError(f"--renderer-option {pair}: '{value}' is not a{'n' if self.type is int else ''} "
                             f"{self.type.__name__}") from None
        if self.choices and converted not in self.choices:
            raise DtsdkError(f"--renderer-option {pair}: choose one of {', '.join(self.choices)}")
        return converted


class Renderer:
    """Subclass, set ``name``/``extensions``, implement ``render`` (and extend ``check``).

    ``render(animation, output, audio=None, image=None, size=None, fps=None, **options)`` draws the
    :class:`~dtsdk.animation.Animation` into ``output``, picked by its extension: ``.mp4`` with
    ``audio`` (a path) muxed in and cut or padded to the video, ``.gif`` (at most 25 fps), ``.png``
    (a still of the first frame), as far as ``extensions`` claims them. ``size`` is the frame side
    in pixels (None: ``default_size``), ``fps`` resamples first (None: the animation's). It
    returns a summary dict with at least ``output``, ``frames``, ``fps``, ``size`` and ``audio``
    (whether audio was muxed in). Writes are atomic (:mod:`dtsdk.utils.atomic`, or the writers in
    :mod:`dtsdk.renderer.video`, which are): a failure leaves nothing at ``output``.

    ``needs_image = True`` for a renderer that draws a given picture (a portrait): ``image`` is then
    the path of that picture, and ``dtsdk animate --portrait FACE.png`` passes it.

    ``check(output, image=None, **options)`` runs before any animation exists, with the options
    ``render`` will get (``dtsdk animate`` calls it with ``size`` before loading the model): a wrong
    extension, a missing or unreadable image, a bad size, a missing dependency is a
    :class:`~dtsdk.errors.DtsdkError` naming the file. ``render`` checks the same.

    Options a renderer may use or ignore: ``rig`` (the mesh rig ``dtsdk animate --rig`` names, when
    it has a mesh); its own, declared in ``options`` (name -> :class:`RendererOption`), which
    ``dtsdk animate --renderer-option NAME=VALUE`` fills (:meth:`parse_options`) and ``dtsdk plugins``
    lists.
    """

    name: str = ""
    extensions: tuple[str, ...] = ()  # what it writes, lower-case with the dot: (".mp4", ".gif", ".png")
    description: str = ""
    needs_image: bool = False  # True: draws the picture passed as image= (dtsdk animate --portrait)
    default_size: int = 512  # frame side in pixels when size=None
    size_range: tuple[int, int] = (16, 4096)  # the sizes it draws; the mesh rasterizer's limits
    options: dict[str, RendererOption] = {}  # its own options, by keyword name (see parse_options)

    def parse_options(self, pairs: list[str] | tuple[str, ...]) -> dict:
        """``["checkpoint=runs/x", ...]`` (``--renderer-option``) as keyword options, each converted
        by its declared type; an unknown name, a pair without ``=`` or a bad value is a one-line error."""
        parsed = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or not name:
                raise DtsdkError(f"--renderer-option {pair}: give NAME=VALUE")
            if name not in self.options:
                known = ", ".join(sorted(self.options)) or "none"
                raise DtsdkError(f"--renderer-option {pair}: the '{self.name}' renderer has no option '{name}' "
                                 f"(its options: {known})")
            parsed[name] = self.options[name].convert(pair, value)
        return parsed

    def check(self, output: str | os.PathLike, image: str | os.PathLike | None = None, size: int | None = None,
              **options) -> None:
        """Fail now, before the animation exists, if ``output`` (with ``image``, at ``size``) cannot be rendered."""
        suffix = Path(output).suffix.lower()
        if suffix not in self.extensions:
            problem = f"'{suffix}' files" if suffix else "files without an extension"
            raise file_error(DtsdkError, output, f"the '{self.name}' renderer cannot write {problem}; "
                                                 f"it writes {', '.join(self.extensions)}")
        low, high = self.size_range
        if size is not None and not low <= size <= high:
            raise file_error(DtsdkError, output, f"the '{self.name}' renderer's frames must be at least {low} "
                                                 f"pixels and at most {high} (--size), got {size}")
        if self.needs_image:
            if image is None:
                raise file_error(DtsdkError, output, f"the '{self.name}' renderer draws a picture: give one "
                                                     "(image=, or --portrait FACE.png on the command line)")
            if not os.path.isfile(image):
                raise file_error(DtsdkError, image, "no such image file")

    def render(self, animation, output: str | os.PathLike, audio=None, image: str | os.PathLike | None = None,
               size: int | None = None, fps: float | None = None, **options) -> dict:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, extensions={self.extensions!r})"


def get_renderer(name: str) -> Renderer:
    """The :class:`Renderer` registered as ``name`` (case-insensitive), or a :class:`~dtsdk.errors.PluginError`
    listing the installed ones."""
    from dtsdk.plugins import lookup

    return lookup("renderer", name).obj
