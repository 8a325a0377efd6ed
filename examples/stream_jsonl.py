"""Stream speech to stdout as JSON lines, one animation frame per line, for a game engine to read.

    python examples/stream_jsonl.py speech.wav --chunk-ms 20 > frames.jsonl
    python examples/stream_jsonl.py speech.wav --realtime | my_engine_reader

The file is read in chunks as a microphone or a TTS engine would deliver them (``--realtime`` paces
them at the speed of speech). The first line is a header with the channel names; every next line is
one frame: ``{"frame": 12, "time_s": 0.4, "weights": [...]}``, weights in the header's order (ARKit-52
for the default model), written as soon as ``Talker.stream`` decides it. Logs go to stderr.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import soundfile as sf

import dtsdk


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", help="a speech file")
    parser.add_argument("--chunk-ms", type=float, default=20.0, help="chunk duration (default 20 ms)")
    parser.add_argument("--realtime", action="store_true", help="deliver the chunks at the speed of speech")
    parser.add_argument("--sampler", default="ddim", help="sampler (default ddim: real time on a laptop CPU)")
    parser.add_argument("--steps", type=int, default=8, help="sampler steps (default 8)")
    parser.add_argument("--identity", default=None, help="a talking identity of the model (default generic)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    talker = dtsdk.Talker(sampler=args.sampler, steps=args.steps, identity=args.identity)
    with sf.SoundFile(args.audio) as f:
        block = max(1, round(args.chunk_ms / 1000 * f.samplerate))
        stream = talker.stream(sr=f.samplerate, seed=args.seed)
        print(json.dumps({"names": list(stream.names), "fps": stream.fps, "rig": stream.rig}), flush=True)
        started = time.perf_counter()
        for i, chunk in enumerate(f.blocks(blocksize=block, dtype="float32", always_2d=True)):
            if args.realtime:  # wait until this chunk would have been spoken
                time.sleep(max(0.0, started + i * block / f.samplerate - time.perf_counter()))
            write(stream.push(chunk))
        write(stream.finish())
    summary = stream.stats.summary()
    print(f"look-ahead {summary['lookahead_ms']} ms, a run every {summary['hop_ms']} ms; compute per run median "
          f"{summary['run_compute_ms_median']} ms; frame latency median {summary['latency_ms_median']} ms",
          file=sys.stderr)


def write(frames) -> None:
    for frame in frames:
        line = {"frame": frame.index, "time_s": round(frame.time_s, 4),
                "weights": [round(float(w), 4) for w in frame.weights]}
        sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
