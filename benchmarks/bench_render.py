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

import numba
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
    ap.add_argument("--runs", type=int, default=3, help="repeat each measurement, keep the fastest")
    args = ap.parse_args()
    rig = dtsdk.get_rig("dtface")
    hello = dtsdk.Animation.load(ROOT / "examples" / "hello.csv")
    reps = int(np.ceil(args.frames / hello.num_frames))
    anim = dtsdk.Animation(np.tile(hello.weights, (reps, 1))[:args.frames], hello.names, hello.fps,
                           head_pose=np.tile(hello.head_pose, (reps, 1))[:args.frames])
    verts = anim.to_vertices(rig)
    list(render_frames(verts[:2], rig, args.size))  # JIT warm-up (cached on disk after the first run)
    list(render_frames(verts[:2], rig, args.size, supersample=2))

    def best_of(runs, fn):
        """Frames/s of the fastest of ``runs`` runs: other processes on a shared 2-core box only slow runs down."""
        rates = []
        for _ in range(runs):
            t0 = time.perf_counter()
            n = fn()
            rates.append(n / (time.perf_counter() - t0))
        return max(rates)

    rows = []
    for ss, label in ((1, "rasterize only (normals, lighting, z-buffer)"), (2, "rasterize only, 2x2 antialiasing")):
        rate = best_of(args.runs, lambda: sum(1 for _ in render_frames(verts, rig, args.size, head_pose=anim.head_pose,
                                                                       supersample=ss)))
        rows.append((label, rate))
    with tempfile.TemporaryDirectory() as tmp:
        import soundfile as sf

        audio = np.tile(dtsdk.load_audio(ROOT / "examples" / "hello.wav"), reps)
        wav = Path(tmp) / "a.wav"
        sf.write(wav, audio, 16000)
        for ss, label in ((1, "full MP4 pipeline (decode, render, H.264, audio mux)"),
                          (2, "full MP4 pipeline, 2x2 antialiasing")):
            rate = best_of(args.runs, lambda: render_animation(anim, Path(tmp) / "a.mp4", rig=rig, audio=wav,
                                                               size=args.size, supersample=ss)["frames"])
            rows.append((label, rate))
    table = "\n".join(f"| {label} | {fps:.1f} | {1000 / fps:.1f} |" for label, fps in rows)
    body = f"""## Preview rendering

`python benchmarks/bench_render.py --frames {args.frames}` on {machine_line()}, numba {numba.__version__},
{time.strftime('%Y-%m-%d')}.

Rig `dtface` ({rig.num_vertices} vertices, {len(rig.faces)} triangles) at {args.size}x{args.size}, numba software
rasterizer (compilation excluded), `examples/hello.csv` (with head motion) looped to {args.frames} frames, best of
{args.runs} runs. The MP4 rows time `render_animation` end to end: decoding onto the rig, rendering, and libx264
(`-preset veryfast -crf 18`) in a separate ffmpeg process, with `hello.wav` muxed in. Target: >= 30 frames/s at
512x512. Antialiasing (2x2 supersampling, `--antialias`) stays opt-in: it lands close to the target, so the
default keeps a wide margin.

| what | frames/s | ms/frame |
|---|---|---|
{table}
"""
    print(body)
    write_section("render", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
