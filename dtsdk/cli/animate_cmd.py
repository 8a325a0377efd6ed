"""``dtsdk animate``: speech in, animation files (and MP4/GIF previews with the audio) out.

The speech is a file, or ``--say TEXT`` spoken by an installed TTS engine (espeak-ng or flite);
the spoken audio is then saved beside the first output as ``<stem>.wav``, so the animation files
have the exact audio they were made from. Several files (``dtsdk animate a.wav b.wav -o DIR/``) go
through ``Talker.animate_batch`` into a folder, one ``<input stem>.<format>`` each; ``--stream`` reads
one file in chunks through ``Talker.stream`` and prints the latency and compute it measured.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("dtsdk.animate")
PREVIEW_SUFFIXES = (".mp4", ".gif")  # rendered; every other extension goes to an animation exporter
DEFAULT_VOICE = "espeak-ng:en-us+f2"


def add(subparsers) -> None:
    p = subparsers.add_parser("animate", help="animate speech with a DiffusionTalker model")
    p.add_argument("audio", nargs="*", help="speech file(s) (wav, flac, ogg, mp3, ...); several go to an output "
                                            "folder (-o DIR/); or use --say")
    p.add_argument("--say", metavar="TEXT", help="speak TEXT with a TTS engine instead of reading a file")
    p.add_argument("--voice", default=DEFAULT_VOICE,
                   help=f"TTS voice for --say as ENGINE:NAME "
                        f"(default {DEFAULT_VOICE}; e.g. flite:slt, espeak-ng:en-gb+m3)")
    p.add_argument("-o", "--output", action="append", required=True,
                   help="an animation file (out.glb, out.csv, out.npz, ...; any exporter's extension) or a preview "
                        "(out.mp4, out.gif); repeat for several outputs; with several inputs: one folder (-o DIR/)")
    p.add_argument("--format", default="npz",
                   help="with several inputs: the extension(s) written per input into the -o folder, comma-separated "
                        "(default npz; e.g. csv,glb)")
    p.add_argument("--stream", action="store_true",
                   help="stream the file through Talker.stream in chunks (as from a microphone) and print the "
                        "latency and compute per chunk")
    p.add_argument("--chunk-ms", type=float, default=20.0, help="--stream: chunk duration in ms (default 20)")
    p.add_argument("--hop-ms", type=float, default=200.0, help="--stream: how often the model runs, ms (default 200)")
    p.add_argument("--lookahead-ms", type=float, default=200.0,
                   help="--stream: audio heard after the last decided frame, ms (default 200)")
    p.add_argument("--context-s", type=float, default=4.0,
                   help="--stream: emitted motion each window continues from, seconds (default 4)")
    p.add_argument("--model", help="checkpoint directory or Hub repo id (default: the packaged default model)")
    p.add_argument("--identity", help="a talking identity of the model: a name or an index, an enrolled identity "
                                      "(dtsdk enroll; its name or folder), a mix such as t05:0.7,me:0.3, or 'auto' "
                                      "to match the voice (default: generic motion)")
    p.add_argument("--rig", help="retarget the animation files to this rig (previews render on it if it has a mesh)")
    sampler, steps = _packaged_sampling()
    p.add_argument("--sampler", help=f"sampler name (default: the model's own; the packaged model's: {sampler})")
    p.add_argument("--steps", type=int,
                   help=f"sampling steps (default: the model's own; the packaged model's: {steps})")
    p.add_argument("--seed", type=int, help="random seed, for a reproducible result")
    p.add_argument("--guidance", type=float, default=1.0,
                   help="classifier-free guidance toward the identity (default 1 = none; >1 exaggerates the style)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--size", type=int, default=512, help="preview frame size in pixels (default 512)")
    p.set_defaults(func=run)


def run(args):
    from dtsdk.audio import audio_info
    from dtsdk.errors import DtsdkError
    from dtsdk.identities import describe_identity
    from dtsdk.rigs import get_rig

    # Cheap checks first, so bad input, an unknown output type or a missing extra fails before the model runs.
    if bool(args.audio) == (args.say is not None):
        raise DtsdkError("give a speech file or --say TEXT (one of them)")
    for audio in args.audio:
        audio_info(audio)  # the header only: a missing file, a pipe or a non-audio file fails here
    if len(args.audio) > 1:
        return run_many(args)
    args.audio = args.audio[0] if args.audio else None
    for out in args.output:
        check_output(out)
    rig = get_rig(args.rig) if args.rig else None  # looked up once, passed to every output
    if args.stream and args.audio is None:
        raise DtsdkError("--stream reads a speech file in chunks; give one file instead of --say")
    if args.say is not None:
        args.audio = speak(args.say, args.voice, Path(args.output[0]).with_suffix(".wav"))

    started = time.perf_counter()
    talker = _talker(args)
    previews = [out for out in args.output if Path(out).suffix.lower() in PREVIEW_SUFFIXES]
    if previews and not _renderable(talker.config):
        raise DtsdkError(f"{previews[0]}: this model's motion space '{talker.config.rig}' "
                         f"({talker.config.motion_dim} values a frame) is neither ARKit-52 nor a registered mesh rig, "
                         "so it cannot be previewed; write .npz or .npy, or register its rig with a plugin")
    stream = None
    if args.stream:
        anim, stream = stream_file(talker, args)
    else:
        anim = talker.animate(args.audio, seed=args.seed)
    identity = describe_identity(anim.meta["identity"], anim.meta["identity_source"], anim.meta["identity_confidence"])
    log.info("animated %s: %d frames at %g fps in %.1f s (identity: %s)", args.audio, anim.num_frames, anim.fps,
             time.perf_counter() - started, identity)
    outputs = [_write(anim, out, rig, args) for out in args.output]
    summary = {"audio": args.audio, "frames": anim.num_frames, "fps": anim.fps,
               "duration_s": round(anim.duration_s, 3),
               "identity": anim.meta["identity"], "identity_source": anim.meta["identity_source"],
               "identity_confidence": anim.meta["identity_confidence"],
               "seed": anim.meta["seed"], "outputs": outputs, "seconds": round(time.perf_counter() - started, 3)}
    if stream is not None:
        summary["stream"] = stream
    return summary


def _talker(args):
    from dtsdk.inference import Talker

    return Talker(args.model, identity=args.identity, sampler=args.sampler, steps=args.steps, device=args.device,
                  guidance=args.guidance)


def stream_file(talker, args):
    """Read ``args.audio`` in ``--chunk-ms`` chunks through ``Talker.stream``; log the latency and compute.

    Returns the streamed Animation and the stream's measured summary."""
    import soundfile as sf

    from dtsdk.errors import DtsdkError

    if args.chunk_ms <= 0:
        raise DtsdkError(f"--chunk-ms must be positive, got {args.chunk_ms}")
    with sf.SoundFile(args.audio) as f:
        rate = f.samplerate
        block = max(1, round(args.chunk_ms / 1000 * rate))
        stream = talker.stream(f.blocks(blocksize=block, dtype="float32", always_2d=True), rate, seed=args.seed,
                               hop_s=args.hop_ms / 1000, lookahead_s=args.lookahead_ms / 1000,
                               context_s=args.context_s)
        frames = list(stream)
    anim = stream.animation(frames)
    summary = stream.stats.summary()
    log.info("streamed in %g ms chunks: look-ahead %g ms, a run every %g ms -> each frame is decided %g-%g ms after "
             "its audio, plus compute (measured: median %g ms, max %g ms)", args.chunk_ms, summary["lookahead_ms"],
             summary["hop_ms"], summary["lookahead_ms"], summary["algorithmic_latency_ms"],
             summary["latency_ms_median"], summary["latency_ms_max"])
    log.info("compute per run: median %g ms, max %g ms (%d runs); per chunk: mean %g ms, max %g ms; "
             "%.1f%% of the audio's duration", summary["run_compute_ms_median"], summary["run_compute_ms_max"],
             summary["runs"], summary["chunk_compute_ms_mean"], summary["chunk_compute_ms_max"],
             100 * summary["compute_per_audio"])
    return anim, summary


