"""Preview-rendering speed on the default rig (dtface) at 512x512.

    python benchmarks/bench_render.py [--frames 300]

Measures frames per second for rasterization alone (vertices -> RGB frames, compilation warm-up
excluded) and for the full MP4 pipeline (decode + render + H.264 encode + audio mux), and writes
the "Preview rendering" section of docs/benchmarks.md. Target: >= 30 frames/s at 512x512.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_section  # noqa: E402

import dtsdk  # noqa: E402
from dtsdk.renderer import render_animation, render_frames  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args()
    rig = dtsdk.get_rig("dtface")
    hello = dtsdk.Animation.load(ROOT / "examples" / "hello.csv")
    reps = int(np.ceil(args.frames / hello.num_frames))
    anim = dtsdk.Animation(np.tile(hello.weights, (reps, 1))[:args.frames], hello.names, hello.fps,
                           head_pose=np.tile(hello.head_pose, (reps, 1))[:args.frames])
    verts = anim.to_vertices(rig)
    list(render_frames(verts[:2], rig, args.size))  # JIT warm-up (cached after the first run)
    rows = []
    for ss, label in ((1, "rasterize only"), (2, "rasterize only, 2x2 antialiasing")):
        t0 = time.perf_counter()
        n = sum(1 for _ in render_frames(verts, rig, args.size, head_pose=anim.head_pose, supersample=ss))
        rows.append((label, n / (time.perf_counter() - t0)))
    with tempfile.TemporaryDirectory() as tmp:
        audio = np.tile(dtsdk.load_audio(ROOT / "examples" / "hello.wav"), reps)
        wav = Path(tmp) / "a.wav"
        import soundfile as sf

        sf.write(wav, audio, 16000)
        t0 = time.perf_counter()
        summary = render_animation(anim, Path(tmp) / "a.mp4", rig=rig, audio=wav, size=args.size)
        rows.append(("full MP4 pipeline (decode, render, H.264, audio mux)", summary["frames"] / (time.perf_counter() - t0)))
    table = "\n".join(f"| {label} | {fps:.1f} |" for label, fps in rows)
    body = f"""## Preview rendering

`python benchmarks/bench_render.py --frames {args.frames}` on {machine_line()}, {time.strftime('%Y-%m-%d')}.
Rig `dtface` ({rig.num_vertices} vertices, {len(rig.faces)} triangles), {args.size}x{args.size}, numba software
rasterizer (compilation excluded), the bundled example animation with head motion. Target: >= 30 frames/s.

| what | frames/s |
|---|---|
{table}
"""
    print(body)
    write_section("render", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
