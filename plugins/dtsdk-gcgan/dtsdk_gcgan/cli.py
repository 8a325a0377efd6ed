"""``dtsdk portrait ...``: thin commands over :mod:`dtsdk_gcgan.portrait`, ``.talking`` and ``.train``.

- ``train RECIPE [-o OUT]``: train a model (a recipe file, or one in ``dtsdk_gcgan/recipes/`` by name).
- ``transfer --face A.png --expression-from B.png -o out.png``: A with B's expression.
- ``interpolate --face A.png [--from L1] --to L2 --steps N -o strip.png|.gif``.
- ``animate SPEECH.wav|ANIMATION --face me.png -o talk.mp4``: the talking portrait, through the same
  ``portrait`` renderer as ``dtsdk animate SPEECH.wav --portrait me.png -o talk.mp4``.
- ``landmarks IN -o OUT``: the face's landmarks in an image or each frame of a video (MediaPipe).
- ``samples OUT_DIR``: synthetic faces with their landmark sidecars, to try the commands on.
"""
from __future__ import annotations

import logging
import time

log = logging.getLogger("dtsdk.portrait")


def add(subparsers) -> None:
    p = subparsers.add_parser("portrait", help="GC-GAN portraits: a face image at other faces' expressions, "
                                               "talking portraits, training")
    sub = p.add_subparsers(dest="portrait_command", metavar="PORTRAIT_COMMAND")

    from dtsdk_gcgan.shipped import shipped_recipes

    t = sub.add_parser("train", help="train from a recipe, on the synthetic set or a folder of face images")
    t.add_argument("recipe", help=f"a shipped recipe name ({', '.join(shipped_recipes())}) or a recipe YAML file")
    t.add_argument("-o", "--output", help="checkpoint folder (default: the recipe's `output`)")
    t.set_defaults(func=run_train)

    landmark_help = ("landmarks of --face: a .npy/.txt/.json file of 68 (x, y) in its pixels (default: the "
                     "sidecar NAME.json the plugin's generator writes, else MediaPipe's face mesh if installed)")
    mode_help = ("displacement (default): the source's change from its own neutral, carried onto the face's "
                 "neutral; raw: the source's landmarks as they are (the paper's official code)")

    x = sub.add_parser("transfer", help="draw --face with the expression of --expression-from")
    x.add_argument("--face", required=True, help="the face image (PNG/JPEG)")
    x.add_argument("--expression-from", required=True, dest="expression_from",
                   help="an image whose expression to take, or its landmark file (.npy/.txt/.json)")
    x.add_argument("--face-landmarks", help=landmark_help)
    x.add_argument("--expression-landmarks", help="landmarks of --expression-from when it is an image")
    x.add_argument("--mode", choices=("displacement", "raw", "both"), default="displacement",
                   help=mode_help + "; both: a strip of face, source, displacement, raw")
    _model_options(x)
    x.add_argument("-o", "--output", required=True, help="the image to write (.png)")
    x.set_defaults(func=run_transfer)

    i = sub.add_parser("interpolate", help="a strip or GIF of --face moving between two expressions")
    i.add_argument("--face", required=True, help="the face image (PNG/JPEG)")
    i.add_argument("--from", dest="start", help="the first expression: an image or a landmark file "
                                                "(default: the face's own landmarks)")
    i.add_argument("--to", dest="end", required=True, help="the last expression: an image or a landmark file")
    i.add_argument("--steps", type=int, default=8, help="number of images, both ends included (default 8)")
    i.add_argument("--face-landmarks", help=landmark_help)
    i.add_argument("--mode", choices=("displacement", "raw"), default="displacement", help=mode_help)
    i.add_argument("--fps", type=float, default=8.0, help="frame rate of a GIF (default 8)")
    _model_options(i)
    i.add_argument("-o", "--output", required=True, help="strip.png (side by side) or anim.gif")
    i.set_defaults(func=run_interpolate)

    a = sub.add_parser("animate", help="a talking portrait: speech (or an animation file) drives a face image")
    a.add_argument("input", help="speech (wav, flac, ...) animated with dtsdk's model, or an animation file "
                                 "(.npz, .csv, .json, ...) to drive the portrait directly")
    a.add_argument("--face", required=True, help="the face image (PNG/JPEG)")
    a.add_argument("--face-landmarks", help=landmark_help)
    a.add_argument("--audio", help="audio to mux when INPUT is an animation file")
    a.add_argument("--model", help="dtsdk animation model (default: the packaged one), for speech input")
    a.add_argument("--identity", help="talking identity for speech input (as dtsdk animate --identity)")
    a.add_argument("--seed", type=int, help="random seed of the animation, for a reproducible result")
    a.add_argument("--size", type=int, default=256, help="output frame size in pixels (default 256)")
    _model_options(a)
    a.add_argument("-o", "--output", required=True, help="talk.mp4 (with the audio), talk.gif or a still .png")
    a.set_defaults(func=run_animate)

    m = sub.add_parser("landmarks", help="find the face's 68 landmarks in an image or each frame of a video "
                                         "(MediaPipe) and write them as a landmark file")
    m.add_argument("input", help="an image (PNG/JPEG) or a video (.mp4, .mov, ...)")
    m.add_argument("-o", "--output", required=True, help="points.npy, points.json, or points.txt (an image only)")
    m.set_defaults(func=run_landmarks)

    s = sub.add_parser("samples", help="render synthetic faces (PNG + landmark sidecar JSON) to try the commands on")
    s.add_argument("output", help="folder to write into")
    s.add_argument("--identities", type=int, default=2)
    s.add_argument("--first-identity", type=int, default=10000,
                   help="first person's number (default 10000: people the shipped model never saw; "
                        "it trained on 0-299)")
    s.add_argument("--size", type=int, default=128)
    s.add_argument("--seed", type=int, default=0)
    s.set_defaults(func=run_samples)
    p.set_defaults(func=lambda args: p.print_help() or 2)


