"""The hooks a dtsdk plugin can implement.

A plugin is a module (or object) with functions decorated by ``dtsdk.hookimpl`` whose names match
the specs below. It is found through the ``dtsdk`` entry-point group::

    [project.entry-points.dtsdk]
    my_rig = "my_package.plugin"

Registrar hooks receive a ``register`` callback and call it once per thing they provide:
``register(name, obj, description="")``. Names are case-insensitive and must be unique across
plugins; a plugin whose name clashes with a built-in's or an earlier plugin's is disabled, with a
warning naming both. dtsdk's own built-ins are registered through these same hooks, before any
third-party plugin.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("dtsdk")


@hookspec
def register_rigs(register):
    """Register mesh rigs (topologies).

    ``obj`` is a :class:`dtsdk.rigs.Rig` or a zero-argument callable returning one; use a callable
    when building the rig is costly, it is then built on first use and cached.
    """


@hookspec
def register_audio_encoders(register):
    """Register audio encoders.

    ``obj`` is a factory ``obj(**config) -> torch.nn.Module`` whose module maps a waveform batch
    ``(B, S)`` at ``module.sample_rate`` Hz to frame-aligned features ``(B, T, module.feature_dim)``
    via ``module(wave, num_frames)``. See :mod:`dtsdk.testing` for the full contract.
    """


@hookspec
def register_samplers(register):
    """Register diffusion samplers.

    ``obj`` is a plain function in the k-diffusion style:
    ``sample(model, x, schedule, cond, steps, callback=None, generator=None) -> x0`` where ``x`` is the
    starting noise ``(B, T, D)``. See :mod:`dtsdk.testing` for the full contract.
    """


@hookspec
def register_exporters(register):
    """Register animation file formats.

    ``obj`` is a :class:`dtsdk.io.Exporter`: a name, the file extensions it claims, ``write`` and,
    where the format carries an animation back, ``read``.
    """


@hookspec
def register_renderers(register):
    """Register renderers: ways to draw an animation into a video or an image (MP4 with the audio, GIF, PNG).

    ``obj`` is a :class:`dtsdk.renderer.Renderer`: a name, the output extensions it writes, whether
    it draws a given picture (``needs_image``, what ``dtsdk animate --portrait`` passes), ``check``
    (cheap checks before any animation exists) and ``render(animation, output, audio=None,
    image=None, size=None, fps=None, **options) -> dict``. Called when the renderer registry is
    first built; dtsdk's own mesh preview is the built-in ``mesh``.
    """


@hookspec
def register_capture_readers(register):
    """Register readers of motion-capture datasets used for training and enrollment.

    ``obj`` is a :class:`dtsdk.capture.CaptureReader`: it says whether it recognises a path and
    yields aligned (audio, animation) clips from it.
    """


@hookspec
def register_commands(subparsers):
    """Add CLI subcommands.

    ``subparsers`` is the ``argparse`` sub-parser action of the ``dtsdk`` command. Add a parser with
    ``subparsers.add_parser(name, help=...)`` and set ``func=callable(args) -> int | dict | None``
    with ``parser.set_defaults(func=...)``. A returned dict is printed as JSON with ``--json``.
    """
