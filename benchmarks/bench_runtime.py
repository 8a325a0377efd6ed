"""Runtime of DiffusionTalker systems on this CPU: the same 10 s of speech, end to end (issue 10).

    python benchmarks/bench_runtime.py [SYSTEM ...] [--onnx SYSTEM ...] [--repeats 5] [--threads 2]
        [--quality [--every 3] [--corpus data/corpus]]

SYSTEM is ``LABEL=CHECKPOINT[:sampler:steps]`` (CHECKPOINT a folder or Hub id, ``default`` for the
packaged model). Defaults: the packaged teacher at its own sampler (ddpm, 100 steps), ddim-50 and
ddim-8. ``--onnx`` systems are exported with ``dtsdk export`` (cached in runs/bench_runtime/) and
run with onnxruntime; default: the packaged model at its own sampler.

Each system is measured in a fresh subprocess (so peak RSS is its own): the model is loaded, one
warm-up call, then ``--repeats`` timed calls of ``Talker(...).animate(array, sr=16000)`` (array
in, encoder included; for ONNX: the noise drawn with numpy and one ``session.run``). Reported: the
median ms per 10 s of audio, the real-time factor (compute / audio duration), peak RSS, size on
disk. Streaming per-chunk compute is measured when ``Talker.stream`` exists, for systems of at most
``--stream-max-steps`` steps (a 100-step stream runs 100 sampler steps per hop). ``--quality`` adds the
scores on the corpus test split (LVE, FDD, diversity, blinks, identity retrieval, style error) and
on swapped_test (style error against the label), with the ``resampled`` floor beside them.
Writes docs/results/bench_runtime.json and the "Runtime" section of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import machine_line, write_results, write_section  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_CHECKPOINT = REPO / "dtsdk" / "models" / "default"
RESULTS = REPO / "docs" / "results" / "bench_runtime.json"
CACHE = REPO / "runs" / "bench_runtime"
SR, DURATION_S = 16000, 10.0
DEFAULT_SYSTEMS = ("teacher=default", "teacher-ddim50=default:ddim:50", "teacher-ddim8=default:ddim:8")
DEFAULT_ONNX = ("teacher (onnxruntime)=default",)
CHUNK_S = 0.1  # streaming chunks of 100 ms
TEXT = ("The quick brown fox jumps over the lazy dog. Bob bought a big map of Paris, and Mary moved "
        "the piano away from the window. We will meet at the museum at five, if the weather stays fine.")


def parse_system(spec: str) -> dict:
    """``LABEL=CHECKPOINT[:sampler:steps]`` -> {label, checkpoint, sampler, steps}."""
    label, sep, rest = spec.partition("=")
    if not sep or not label or not rest:
        raise SystemExit(f"bench_runtime: system '{spec}': write LABEL=CHECKPOINT[:sampler:steps]")
    parts = rest.split(":")
    if len(parts) not in (1, 3):
        raise SystemExit(f"bench_runtime: system '{spec}': give both sampler and steps, or neither")
    checkpoint = os.fspath(DEFAULT_CHECKPOINT) if parts[0] == "default" else parts[0]
    sampler, steps = (parts[1], int(parts[2])) if len(parts) == 3 else (None, None)
    return {"label": label, "checkpoint": checkpoint, "sampler": sampler, "steps": steps}


def speech_10s() -> "np.ndarray":  # noqa: F821 (numpy is imported inside)
    """10.0 s of espeak-ng speech at 16 kHz: the same text and voice every run (deterministic TTS)."""
    import numpy as np

    from dtsdk.corpus.tts import Voice, synthesize

    wave = synthesize(TEXT, Voice("espeak-ng", "en-us+m3")).audio
    samples = int(DURATION_S * SR)
    while len(wave) < samples:  # the text is about 10 s; loop it if this espeak-ng speaks faster
        wave = np.concatenate([wave, wave])
    return np.ascontiguousarray(wave[:samples], dtype=np.float32)


def size_on_disk(path) -> int | None:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return None


# ---- the worker: one system in its own process ---------------------------------------------------
def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def worker(system: dict, audio_path: str, repeats: int, threads: int, stream_max_steps: int = 10) -> dict:
    import numpy as np

    wave = np.load(audio_path)
    if system.get("onnx"):
        return _onnx_worker(system, wave, repeats, threads)
    import torch

    from dtsdk.inference import Talker

    torch.set_num_threads(threads)
    started = time.perf_counter()
    talker = Talker(system["checkpoint"], sampler=system["sampler"], steps=system["steps"], device="cpu")
    load_s = time.perf_counter() - started
    talker.animate(wave, sr=SR, seed=0)  # warm-up: first-call allocations and lazy imports
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        talker.animate(wave, sr=SR, seed=k + 1)
        times.append(time.perf_counter() - start)
    out = {"sampler": talker.sampler, "steps": talker.steps, "times_s": times, "load_s": load_s}
    if not hasattr(talker, "stream"):
        out["stream"] = None
    elif talker.steps > stream_max_steps:
        out["stream"] = {"error": f"{talker.steps} steps: over --stream-max-steps {stream_max_steps}"}
    else:
        out["stream"] = _stream(talker, wave)
    out["peak_rss_mb"] = peak_rss_mb()
    return out


def _stream(talker, wave) -> dict:
    """``Talker.stream`` on 100 ms chunks of the same speech: its own measured stats (compute per chunk,
    look-ahead, algorithmic latency) when it keeps them, else total compute / chunks."""
    chunk = int(CHUNK_S * SR)
    pieces = [wave[i:i + chunk] for i in range(0, len(wave), chunk)]
    try:
        start = time.perf_counter()
        stream = talker.stream(iter(pieces), sr=SR, seed=0)
        frames = sum(1 for _ in stream)
        total = time.perf_counter() - start
    except Exception as exc:  # the streaming API is new; a failure is reported, not fatal to the benchmark
        return {"error": f"{type(exc).__name__}: {exc}"}
    out = {"chunk_s": CHUNK_S, "chunks": len(pieces), "frames": frames, "per_chunk_ms": 1000 * total / len(pieces)}
    stats = getattr(stream, "stats", None)
    if stats is not None and hasattr(stats, "summary"):
        out["stats"] = stats.summary()
    return out


def _onnx_worker(system: dict, wave, repeats: int, threads: int) -> dict:
    import numpy as np
    import onnxruntime as ort

    started = time.perf_counter()
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = ort.InferenceSession(system["onnx"], options, providers=["CPUExecutionProvider"])
    meta = json.loads(session.get_modelmeta().custom_metadata_map["dtsdk"])
    load_s = time.perf_counter() - started
    frames = max(1, round(len(wave) / meta["sample_rate"] * meta["fps"]))
    identity = np.asarray(meta["identities"]["null"], np.float32)[None]  # (1, E)

    def run(seed):
        rng = np.random.default_rng(seed)
        feeds = {"audio": wave[None], "identity": identity,
                 "noise": rng.standard_normal((1, frames, meta["motion_dim"]), dtype=np.float32)}
        if meta["step_draws"]:
            feeds["step_noise"] = rng.standard_normal((meta["step_draws"], 1, frames, meta["motion_dim"]),
                                                      dtype=np.float32)
        return session.run(["motion"], feeds)[0]

    run(0)
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        run(k + 1)
        times.append(time.perf_counter() - start)
    return {"sampler": meta["sampler"], "steps": meta["steps"], "times_s": times, "load_s": load_s, "stream": None,
            "peak_rss_mb": peak_rss_mb()}


def measure(system: dict, audio_path: str, repeats: int, threads: int, stream_max_steps: int = 10) -> dict:
    """Run :func:`worker` in a fresh interpreter with ``threads`` threads -> its JSON."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--worker", json.dumps(system), "--audio", audio_path,
           "--repeats", str(repeats), "--threads", str(threads), "--stream-max-steps", str(stream_max_steps)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"bench_runtime: {system['label']} failed:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def onnx_file(system: dict) -> Path:
    """The exported graph of ``system`` (exported once, reused while its metadata matches)."""
    from dtsdk.export import export_onnx

    slug = re.sub(r"[^A-Za-z0-9]+", "-", system["label"]).strip("-")
    path = CACHE / f"{slug}.onnx"
    meta_path = Path(os.fspath(path) + ".json")
    if path.is_file() and meta_path.is_file():
        meta = json.loads(meta_path.read_text())
        if meta["model"] == system["checkpoint"] and system["sampler"] in (None, meta["sampler"]) and \
                system["steps"] in (None, meta["steps"]):
            return path
    print(f"exporting {system['label']} to {path} ...", file=sys.stderr)
    export_onnx(system["checkpoint"], path, sampler=system["sampler"], steps=system["steps"])
    return path