def _model_options(parser) -> None:
    from dtsdk_gcgan.shipped import shipped_checkpoints

    parser.add_argument("--checkpoint", help="a portrait checkpoint folder, or a shipped one by name "
                                             f"({', '.join(shipped_checkpoints())}; default: the first)")


def run_train(args):
    from dtsdk_gcgan.train import PortraitRecipe, train

    recipe = PortraitRecipe.from_yaml(args.recipe)
    every = max(1, recipe.log_every)
    started = time.perf_counter()

    def progress(step, losses):
        if step % every == 0 or step == recipe.steps:
            log.info("step %d/%d %.0f s loss %.4f reconstruction %.4f classification %.3f critic %.4f", step,
                     recipe.steps, time.perf_counter() - started, losses["loss"], losses["reconstruction"],
                     losses["classification"], losses["d_critic"])

    summary = train(recipe, output=args.output, progress=progress)
    log.info("wrote %s", summary["output"])
    return summary


def _check_output(output: str, suffixes: tuple[str, ...]) -> None:
    from pathlib import Path

    from dtsdk.errors import DtsdkError

    if Path(output).suffix.lower() not in suffixes:
        raise DtsdkError(f"{output}: write {' or '.join(suffixes)} here")


def run_transfer(args):
    import numpy as np

    from dtsdk.renderer.video import save_png
    from dtsdk_gcgan.portrait import Portrait, strip

    _check_output(args.output, (".png",))
    portrait = Portrait(args.checkpoint)
    face = portrait.face(args.face, args.face_landmarks)
    expression = portrait.expression(args.expression_from, args.expression_landmarks)
    if args.mode == "both":
        from dtsdk_gcgan.landmarks import LANDMARK_SUFFIXES

        shown = [face.image]
        if not args.expression_from.lower().endswith(LANDMARK_SUFFIXES):
            shown.append(portrait.face(args.expression_from, args.expression_landmarks).image)
        shown += [portrait.transfer(face, expression, "displacement"), portrait.transfer(face, expression, "raw")]
        save_png(strip(np.stack(shown), gap=2), args.output)
    else:
        save_png(portrait.transfer(face, expression, args.mode), args.output)
    log.info("wrote %s (%s, landmarks: face %s)", args.output, args.mode, face.source)
    return {"output": args.output, "mode": args.mode, "face_landmarks": face.source, "size": portrait.size,
            "checkpoint": portrait.checkpoint}


