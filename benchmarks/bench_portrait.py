"""The GC-GAN portrait plugin (issue 12) on held-out synthetic people: reconstruction, landmarks, identity,
transfer modes, interpolation smoothness, the no-contrastive ablation, and a real photograph.

    python benchmarks/bench_portrait.py [--checkpoint DIR] [--compare NAME=DIR ...] [--people 16]
        [--first 10000] [--corpus data/corpus] [--ablation WITH_CONTRASTIVE NO_CONTRASTIVE] [--no-report]

Held-out people are numbers 10000.. of the synthetic population (the shipped model trained on 0-299),
rendered at the six prototype expressions at the model's size. Every prototype's ARKit weights
are the same for everyone, so "person A with person B's smile" has a ground truth: A's own smile.

- Reconstruction: each person's neutral image drawn at each prototype's landmarks (their own),
  against the render: L1 (mean |difference| on 0..1), PSNR (dB), SSIM (Gaussian 11x11, sigma 1.5,
  Wang et al. 2004, on grey). The floor "input copied" scores the unchanged neutral image.
- Landmark error: MediaPipe's face mesh (mapped to iBUG-68) run on the generated image (enlarged to
  256 px) against the target landmarks, in % of the outer eye-corner distance; the same detector on
  the renders themselves is its floor (detector + mapping error). Not measured without mediapipe.
- Identity: retrieval among the held-out people: a generated image counts as kept when it is nearer
  (L1) to its own person's render at that expression than to any other person's render at it.
- Transfer: A drawn with B's prototypes (B = the next person), displacement mode vs raw landmarks
  (the official code): landmark error of the target landmarks against A's true ones, and L1/SSIM
  of the image against A's render.
- Interpolation: neutral -> each prototype in 16 steps with evenly spaced landmarks; the image
  change per step, |I_k+1 - I_k|, should be even: reported as max/mean (1 = perfectly even) and the
  coefficient of variation over the steps.
- Ablation: two checkpoints at the same step count, with and without the contrastive term; and the
  ratio of squared geometry-code distances, different-expression pairs / same-expression pairs.
- Speech: each held-out person rendered at 12 motion frames drawn from the corpus's *test* clips
  (speech the models never saw, in the training speakers' styles), drawn from their neutral image
  at those frames' landmarks: what a talking portrait asks of the model. L1/PSNR/SSIM, and L1 where
  the frame changes the picture, against copying the neutral image.
- Compare: other checkpoints (``--compare NAME=DIR``, e.g. the other shipped size or a recipe
  variant) scored the same way, each at its own image size, in one table.

Pictures go to plugins/dtsdk-gcgan/docs/; the section to docs/benchmarks.md (``portrait``).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _portrait_report import SPEECH_FRAMES, report  # noqa: E402
from _report import write_results, write_section  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
PLUGIN_DOCS = REPO / "plugins" / "dtsdk-gcgan" / "docs"
RESULTS = PLUGIN_DOCS / "bench_portrait.json"
INTERP_STEPS = 16


def heldout_people(count: int, first: int, size: int):
    """Per person: images (6, S, S, 3) and landmarks (6, 68, 2) at the six prototypes."""
    from dtsdk_gcgan.synthetic import NUM_EXPRESSIONS, draw_identity, expression_weights, render_person

    images, points = [], []
    for person_id in range(first, first + count):
        person = draw_identity(person_id)
        rendered = [render_person(person, expression_weights(k), size) for k in range(NUM_EXPRESSIONS)]
        images.append(np.stack([r[0] for r in rendered]))
        points.append(np.stack([r[1] for r in rendered]))
    return np.stack(images), np.stack(points)  # (P, 6, S, S, 3), (P, 6, 68, 2)


def heldout_speech(count: int, first: int, size: int, corpus: str, seed: int = 0):
    """Per person: renders (F, S, S, 3) and landmarks (F, 68, 2) at SPEECH_FRAMES motion frames of the
    corpus's test clips (the same frames for everyone); None without a corpus."""
    from dtsdk_gcgan.synthetic import corpus_frames, draw_identity, render_person

    if not corpus or not (Path(corpus) / "manifest.yaml").is_file():
        return None
    frames = corpus_frames(corpus, split="test")
    picked = np.clip(frames[np.random.default_rng(seed).choice(len(frames), SPEECH_FRAMES, replace=False)], 0, 1)
    images, points = [], []
    for person_id in range(first, first + count):
        person = draw_identity(person_id)
        rendered = [render_person(person, w, size) for w in picked]
        images.append(np.stack([r[0] for r in rendered]))
        points.append(np.stack([r[1] for r in rendered]))
    return np.stack(images), np.stack(points)  # (P, F, S, S, 3), (P, F, 68, 2)