# ---- quality -------------------------------------------------------------------------------------
def quality(systems: list[dict], corpus: str, every: int, samples: int) -> dict:
    """Scores on test (own and auto identity) and swapped_test (the label's identity), with the floor; one thread
    (the scores do not depend on it, and a shared machine runs one thread best)."""
    import torch

    from dtsdk.eval.harness import evaluate_model

    torch.set_num_threads(1)
    out = {}
    for s in systems:
        kw = dict(sampler=s["sampler"], steps=s["steps"], every=every, num_samples=samples, device="cpu")
        out[s["label"]] = {"test": evaluate_model(s["checkpoint"], corpus, "test", systems=["identity", "auto"], **kw),
                           "swapped_test": evaluate_model(s["checkpoint"], corpus, "swapped_test",
                                                          systems=["identity"], **kw)}
    out["resampled"] = {split: evaluate_model(None, corpus, split, systems=["resampled"], every=every,
                                              num_samples=samples) for split in ("test", "swapped_test")}
    return out


def quality_tables(q: dict) -> str:
    from dtsdk.eval.harness import comparison_table

    floor = q["resampled"]["test"]["systems"]["resampled"]
    rows = []
    for label, res in q.items():
        if label != "resampled":
            rows += [(f"{label}, own identity", res["test"]["systems"]["identity"]),
                     (f"{label}, auto identity", res["test"]["systems"]["auto"])]
    rows.append(("corpus resampled (the floor)", floor))
    swapped_floor = q["resampled"]["swapped_test"]["systems"]["resampled"]
    swapped = [(f"{label}, label identity", res["swapped_test"]["systems"]["identity"])
               for label, res in q.items() if label != "resampled"]
    swapped.append(("corpus resampled (the floor)", swapped_floor))
    first = next(v for k, v in q.items() if k != "resampled")["test"]
    sw = next(v for k, v in q.items() if k != "resampled")["swapped_test"]
    return (f"Quality on the test split ({first['num_clips']} clips, every {first['every']}th; "
            f"{first['num_samples']} samples per clip):\n\n{comparison_table(rows, floor=floor)}\n"
            f"Style-swapped clips (`swapped_test`, voice A in style B, scored against B; {sw['num_clips']} clips):"
            f"\n\n{comparison_table(swapped, floor=swapped_floor)}")