def run_interpolate(args):
    from dtsdk_gcgan.portrait import Portrait, write_images

    _check_output(args.output, (".png", ".gif"))
    portrait = Portrait(args.checkpoint)
    face = portrait.face(args.face, args.face_landmarks)
    start = None if args.start is None else portrait.expression(args.start)
    end = portrait.expression(args.end)
    images = portrait.interpolate(face, start, end, args.steps, args.mode)
    write_images(images, args.output, args.fps)
    log.info("wrote %s (%d steps)", args.output, args.steps)
    return {"output": args.output, "steps": args.steps, "mode": args.mode, "face_landmarks": face.source}


def run_animate(args):
    """The same renderer ``dtsdk animate --portrait`` uses, with the plugin's own options."""
    from pathlib import Path

    from dtsdk_gcgan.talking import PORTRAIT

    options = {"image": args.face, "size": args.size, "face_landmarks": args.face_landmarks,
               "checkpoint": args.checkpoint}
    started = time.perf_counter()
    PORTRAIT.check(args.output, **options)  # before the animation: a bad face or output fails fast
    animation, audio = _animation_of(args)
    summary = PORTRAIT.render(animation, args.output, audio=audio, **options)
    log.info("wrote %s: %d frames at %g fps in %.1f s", args.output, summary["frames"], animation.fps,
             time.perf_counter() - started)
    return {**summary, "input": args.input, "seconds": round(time.perf_counter() - started, 2),
            "source": "animation" if Path(args.input).suffix.lower() in _animation_suffixes() else "speech"}


def _animation_suffixes() -> set[str]:
    from dtsdk.plugins import registry

    return {ext for entry in registry("exporter").values() for ext in entry.obj.extensions if entry.obj.can_read}


def _animation_of(args):
    """(Animation, audio to mux or None): an animation file read as it is, or speech animated by ``Talker``."""
    from pathlib import Path

    from dtsdk.audio import audio_info

    if Path(args.input).suffix.lower() in _animation_suffixes():
        from dtsdk.io import load_animation

        return load_animation(args.input), args.audio
    from dtsdk.inference import Talker

    audio_info(args.input)  # a missing or non-audio file fails here, before the model loads
    talker = Talker(args.model, identity=args.identity)
    return talker.animate(args.input, seed=args.seed), args.input


def run_landmarks(args):
    from dtsdk_gcgan.track import OUTPUT_SUFFIXES, find_landmarks, write_landmarks

    _check_output(args.output, OUTPUT_SUFFIXES)
    found = find_landmarks(args.input)
    write_landmarks(found, args.output)
    frames = 1 if found["fps"] is None else len(found["landmarks"])
    log.info("wrote %s: landmarks of %d frame(s)%s", args.output, frames,
             f", {len(found['missing'])} without a face (nearest frame's points)" if found["missing"] else "")
    return {"input": args.input, "output": args.output, "frames": frames, "missing": found["missing"],
            "fps": found["fps"], "size": found["size"]}


def run_samples(args):
    from dtsdk_gcgan.samples import write_samples

    files = write_samples(args.output, args.identities, args.size, args.first_identity, args.seed)
    log.info("wrote %d images with landmark sidecars into %s", len(files), args.output)
    return {"output": args.output, "images": files}