def speech_scores(portrait, neutral: np.ndarray, speech, pictures: dict | None = None) -> dict | None:
    """Each person's neutral image (P, S, S, 3) drawn at their speech frames' landmarks vs the renders;
    the generated frames (P, F, S, S, 3) go to ``pictures["speech"]`` when given."""
    if speech is None:
        return None
    images, points = speech
    generated = np.stack([portrait.generate(neutral[p], points[p]) for p in range(len(images))])  # (P, F, S, S, 3)
    flat_gen, flat_true = generated.reshape(-1, *images.shape[2:]), images.reshape(-1, *images.shape[2:])
    if pictures is not None:
        pictures["speech"] = (generated, images)
    copied = np.repeat(neutral[:, None], images.shape[1], 1)  # (P, F, S, S, 3)
    return {"frames": int(images.shape[1]), **image_scores(flat_gen, flat_true),
            "input_copied": image_scores(copied.reshape(flat_true.shape), flat_true),
            "changed_region": changed_region(generated, images, copied)}


def changed_region(generated: np.ndarray, truth: np.ndarray, copied: np.ndarray) -> dict:
    """L1 of ``generated`` and of ``copied`` (the input image) against ``truth``, all uint8 (..., S, S, 3),
    on the pixels where the truth differs from the input by more than 8/255 in a channel: whole-image
    scores are dominated by the many pixels an expression leaves alone."""
    changed = np.abs(truth.astype(np.int16) - copied).max(-1) > 8  # (..., S, S)
    gen_err = np.abs(generated.astype(np.float64) - truth).mean(-1) / 255
    copy_err = np.abs(copied.astype(np.float64) - truth).mean(-1) / 255
    return {"l1_generated": float(gen_err[changed].mean()), "l1_input_copied": float(copy_err[changed].mean()),
            "share_of_pixels": float(changed.mean())}


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """SSIM of two uint8 RGB images (H, W, 3) on grey, Gaussian window 11, sigma 1.5 (Wang et al. 2004)."""
    import torch.nn.functional as F

    def grey(x):
        x = torch.from_numpy(x.astype(np.float32) / 255) @ torch.tensor([0.299, 0.587, 0.114])
        return x[None, None]  # (1, 1, H, W)

    g = torch.exp(-(torch.arange(11) - 5.0) ** 2 / (2 * 1.5 ** 2))
    window = (g[:, None] * g[None, :] / g.sum() ** 2)[None, None]  # (1, 1, 11, 11)
    x, y = grey(a), grey(b)
    mu_x, mu_y = F.conv2d(x, window), F.conv2d(y, window)
    var_x = F.conv2d(x * x, window) - mu_x ** 2
    var_y = F.conv2d(y * y, window) - mu_y ** 2
    cov = F.conv2d(x * y, window) - mu_x * mu_y
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    value = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))
    return float(value.mean())


def image_scores(generated: np.ndarray, truth: np.ndarray) -> dict:
    """Mean L1 (0..1), PSNR (dB) and SSIM over pairs of uint8 images (N, S, S, 3)."""
    g, t = generated.astype(np.float64) / 255, truth.astype(np.float64) / 255
    l1 = np.abs(g - t).mean((1, 2, 3))
    mse = ((g - t) ** 2).mean((1, 2, 3))
    psnr = 10 * np.log10(1 / np.maximum(mse, 1e-10))
    return {"l1": float(l1.mean()), "psnr_db": float(psnr.mean()),
            "ssim": float(np.mean([ssim(a, b) for a, b in zip(generated, truth)]))}


