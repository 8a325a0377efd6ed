"""``dtsdk render``: preview an animation file as MP4 (with audio) or GIF."""
from __future__ import annotations


def add(subparsers) -> None:
    p = subparsers.add_parser("render", help="render an animation to MP4/GIF/PNG frames")
    p.add_argument("animation", help="animation file (.npz, .csv, .glb, ...)")
    p.add_argument("-o", "--output", required=True, help="out.mp4 | out.gif")
    p.add_argument("--rig", default="dtface", help="mesh rig to render on (default: dtface)")
    p.add_argument("--audio", help="speech to mux into the MP4")
    p.set_defaults(func=run)


def run(args):
    raise NotImplementedError("render: in progress")