def run_many(args):
    """Several inputs -> one folder: ``<stem>.<format>`` per input and format, through ``Talker.animate_batch``."""
    from dtsdk.errors import DtsdkError
    from dtsdk.rigs import get_rig

    if args.stream:
        raise DtsdkError("--stream takes one speech file; stream several files one at a time")
    if len(args.output) != 1:
        raise DtsdkError(f"{len(args.audio)} inputs: give one output folder (-o DIR/), not {len(args.output)} outputs")
    folder = Path(args.output[0])
    if folder.exists() and not folder.is_dir():
        raise DtsdkError(f"{folder}: is a file; with several inputs -o names a folder, "
                         f"e.g. -o {folder.parent / 'out'}/")
    if not folder.exists() and folder.suffix and not args.output[0].endswith(("/", os.sep)):
        raise DtsdkError(f"{folder}: with several inputs -o names a folder (end it with '/': -o {folder}/); "
                         "use --format for the file types")
    formats = [f.strip().lstrip(".").lower() for f in args.format.split(",") if f.strip()]
    if not formats:
        raise DtsdkError("--format: give at least one extension, e.g. --format npz or --format csv,glb")
    seen: dict[str, str] = {}
    for audio in args.audio:
        stem = Path(audio).stem
        if stem in seen:
            raise DtsdkError(f"{audio}: has the same name as {seen[stem]}, so both would write {folder / stem}.*; "
                             "rename one or animate them into different folders")
        seen[stem] = audio
    outputs = {audio: [str(folder / f"{Path(audio).stem}.{ext}") for ext in formats] for audio in args.audio}
    for paths in outputs.values():
        for out in paths:
            check_output(out)
    rig = get_rig(args.rig) if args.rig else None

    started = time.perf_counter()
    talker = _talker(args)
    previews = [f for f in formats if f".{f}" in PREVIEW_SUFFIXES]
    if previews and not _renderable(talker.config):
        raise DtsdkError(f"--format {previews[0]}: this model's motion space '{talker.config.rig}' "
                         "cannot be previewed; write npz or npy")
    animations = talker.animate_batch(args.audio, seed=args.seed)
    results = []
    for audio, anim in zip(args.audio, animations):
        written = [_write(anim, out, rig, args, audio=audio) for out in outputs[audio]]
        results.append({"audio": audio, "frames": anim.num_frames, "duration_s": round(anim.duration_s, 3),
                        "identity": anim.meta["identity"], "identity_source": anim.meta["identity_source"],
                        "seed": anim.meta["seed"], "outputs": written})
    seconds = time.perf_counter() - started
    log.info("animated %d files into %s in %.1f s", len(results), folder, seconds)
    return {"inputs": len(results), "folder": str(folder), "results": results, "seconds": round(seconds, 3)}