def landmark_error(images: np.ndarray, targets: np.ndarray) -> dict | None:
    """MediaPipe on uint8 images (N, S, S, 3) enlarged to 256 px vs normalised targets (N, 68, 2):
    mean error in % of the outer eye-corner distance, all 68 points and the inner face (17-67)."""
    from PIL import Image

    from dtsdk.errors import DtsdkError
    from dtsdk_gcgan.landmarks import detect_landmarks, mediapipe_available

    if not mediapipe_available():
        return None
    errors, missed = [], 0
    for image, target in zip(images, targets):
        big = np.asarray(Image.fromarray(image).resize((256, 256), Image.BICUBIC))
        try:
            found = detect_landmarks(big) / 256 * 2 - 1  # (68, 2) normalised
        except DtsdkError:
            missed += 1
            continue
        ocular = np.linalg.norm(target[45] - target[36])
        errors.append(np.linalg.norm(found - target, axis=1) / ocular * 100)
    errors = np.array(errors)  # (n, 68)
    return {"all_pct": float(errors.mean()) if len(errors) else None,
            "inner_pct": float(errors[:, 17:].mean()) if len(errors) else None,
            "missed": missed, "images": len(images)}


def identity_kept(generated: np.ndarray, images: np.ndarray) -> float:
    """Share of generated (P, 6, S, S, 3) nearer their own person's render than any other's at that expression."""
    hits = []
    for k in range(images.shape[1]):
        renders = images[:, k].astype(np.float32)  # (P, S, S, 3)
        for p in range(len(images)):
            d = np.abs(renders - generated[p, k].astype(np.float32)).mean((1, 2, 3))  # (P,)
            hits.append(int(np.argmin(d) == p))
    return float(np.mean(hits))


def evaluate(portrait, images, points, with_landmarks: bool = True) -> tuple[dict, dict]:
    """All the scores of one checkpoint on the held-out people; returns (scores, pictures)."""
    from dtsdk_gcgan.landmarks import transfer_expression

    people, labels = images.shape[:2]
    generated = np.stack([portrait.generate(images[p, 0], points[p]) for p in range(people)])  # (P, 6, S, S, 3)
    flat_gen, flat_true = generated.reshape(-1, *images.shape[2:]), images.reshape(-1, *images.shape[2:])
    scores = {"reconstruction": image_scores(flat_gen, flat_true),
              "input_copied": image_scores(np.repeat(images[:, :1], labels, 1).reshape(flat_true.shape), flat_true),
              "identity_kept": identity_kept(generated, images)}
    copied = np.repeat(images[:, :1], labels - 1, 1)  # (P, 5, S, S, 3): the neutral, for each other prototype
    scores["changed_region"] = changed_region(generated[:, 1:], images[:, 1:], copied)
    by_label = [image_scores(generated[:, k], images[:, k]) for k in range(labels)]
    scores["reconstruction_by_expression"] = by_label
    if with_landmarks:
        scores["landmarks_generated"] = landmark_error(flat_gen, points.reshape(-1, 68, 2))
        scores["landmarks_renders"] = landmark_error(flat_true, points.reshape(-1, 68, 2))

    # Transfer: A = person p, B = person p + 1; B's prototypes onto A, both modes.
    transfer = {"displacement": [], "raw": []}
    transfer_images = {"displacement": [], "raw": []}
    for p in range(people):
        b = (p + 1) % people
        for mode in transfer:
            if mode == "raw":
                targets = points[b]
            else:
                targets = np.stack([transfer_expression(points[p, 0], points[b, k], points[b, 0])
                                    for k in range(labels)])
            ocular = np.linalg.norm(points[p, :, 45] - points[p, :, 36], axis=1)[:, None]  # (6, 1)
            transfer[mode].append((np.linalg.norm(targets - points[p], axis=2) / ocular * 100).mean())
            transfer_images[mode].append(portrait.generate(images[p, 0], targets))
    scores["transfer"] = {}
    for mode in transfer:
        made = np.stack(transfer_images[mode])  # (P, 6, S, S, 3)
        scores["transfer"][mode] = {"target_landmark_error_pct": float(np.mean(transfer[mode])),
                                    **image_scores(made.reshape(flat_true.shape), flat_true)}

    # Interpolation smoothness: neutral -> each expression.
    ratios, cvs = [], []
    strips = []
    alpha = np.linspace(0, 1, INTERP_STEPS, dtype=np.float32)[:, None, None]
    for p in range(people):
        for k in range(1, labels):
            frames = portrait.generate(images[p, 0], (1 - alpha) * points[p, 0] + alpha * points[p, k])
            change = np.abs(np.diff(frames.astype(np.float32), axis=0)).mean((1, 2, 3))  # (steps - 1,)
            ratios.append(change.max() / max(change.mean(), 1e-6))
            cvs.append(change.std() / max(change.mean(), 1e-6))
            if p < 2:
                strips.append(frames)
    scores["interpolation"] = {"max_over_mean_step": float(np.mean(ratios)), "step_cv": float(np.mean(cvs)),
                               "steps": INTERP_STEPS}
    scores["geometry_code_distance_ratio"] = code_ratio(portrait.model, points)
    pictures = {"generated": generated, "transfer": transfer_images, "strips": strips}
    return scores, pictures


