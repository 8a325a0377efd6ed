"""``dtsdk animate``: speech in, animation files (and rendered MP4/GIF/PNG with the audio) out.

The speech is a file, or ``--say TEXT`` spoken by an installed TTS engine (espeak-ng or flite);
the spoken audio is then saved beside the first output as ``<stem>.wav``, so the animation files
have the exact audio they were made from. Several files (``dtsdk animate a.wav b.wav -o DIR/``) go
through ``Talker.animate_batch`` into a folder, one ``<input stem>.<format>`` each; ``--stream`` reads
one file in chunks through ``Talker.stream`` and prints the latency and compute it measured.

Outputs with an extension the chosen renderer writes (``register_renderers``; the built-in ``mesh``
by default) are drawn by it, every other one goes to an animation exporter. ``--portrait FACE.png``
picks the renderer named ``portrait`` (a plugin's: the GC-GAN plugin provides one) and hands it the
picture; ``--renderer NAME`` picks another.
"""
from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

log = logging.getLogger("dtsdk.animate")
DEFAULT_VOICE = "espeak-ng:en-us+f2"
DEFAULT_RENDERER = "mesh"
PORTRAIT_RENDERER = "portrait"  # what --portrait draws with, unless --renderer names another
PORTRAIT_PLUGIN = "the GC-GAN portrait plugin: pip install ./plugins/dtsdk-gcgan"  # who provides it


def add(subparsers) -> None:
    p = subparsers.add_parser("animate", help="animate speech with a DiffusionTalker model")
    p.add_argument("audio", nargs="*", help="speech file(s) (wav, flac, ogg, mp3, ...); several go to an output "
                                            "folder (-o DIR/); or use --say")
    p.add_argument("--say", metavar="TEXT", help="speak TEXT with a TTS engine instead of reading a file")
    p.add_argument("--voice", default=DEFAULT_VOICE,
                   help=f"TTS voice for --say as ENGINE:NAME "
                        f"(default {DEFAULT_VOICE}; e.g. flite:slt, espeak-ng:en-gb+m3)")
    p.add_argument("-o", "--output", action="append", required=True,
                   help="an animation file (out.glb, out.csv, out.npz, ...; any exporter's extension) or a rendering "
                        "(out.mp4 with the audio, out.gif, still.png); repeat for several outputs; with several "
                        "inputs: one folder (-o DIR/)")
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
    p.add_argument("--rig", help="retarget the animation files to this rig (the mesh renderer draws on it if it "
                                 "has a mesh)")
    sampler, steps = _packaged_sampling()
    p.add_argument("--sampler", help=f"sampler name (default: the model's own; the packaged model's: {sampler})")
    p.add_argument("--steps", type=int,
                   help=f"sampling steps (default: the model's own; the packaged model's: {steps})")
    p.add_argument("--seed", type=int, help="random seed, for a reproducible result")
    p.add_argument("--guidance", type=float, default=1.0,
                   help="classifier-free guidance toward the identity (default 1 = none; >1 exaggerates the style)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--portrait", metavar="IMAGE",
                   help="draw the rendered outputs as a talking portrait of this face picture (PNG/JPEG), with "
                        f"the '{PORTRAIT_RENDERER}' renderer of a plugin ({PORTRAIT_PLUGIN})")
    p.add_argument("--renderer", metavar="NAME",
                   help=f"the renderer that draws .mp4/.gif/.png outputs (default: {DEFAULT_RENDERER}; with "
                        f"--portrait: {PORTRAIT_RENDERER}); `dtsdk plugins` lists the installed ones")
    p.add_argument("--renderer-option", metavar="NAME=VALUE", action="append", default=[],
                   help="an option of the renderer, repeatable (e.g. with --portrait: checkpoint=FOLDER, "
                        "face_landmarks=FILE); `dtsdk plugins` lists each renderer's options")
    p.add_argument("--size", type=int,
                   help=f"rendered frame size in pixels (default: the renderer's own; {DEFAULT_RENDERER}: 512)")
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
    renderer = pick_renderer(args)
    for out in args.output:
        check_output(out, renderer, args.portrait, args.size, args.render_options)
    _check_portrait_has_an_output(args, renderer, args.output)
    rig = get_rig(args.rig) if args.rig else None  # looked up once, passed to every output
    if args.stream and args.audio is None:
        raise DtsdkError("--stream reads a speech file in chunks; give one file instead of --say")
    if args.say is not None:
        args.audio = speak(args.say, args.voice, Path(args.output[0]).with_suffix(".wav"))

    started = time.perf_counter()
    talker = _talker(args)
    previews = [out for out in args.output if _is_rendered(out, renderer)]
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
    outputs = [_write(anim, out, rig, args, renderer) for out in args.output]
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
    renderer = pick_renderer(args)
    for paths in outputs.values():
        for out in paths:
            check_output(out, renderer, args.portrait, args.size, args.render_options)
    _check_portrait_has_an_output(args, renderer, [f".{f}" for f in formats])
    rig = get_rig(args.rig) if args.rig else None

    started = time.perf_counter()
    talker = _talker(args)
    previews = [f for f in formats if _is_rendered(f".{f}", renderer)]
    if previews and not _renderable(talker.config):
        raise DtsdkError(f"--format {previews[0]}: this model's motion space '{talker.config.rig}' "
                         "cannot be previewed; write npz or npy")
    animations = talker.animate_batch(args.audio, seed=args.seed)
    results = []
    for audio, anim in zip(args.audio, animations):
        written = [_write(anim, out, rig, args, renderer, audio=audio) for out in outputs[audio]]
        results.append({"audio": audio, "frames": anim.num_frames, "duration_s": round(anim.duration_s, 3),
                        "identity": anim.meta["identity"], "identity_source": anim.meta["identity_source"],
                        "seed": anim.meta["seed"], "outputs": written})
    seconds = time.perf_counter() - started
    log.info("animated %d files into %s in %.1f s", len(results), folder, seconds)
    return {"inputs": len(results), "folder": str(folder), "results": results, "seconds": round(seconds, 3)}