def check_output(out: str) -> None:
    """Fail now, not after animating, if ``out`` cannot be written: an extension nothing writes, a
    preview whose optional dependencies are missing, or a folder that cannot be written to."""
    from dtsdk.errors import DtsdkError, ExportError
    from dtsdk.io import get_exporter

    if Path(out).is_dir():
        raise DtsdkError(f"{out}: is a folder; give a file name, e.g. {Path(out) / 'take.npz'}")
    suffix = Path(out).suffix.lower()
    if suffix in PREVIEW_SUFFIXES:
        _check_preview_dependencies(out, suffix)
    else:
        try:
            get_exporter(path=out)
        except ExportError:
            problem = f"dtsdk animate cannot write '{suffix}' files" if suffix else "no file extension"
            raise DtsdkError(f"{out}: {problem}; dtsdk animate writes animation files "
                             f"({', '.join(_exporter_extensions())}) and previews ({', '.join(PREVIEW_SUFFIXES)}); "
                             "for PNG stills, render an animation file with dtsdk render") from None
    _check_writable(out)


def _exporter_extensions() -> list[str]:
    from dtsdk.plugins import registry

    return sorted({ext for entry in registry("exporter").values() for ext in entry.obj.extensions})


def _check_preview_dependencies(out: str, suffix: str) -> None:
    """The renderer imports its optional dependencies lazily; ask for the same ones up front."""
    from dtsdk._optional import require
    from dtsdk.errors import MissingExtraError
    from dtsdk.renderer.video import ffmpeg_executable

    try:
        require("numba", "render", "Preview rendering")  # the rasterizer, for every preview
        if suffix == ".gif":
            require("PIL.Image", "render", "GIF output")
        else:
            ffmpeg_executable()  # MP4 goes through ffmpeg; GIF does not
    except MissingExtraError as exc:
        raise MissingExtraError(f"{out}: {exc}") from None