@torch.no_grad()
def code_ratio(model, points: np.ndarray) -> float:
    """Mean squared geometry-code distance of different-expression pairs over same-expression pairs."""
    people, labels = points.shape[:2]
    code = model.geometry(torch.from_numpy(points.reshape(-1, 68, 2)))  # (P*6, G)
    d2 = torch.cdist(code, code).pow(2).numpy()
    label = np.tile(np.arange(labels), people)
    same = (label[:, None] == label[None, :]) & ~np.eye(len(label), dtype=bool)
    return float(d2[label[:, None] != label[None, :]].mean() / max(d2[same].mean(), 1e-9))


def grid(rows: list[np.ndarray], gap: int = 2) -> np.ndarray:
    """Rows of images (n, S, S, 3) (padded with white to the longest) into one uint8 picture."""
    width = max(len(r) for r in rows)
    size = rows[0].shape[1]
    out = np.full((len(rows) * (size + gap) - gap, width * (size + gap) - gap, 3), 255, np.uint8)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            out[i * (size + gap):i * (size + gap) + size, j * (size + gap):j * (size + gap) + size] = image
    return out


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(image, factor, 0), factor, 1)


def astronaut(portrait, points_heldout) -> dict:
    """scikit-image's public-domain astronaut photo (NASA), aligned by MediaPipe's landmarks and drawn
    at the first held-out person's six prototype expressions (carried by displacement)."""
    from dtsdk_gcgan.landmarks import mediapipe_available, read_face, transfer_expression

    try:
        from skimage import data
    except ImportError:
        return {"status": "scikit-image is not installed"}
    if not mediapipe_available():
        return {"status": "mediapipe is not installed: no landmarks for the photograph"}
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "astronaut.png"
        Image.fromarray(data.astronaut()).save(path)
        face = read_face(path, portrait.size)
    targets = np.stack([transfer_expression(face.landmarks, points_heldout[0, k], points_heldout[0, 0])
                        for k in range(points_heldout.shape[1])])
    made = portrait.generate(face.image, targets)
    return {"status": "ok", "row": np.concatenate([face.image[None], made])}


