"""``dtsdk render``: preview an animation file as MP4 (with audio), GIF or PNG frames."""
from __future__ import annotations

import logging

log = logging.getLogger("dtsdk.render")


def add(subparsers) -> None:
    from dtsdk.renderer.camera import VIEWS
    from dtsdk.rigs import DEFAULT_MESH_RIG

    p = subparsers.add_parser("render", help="render an animation to MP4/GIF/PNG on a mesh rig")
    p.add_argument("animation", help="animation file (.npz, .csv, .glb, .json, ...)")
    p.add_argument("-o", "--output", required=True,
                   help="out.mp4 | out.gif | still.png (first frame) | frames/%%05d.png or frames/ (numbered PNGs)")
    p.add_argument("--rig", help=f"mesh rig to render on (default: the rig the animation file names when it has a "
                                 f"mesh, else {DEFAULT_MESH_RIG})")
    p.add_argument("--audio", help="speech to mux into the MP4 (any audio dtsdk reads)")
    p.add_argument("--format", help="animation file format, when the extension does not say")
    p.add_argument("--size", type=int, default=512, help="frame width and height in pixels (default 512)")
    p.add_argument("--fps", type=float, help="resample the animation to this frame rate first (GIF: at most 25)")
    p.add_argument("--view", default="front", choices=sorted(VIEWS), help="camera angle (default: front)")
    p.add_argument("--antialias", action="store_true", help="2x2 supersampling (about 3-4x slower)")
    p.set_defaults(func=run)


def run(args):
    from dtsdk.animation import Animation
    from dtsdk.cli.console import progress
    from dtsdk.renderer import output_fps, output_kind, render_animation
    from dtsdk.rigs import get_rig

    # Cheap checks first, so a typo fails before a long decode or render.
    output_kind(args.output)
    if args.rig:
        get_rig(args.rig)
    anim = Animation.load(args.animation, format=args.format)
    rig = args.rig or _mesh_rig_of(anim)
    total = max(1, round(anim.duration_s * output_fps(anim, args.output, args.fps)))  # frames after resampling
    with progress("rendering", total=total) as advance:
        summary = render_animation(anim, args.output, rig=rig, audio=args.audio, size=args.size, fps=args.fps,
                                   view=args.view, supersample=2 if args.antialias else 1, progress=advance)
    log.info("wrote %s: %d frames at %g fps in %.1f s (%.1f frames/s)", summary["output"], summary["frames"],
             summary["fps"], summary["seconds"], summary["frames_per_second"] or 0)
    return summary


def _mesh_rig_of(anim) -> str:
    """The rig ``anim`` names when it is a registered mesh rig; else the default mesh rig."""
    from dtsdk.errors import PluginError
    from dtsdk.rigs import DEFAULT_MESH_RIG, get_rig

    try:
        if get_rig(anim.rig).has_mesh:
            return anim.rig
    except PluginError:  # a rig from a plugin not installed here: its motion still retargets through ARKit-52
        log.info("rig '%s' of the animation is not installed; rendering on %s", anim.rig, DEFAULT_MESH_RIG)
    return DEFAULT_MESH_RIG