def _check_writable(out: str) -> None:
    """The folder of ``out`` exists, or can be made (atomic writes create it), and this user may write there."""
    from dtsdk.errors import DtsdkError

    folder = Path(out).parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise DtsdkError(f"{out}: cannot create its folder, because {folder} is a file")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise DtsdkError(f"{out}: permission denied; cannot write in the folder {folder}")


def _packaged_sampling() -> tuple[str, str]:
    """The packaged default model's sampler and steps for --help, read from its config.json (no torch)."""
    import dtsdk.models

    try:
        config = json.loads((Path(dtsdk.models.__file__).parent / "default" / "config.json").read_text())
        return str(config["default_sampler"]), str(config["default_steps"])
    except (OSError, ValueError, KeyError):  # a trimmed install without the model: --help still works
        return "not installed", "not installed"


def speak(text: str, voice: str, wav: Path) -> str:
    """Speak ``text`` with ``voice`` ("ENGINE:NAME") into ``wav`` (16-bit PCM, atomic); returns its path."""
    import soundfile as sf

    from dtsdk.corpus.tts import ENGINES, Voice, synthesize
    from dtsdk.errors import DtsdkError
    from dtsdk.utils.atomic import atomic_path

    engine, _, name = voice.partition(":")
    if engine not in ENGINES or not name:
        raise DtsdkError(f"--voice '{voice}': expected ENGINE:NAME with ENGINE one of {', '.join(ENGINES)}, "
                         f"e.g. {DEFAULT_VOICE} or flite:slt")
    utterance = synthesize(text, Voice(engine, name))
    with atomic_path(wav) as tmp:
        sf.write(tmp, utterance.audio, utterance.sample_rate, subtype="PCM_16", format="WAV")
    log.info("spoke %.1f s with %s -> %s", utterance.duration_s, voice, wav)
    return str(wav)


def _renderable(config) -> bool:
    """ARKit-52 motion renders on any mesh rig; other motion only on its own registered mesh rig."""
    from dtsdk.errors import PluginError
    from dtsdk.rigs import get_rig

    if config.is_arkit:
        return True
    try:
        return get_rig(config.rig).has_mesh
    except PluginError:
        return False


def _write(anim, out: str, rig, args, audio=None) -> str:
    """Write one output; ``rig`` is the --rig Rig (or None): files are retargeted to it, previews
    render on it when it has a mesh (with ``audio``, default ``args.audio``)."""
    from dtsdk.renderer import render_animation
    from dtsdk.rigs import DEFAULT_MESH_RIG

    if Path(out).suffix.lower() in PREVIEW_SUFFIXES:
        render_animation(anim, out, rig=rig if rig is not None and rig.has_mesh else DEFAULT_MESH_RIG,
                         audio=args.audio if audio is None else audio, size=args.size)
    else:
        (anim.to_rig(rig) if rig is not None else anim).save(out)
    log.info("wrote %s", out)
    return out