def main(argv=None) -> None:
    from dtsdk.renderer.video import save_png
    from dtsdk_gcgan.landmarks import mediapipe_available
    from dtsdk_gcgan.portrait import Portrait
    from dtsdk_gcgan.shipped import shipped_checkpoints
    from dtsdk_gcgan.synthetic import EXPRESSION_NAMES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="the checkpoint the pictures and the full section are of "
                                             "(default: the default shipped one)")
    parser.add_argument("--compare", nargs="*", metavar="NAME=DIR",
                        help="more checkpoints for the side-by-side table (default: the other shipped ones)")
    parser.add_argument("--corpus", default=str(REPO / "data" / "corpus"),
                        help="a built default corpus, for the speech frames (its test clips)")
    parser.add_argument("--people", type=int, default=16)
    parser.add_argument("--first", type=int, default=10000)
    parser.add_argument("--ablation", nargs=2, metavar=("WITH", "WITHOUT"),
                        default=[str(REPO / "runs/portrait-shipped/step-1500"),
                                 str(REPO / "runs/portrait-no-contrastive")])
    parser.add_argument("--no-report", action="store_true")
    args = parser.parse_args(argv)
    if args.people < 4:
        parser.error("--people: at least 4 (the pictures show four people)")
    torch.set_num_threads(1)
    started = time.perf_counter()

    portrait = Portrait(args.checkpoint)
    name = Path(portrait.checkpoint).name
    images, points = heldout_people(args.people, args.first, portrait.size)
    scores, pictures = evaluate(portrait, images, points)
    scores["speech"] = speech_scores(portrait, images[:, 0], heldout_speech(args.people, args.first, portrait.size,
                                                                            args.corpus), pictures)
    config = json.loads((Path(portrait.checkpoint) / "config.json").read_text())
    results = {"checkpoint": portrait.checkpoint, "name": name, "size": portrait.size,
               "trained": config.get("trained", {}), "people": args.people, "first_person": args.first,
               "shipped": scores, "mediapipe": mediapipe_available(), "corpus": args.corpus}
    compare = args.compare if args.compare is not None else [f"{n}={n}" for n in shipped_checkpoints() if n != name]
    results["compare"] = {name: _summary(scores, portrait, config)}
    for pair in compare:
        label, _, folder = pair.partition("=")
        other = Portrait(folder or label)
        other_images, other_points = heldout_people(args.people, args.first, other.size)
        other_scores = evaluate(other, other_images, other_points, with_landmarks=False)[0]
        other_scores["speech"] = speech_scores(other, other_images[:, 0],
                                               heldout_speech(args.people, args.first, other.size, args.corpus))
        other_config = json.loads((Path(other.checkpoint) / "config.json").read_text())
        results["compare"][label] = _summary(other_scores, other, other_config)

    ablation = {}
    if all((Path(p) / "model.safetensors").is_file() for p in args.ablation):
        for name, folder in zip(("with_contrastive", "without_contrastive"), args.ablation):
            ablation[name] = evaluate(Portrait(folder), images, points, with_landmarks=mediapipe_available())[0]
            ablation[name]["steps"] = json.loads((Path(folder) / "config.json").read_text())["trained"]["steps"]
    results["ablation"] = ablation

    # Pictures.
    PLUGIN_DOCS.mkdir(parents=True, exist_ok=True)
    rows = []
    for p in range(4):
        rows += [pictures["generated"][p], images[p]]
    save_png(enlarge(grid(rows), 2), PLUGIN_DOCS / "heldout_grid.png")
    rows = []
    for p in range(3):
        b = (p + 1) % args.people
        rows += [images[b], pictures["transfer"]["displacement"][p], pictures["transfer"]["raw"][p], images[p]]
    save_png(enlarge(grid(rows), 2), PLUGIN_DOCS / "transfer_modes.png")
    save_png(enlarge(grid([s[::3] for s in pictures["strips"][:5]] + [s[::3] for s in pictures["strips"][5:10]]), 2),
             PLUGIN_DOCS / "interpolation.png")
    if "speech" in pictures:
        generated, truth = pictures["speech"]
        rows = []
        for p in range(2):
            rows += [np.concatenate([images[p, :1], generated[p, :8]]), np.concatenate([images[p, :1], truth[p, :8]])]
        save_png(enlarge(grid(rows), 2), PLUGIN_DOCS / "speech_frames.png")
    photo = astronaut(portrait, points)
    results["astronaut"] = photo["status"]
    if photo["status"] == "ok":
        save_png(enlarge(grid([photo["row"]]), 3), PLUGIN_DOCS / "astronaut.png")
    results["seconds"] = round(time.perf_counter() - started, 1)

    write_results(RESULTS, results)
    print(json.dumps({k: v for k, v in results.items() if k != "ablation"}, indent=2, default=float))
    if not args.no_report:
        write_section("portrait", report(results, EXPRESSION_NAMES))


def _summary(scores: dict, portrait, config: dict) -> dict:
    """The scores of one checkpoint that the side-by-side table shows."""
    recipe = config.get("recipe") or {}
    return {"checkpoint": portrait.checkpoint, "size": portrait.size, "trained": config.get("trained", {}),
            "corpus_frames": (recipe.get("data") or {}).get("corpus_frames", 0),
            "reconstruction": scores["reconstruction"], "changed_region": scores["changed_region"],
            "speech": scores["speech"], "identity_kept": scores["identity_kept"],
            "interpolation": scores["interpolation"]}


if __name__ == "__main__":
    main()