# ---- the report ----------------------------------------------------------------------------------
def _fmt_size(n) -> str:
    return "–" if n is None else f"{n / 1e6:.1f} MB"


def speed_table(rows: list[dict]) -> str:
    lines = ["| system | runtime | threads | sampler | steps | ms per 10 s (median) | min–max ms | real-time factor | "
             "peak RSS (MB) | size on disk | load (s) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ms = [1000 * t for t in r["times_s"]]
        median = statistics.median(ms)
        lines.append(f"| {r['label']} | {r['runtime']} | {r['threads']} | {r['sampler'] or '–'} | {r['steps']} | "
                     f"{median:.0f} | "
                     f"{min(ms):.0f}–{max(ms):.0f} | {median / 1000 / DURATION_S:.4f} | {r['peak_rss_mb']:.0f} | "
                     f"{_fmt_size(r['bytes'])} | {r['load_s']:.2f} |")
    return "\n".join(lines) + "\n"


def thread_note(rows: list[dict]) -> str:
    """When both 1 and 2 threads were measured: how much slower torch ran with 2 (a shared core shows here)."""
    one = {r["label"]: statistics.median(r["times_s"]) for r in rows if r["runtime"] == "torch" and r["threads"] == 1}
    two = {r["label"]: statistics.median(r["times_s"]) for r in rows if r["runtime"] == "torch" and r["threads"] == 2}
    common = [k for k in one if k in two]
    if not common:
        return ""
    ratios = ", ".join(f"{k} {two[k] / one[k]:.2f}x" for k in common)
    why = (" Above 1, the second thread costs more than it brings: its OpenMP threads wait on a core another "
           "process holds." if any(two[k] > one[k] for k in common) else "")
    return f"torch with 2 threads against 1 (time ratio): {ratios}.{why}\n"


def stream_lines(rows: list[dict]) -> str:
    measured = [r for r in rows if r.get("stream")]
    if not measured:
        return ("Streaming: **not measured**: `Talker.stream` does not exist in this checkout (the compute per "
                "chunk and look-ahead columns are filled by this script once it does).\n")
    lines = [f"Streaming (`Talker.stream` at its defaults, fed {CHUNK_S * 1000:.0f} ms chunks of the same speech as "
             "fast as it takes them; the stream's own stats):", "",
             "| system | threads | compute per chunk, mean (ms) | max (ms) | compute / audio | look-ahead (ms) | "
             "algorithmic latency (ms) | model runs, median (ms) |", "|---|---|---|---|---|---|---|---|"]
    for r in measured:
        s = r["stream"]
        if "error" in s:
            lines.append(f"| {r['label']} | {r['threads']} | not measured ({s['error']}) | – | – | – | – | – |")
            continue
        st = s.get("stats") or {}
        mean = st.get("chunk_compute_ms_mean", s["per_chunk_ms"])
        lines.append(f"| {r['label']} | {r['threads']} | {mean:.1f} | {_cell(st.get('chunk_compute_ms_max'))} | "
                     f"{_cell(st.get('compute_per_audio'), '.1%')} | {_cell(st.get('lookahead_ms'))} | "
                     f"{_cell(st.get('algorithmic_latency_ms'))} | {_cell(st.get('run_compute_ms_median'))} |")
    return "\n".join(lines) + "\n"


def _cell(value, fmt: str = ".0f") -> str:
    return "–" if value is None else format(value, fmt)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("systems", nargs="*", help="LABEL=CHECKPOINT[:sampler:steps] (default: "
                                               + ", ".join(DEFAULT_SYSTEMS) + ")")
    ap.add_argument("--onnx", action="append", help="LABEL=CHECKPOINT[:sampler:steps] run through onnxruntime "
                                                    f"(default: {DEFAULT_ONNX[0]}); --onnx none for none")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", default="2", help="threads per run; a comma list measures each (e.g. 1,2)")
    ap.add_argument("--stream-max-steps", type=int, default=10,
                    help="measure Talker.stream only for systems of at most this many steps (default 10)")
    ap.add_argument("--quality", action="store_true", help="also score the systems on the corpus (slow)")
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--every", type=int, default=3, help="with --quality: every N-th clip (default 3)")
    ap.add_argument("--samples", type=int, default=2, help="with --quality: samples per clip, for diversity")
    ap.add_argument("--no-write", action="store_true", help="print the section, leave docs/ alone")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--audio", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker), args.audio, args.repeats, int(args.threads),
                                args.stream_max_steps)))
        return 0

    systems = [parse_system(s) for s in (args.systems or DEFAULT_SYSTEMS)]
    thread_counts = [int(n) for n in args.threads.split(",")]
    onnx_specs = [] if args.onnx == ["none"] else (args.onnx or list(DEFAULT_ONNX))
    onnx_systems = [parse_system(s) for s in onnx_specs]
    today, load_at_start = time.strftime("%Y-%m-%d"), os.getloadavg()[0]
    started = time.perf_counter()
    import numpy as np

    wave = speech_10s()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        audio_path = os.path.join(tmp, "speech.npy")
        np.save(audio_path, wave)
        for threads in thread_counts:
            for s in systems:
                r = measure(s, audio_path, args.repeats, threads, args.stream_max_steps)
                rows.append({**s, **r, "runtime": "torch", "threads": threads, "bytes": size_on_disk(s["checkpoint"])})
                print(f"{s['label']}, {threads} threads: median {1000 * statistics.median(r['times_s']):.0f} ms",
                      file=sys.stderr)
            for s in onnx_systems:
                path = onnx_file(s)
                r = measure({**s, "onnx": os.fspath(path)}, audio_path, args.repeats, threads)
                rows.append({**s, **r, "runtime": "onnxruntime", "threads": threads, "bytes": size_on_disk(path),
                             "onnx": os.fspath(path)})
                print(f"{s['label']}, {threads} threads: median {1000 * statistics.median(r['times_s']):.0f} ms",
                      file=sys.stderr)
    q = quality(systems, args.corpus, args.every, args.samples) if args.quality else None
    minutes = (time.perf_counter() - started) / 60
    res = {"date": today, "machine": machine_line(), "threads": thread_counts, "repeats": args.repeats,
           "load_average_at_start": load_at_start, "duration_s": DURATION_S, "speed": rows, "quality": q}
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        write_results(RESULTS, res)
    command = shlex.join(["python", "benchmarks/bench_runtime.py", *sys.argv[1:]])
    quality_text = quality_tables(q) if q else ("Quality: not scored in this run (`--quality`; "
                                                "`--every N` scores a subset).\n")
    threads_text = " and ".join(map(str, thread_counts))
    body = f"""## Runtime

`{command}` on {machine_line()}; {today}, {minutes:.1f} min,
1-minute load average {load_at_start:.1f} at the start (other jobs on the machine share its cores and
slow every row alike). The same {DURATION_S:g} s of espeak-ng speech (en-us+m3), {threads_text} thread(s),
each system in a fresh process: one warm-up call, then the median of {args.repeats} timed calls of
`Talker(model, sampler=, steps=).animate(array, sr=16000)` (array in, encoder included); the onnxruntime
rows are the graph of `dtsdk export` (noise drawn with numpy, one `session.run`). Real-time factor =
compute / audio duration. Peak RSS is the process's (model, torch or onnxruntime included).

{speed_table(rows)}
{thread_note(rows)}
{stream_lines(rows)}
{quality_text}
Raw numbers: `docs/results/bench_runtime.json`.
"""
    print(body)
    if not args.no_write:
        write_section("runtime", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
