"""``dtsdk animate``: speech in, animation files (and MP4/GIF previews with the audio) out.

The speech is a file, or ``--say TEXT`` spoken by an installed TTS engine (espeak-ng or flite);
the spoken audio is then saved beside the first output as ``<stem>.wav``, so the animation files
have the exact audio they were made from.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger("dtsdk.animate")
PREVIEW_SUFFIXES = (".mp4", ".gif")  # rendered; every other extension goes to an animation exporter
DEFAULT_VOICE = "espeak-ng:en-us+f2"


def add(subparsers) -> None:
    p = subparsers.add_parser("animate", help="animate speech with a DiffusionTalker model")
    p.add_argument("audio", nargs="?", help="speech file (wav, flac, ogg, mp3, ...); or use --say")
    p.add_argument("--say", metavar="TEXT", help="speak TEXT with a TTS engine instead of reading a file")
    p.add_argument("--voice", default=DEFAULT_VOICE,
                   help=f"TTS voice for --say as ENGINE:NAME (default {DEFAULT_VOICE}; e.g. flite:slt, espeak-ng:en-gb+m3)")
    p.add_argument("-o", "--output", action="append", required=True,
                   help="out.glb | out.csv | out.npz | out.mp4 | out.gif ...; repeat for several outputs")
    p.add_argument("--model", help="checkpoint directory or Hub repo id (default: the packaged default model)")
    p.add_argument("--identity", help="a training speaker's name, or 'auto' to match the voice (default: generic)")
    p.add_argument("--rig", help="retarget the animation files to this rig (previews render on it if it has a mesh)")
    p.add_argument("--sampler", help="sampler name (default: the model's, usually ddim)")
    p.add_argument("--steps", type=int, help="sampling steps (default: the model's)")
    p.add_argument("--seed", type=int, help="random seed, for a reproducible result")
    p.add_argument("--guidance", type=float, default=1.0,
                   help="classifier-free guidance toward the identity (default 1 = none; >1 exaggerates the style)")
    p.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    p.add_argument("--size", type=int, default=512, help="preview frame size in pixels (default 512)")
    p.set_defaults(func=run)


def run(args):
    from dtsdk.inference import Talker
    from dtsdk.io import get_exporter
    from dtsdk.rigs import get_rig

    from dtsdk.errors import DtsdkError

    # Cheap checks first, so a typo in an output name fails before the model runs.
    if (args.audio is None) == (args.say is None):
        raise DtsdkError("give a speech file or --say TEXT (one of them)")
    if args.audio is not None and not Path(args.audio).is_file():
        raise FileNotFoundError(2, "no such file", args.audio)
    for out in args.output:
        if Path(out).suffix.lower() not in PREVIEW_SUFFIXES:
            get_exporter(path=out)
    if args.rig:
        get_rig(args.rig)
    if args.say is not None:
        args.audio = speak(args.say, args.voice, Path(args.output[0]).with_suffix(".wav"))

    started = time.perf_counter()
    talker = Talker(args.model, identity=args.identity, sampler=args.sampler, steps=args.steps, device=args.device,
                    guidance=args.guidance)
    previews = [out for out in args.output if Path(out).suffix.lower() in PREVIEW_SUFFIXES]
    if previews and not _renderable(talker.config):
        raise DtsdkError(f"{previews[0]}: this model's motion space '{talker.config.rig}' "
                         f"({talker.config.motion_dim} values a frame) is neither ARKit-52 nor a registered mesh rig, "
                         "so it cannot be previewed; write .npz or .npy, or register its rig with a plugin")
    anim = talker.animate(args.audio, seed=args.seed)
    log.info("animated %s: %d frames at %g fps in %.1f s (identity: %s)", args.audio, anim.num_frames, anim.fps,
             time.perf_counter() - started, anim.meta["identity"] or "generic")
    outputs = [_write(anim, out, args) for out in args.output]
    return {"audio": args.audio, "frames": anim.num_frames, "fps": anim.fps, "duration_s": round(anim.duration_s, 3),
            "identity": anim.meta["identity"], "identity_confidence": anim.meta["identity_confidence"],
            "seed": anim.meta["seed"], "outputs": outputs, "seconds": round(time.perf_counter() - started, 3)}


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


def _write(anim, out: str, args) -> str:
    from dtsdk.renderer import render_animation
    from dtsdk.rigs import DEFAULT_MESH_RIG, get_rig

    if Path(out).suffix.lower() in PREVIEW_SUFFIXES:
        rig = args.rig if args.rig and get_rig(args.rig).has_mesh else DEFAULT_MESH_RIG
        render_animation(anim, out, rig=rig, audio=args.audio, size=args.size)
    else:
        (anim.to_rig(args.rig) if args.rig else anim).save(out)
    log.info("wrote %s", out)
    return out