def pick_renderer(args):
    """The renderer for the rendered outputs: ``--renderer``, else ``portrait`` with ``--portrait``,
    else ``mesh``; a one-line error when it is not installed or does not fit ``--portrait``. Also parses
    ``--renderer-option`` for it into ``args.render_options``."""
    from dtsdk.errors import DtsdkError, PluginError
    from dtsdk.plugins import registry
    from dtsdk.renderer import get_renderer

    name = args.renderer or (PORTRAIT_RENDERER if args.portrait else DEFAULT_RENDERER)
    try:
        renderer = get_renderer(name)
    except PluginError:  # lists the installed renderers; for the portrait, also say where to get one
        if name.strip().lower() != PORTRAIT_RENDERER:
            raise
        flag = "--portrait" if not args.renderer else f"--renderer {name}"
        installed = ", ".join(sorted(e.name for e in registry("renderer").values()))
        raise DtsdkError(f"{flag}: no installed plugin provides the '{PORTRAIT_RENDERER}' renderer "
                         f"(installed: {installed}); install {PORTRAIT_PLUGIN}") from None
    if renderer.needs_image and not args.portrait:
        raise DtsdkError(f"the '{renderer.name}' renderer draws a picture: give it with --portrait FACE.png")
    if args.portrait and not renderer.needs_image:
        raise DtsdkError(f"--portrait {args.portrait}: the '{renderer.name}' renderer draws no picture; drop "
                         f"--renderer to use '{PORTRAIT_RENDERER}'")
    args.render_options = renderer.parse_options(args.renderer_option)
    return renderer


def _is_rendered(out: str, renderer) -> bool:
    """Whether ``out`` is drawn by ``renderer`` (its extensions come before the exporters')."""
    return Path(out).suffix.lower() in renderer.extensions


def _check_portrait_has_an_output(args, renderer, outputs) -> None:
    from dtsdk.errors import DtsdkError

    if args.portrait and not any(_is_rendered(out, renderer) for out in outputs):
        raise DtsdkError(f"--portrait {args.portrait}: no output is drawn; add a rendered one "
                         f"({', '.join(renderer.extensions)}), e.g. -o talk.mp4")


def check_output(out: str, renderer, image: str | None = None, size: int | None = None,
                 options: dict | None = None) -> None:
    """Fail now, not after animating, if ``out`` cannot be written: an extension neither ``renderer``
    nor an exporter writes, what ``renderer.check`` refuses (a missing dependency, a bad ``image``),
    or a folder that cannot be written to."""
    from dtsdk.errors import DtsdkError, ExportError
    from dtsdk.io import get_exporter

    if Path(out).is_dir():
        raise DtsdkError(f"{out}: is a folder; give a file name, e.g. {Path(out) / 'take.npz'}")
    suffix = Path(out).suffix.lower()
    if _is_rendered(out, renderer):
        renderer.check(out, image=image, size=size, **(options or {}))
    else:
        try:
            get_exporter(path=out)
        except ExportError:
            problem = f"dtsdk animate cannot write '{suffix}' files" if suffix else "no file extension"
            raise DtsdkError(f"{out}: {problem}; dtsdk animate writes animation files "
                             f"({', '.join(_exporter_extensions())}) and, with the '{renderer.name}' renderer, "
                             f"{', '.join(renderer.extensions)}") from None
    _check_writable(out)


def _exporter_extensions() -> list[str]:
    from dtsdk.plugins import registry

    return sorted({ext for entry in registry("exporter").values() for ext in entry.obj.extensions})


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


def _write(anim, out: str, rig, args, renderer, audio=None) -> str:
    """Write one output; ``rig`` is the --rig Rig (or None): files are retargeted to it, ``renderer``
    draws on it when it has a mesh (with ``audio``, default ``args.audio``, and ``--portrait``)."""
    if _is_rendered(out, renderer):
        renderer.render(anim, out, audio=args.audio if audio is None else audio, image=args.portrait,
                        size=args.size, rig=rig if rig is not None and rig.has_mesh else None,
                        **args.render_options)
    else:
        (anim.to_rig(rig) if rig is not None else anim).save(out)
    log.info("wrote %s", out)
    return out
