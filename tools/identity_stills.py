"""Identity stills: one sentence in one voice, animated with three identities, beside two ground truths.

    python tools/identity_stills.py [--corpus data/corpus] [--model dtsdk/models/default]
        [--clip B_swapped_test_NNN] [--third SPEAKER] [--out docs/images/identity_stills.png]

Takes a `swapped_test` clip (the audio of training speaker A, the ground truth articulated in speaker
B's style; docs/articulation.md) and renders, at the same few moments, the model animated with
identity B (the clip's label), with A (the voice's own identity) and with a third training speaker
C, then the corpus's swapped ground truth (B's style) and A's natural clip of the same audio (A's
style). Rows are systems, columns moments: the middle of a bilabial closure (p/b/m), of the longest
open vowel (aa/ae/ao), of a rounded sound (uw/ow/w) when there is one, and of the trailing pause
(the resting face). Lip timing should follow the audio in every row; the resting smile or frown,
the asymmetry, the jaw opening and the brows should follow the identity.

With no ``--clip`` it picks the swapped pair whose two styles differ most (resting smile, asymmetry,
jaw gain) among clips with a closure and an open vowel; with no ``--third``, the training speaker
farthest from both.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from dtsdk.animation import Animation
from dtsdk.corpus.manifest import clip_voice_speaker, read_manifest
from dtsdk.corpus.resample import speaker_style
from dtsdk.renderer import render_frames
from dtsdk.renderer.video import save_png

SIZE = 320  # render size; each cell is cropped to the face (brows to chin), as examples/side_by_side.py does
CROP = (slice(int(0.26 * SIZE), int(0.92 * SIZE)), slice(int(0.22 * SIZE), int(0.78 * SIZE)))
LABEL_W, HEADER_H = 200, 30
MOMENTS = (("closure p/b/m", {"p", "b", "m"}), ("open vowel aa/ae/ao", {"aa", "ae", "ao"}),
           ("rounded uw/ow/w", {"uw", "ow", "w"}), ("trailing pause", {"sil"}))


def style_distance(a, b) -> float:
    """How visibly two SpeakerStyles differ: resting smile and asymmetry (each over its prior's span)
    plus the jaw gain's log ratio over its prior's log span."""
    return (abs(a.resting_smile - b.resting_smile) / 0.5 + abs(a.asymmetry - b.asymmetry) / 0.5
            + abs(math.log(a.jaw_gain / b.jaw_gain)) / math.log(1.5 / 0.65))


def moments(phones, duration_s: float) -> list[tuple[str, float]]:
    """(column title, time in s) for each moment of :data:`MOMENTS` the clip has: the middle of the
    first closure after speech starts, the longest open vowel, the first rounded sound, the last pause."""
    out = []
    speech_start = next((s for p, s, e, _ in phones if p != "sil"), 0.0)
    for title, group in MOMENTS:
        hits = [(s, e) for p, s, e, _ in phones if p in group]
        if title.startswith("open"):
            hits = sorted(hits, key=lambda se: se[0] - se[1])  # longest first
        elif title.startswith("trailing"):
            hits = [(s, e) for s, e in hits[-1:] if s > speech_start and e - s >= 0.15] or [(duration_s, duration_s)]
        if hits:
            s, e = hits[0]
            out.append((f"{title} {(s + e) / 2:.2f} s", (s + e) / 2))
    return out


def pick_clip(root: Path, manifest: dict, styles: dict) -> dict:
    candidates = []
    for clip in manifest["clips"]:
        if clip["split"] != "swapped_test" or not clip.get("natural_clip"):
            continue
        a, b = styles[clip_voice_speaker(clip)], styles[clip["speaker"]]
        candidates.append((style_distance(a, b), clip["clip"], clip))
    for _, _, clip in sorted(candidates, key=lambda c: (-c[0], c[1])):
        phones = {p for p, *_ in Animation.load(root / clip["motion"]).meta["phones"]}
        if phones & MOMENTS[0][1] and phones & MOMENTS[1][1]:
            return clip
    raise SystemExit("no swapped_test clip with a natural clip, a closure and an open vowel")


def style_line(style) -> str:
    return f"smile {style.resting_smile:+.2f}, asym {style.asymmetry:+.2f}, jaw x{style.jaw_gain:.2f}"


def render_row(anim: Animation, times: list[float]) -> list[np.ndarray]:
    """Face crops of ``anim`` at ``times`` (s), without head motion (the models predict the face only)."""
    verts = anim.to_vertices("dtface")  # (T, V, 3) mm
    idx = [min(len(verts) - 1, int(round(t * anim.fps))) for t in times]
    return [frame[CROP] for frame in render_frames(verts[idx], "dtface", SIZE)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="data/corpus")
    ap.add_argument("--model", default=None, help="default: the packaged default model")
    ap.add_argument("--clip", help="a swapped_test clip name (default: the pair with the most different styles)")
    ap.add_argument("--third", help="the third identity C (default: the training speaker farthest from A and B)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="docs/images/identity_stills.png")
    args = ap.parse_args()

    import dtsdk

    root = Path(args.corpus)
    manifest = read_manifest(root)
    train = sorted({c["speaker"] for c in manifest["clips"] if c["split"] == "train"})
    styles = {s: speaker_style(root, s) for s in train}
    by_name = {c["clip"]: c for c in manifest["clips"]}
    clip = by_name[args.clip] if args.clip else pick_clip(root, manifest, styles)
    b, a = clip["speaker"], clip_voice_speaker(clip)
    c = args.third or max((s for s in train if s not in (a, b)),
                          key=lambda s: min(style_distance(styles[s], styles[a]), style_distance(styles[s], styles[b])))
    swapped_gt = Animation.load(root / clip["motion"])
    natural_gt = Animation.load(root / by_name[clip["natural_clip"]]["motion"])
    columns = moments(swapped_gt.meta["phones"], float(clip["duration_s"]))
    times = [t for _, t in columns]

    talker = dtsdk.Talker(args.model)
    wav = root / clip["wav"]

    def animate(identity):
        return talker.animate(wav, seed=args.seed, identity=identity)

    rows = [(f"model, identity {b} (the label)", style_line(styles[b]), animate(b)),
            (f"model, identity {a} (the voice)", style_line(styles[a]), animate(a)),
            (f"model, identity {c}", style_line(styles[c]), animate(c)),
            (f"ground truth, {b}'s style", f"{clip['clip']}", swapped_gt),
            (f"ground truth, {a}'s style", f"{clip['natural_clip']}", natural_gt)]

    cell_h, cell_w = CROP[0].stop - CROP[0].start, CROP[1].stop - CROP[1].start
    sheet = Image.new("RGB", (LABEL_W + cell_w * len(columns), HEADER_H + cell_h * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 2), f"voice {a}: \"{clip['text'][:48]}\"", fill="black")
    draw.text((4, 16), f"{wav.name}", fill="black")
    for k, (title, _) in enumerate(columns):
        draw.text((LABEL_W + k * cell_w + 4, HEADER_H - 14), title, fill="black")
    for r, (title, detail, anim) in enumerate(rows):
        y = HEADER_H + r * cell_h
        draw.text((4, y + cell_h // 2 - 14), title, fill="black")
        draw.text((4, y + cell_h // 2 + 2), detail, fill="dimgray")
        for k, crop in enumerate(render_row(anim, times)):
            sheet.paste(Image.fromarray(crop), (LABEL_W + k * cell_w, y))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(np.asarray(sheet), out)
    print(f"wrote {out}: clip {clip['clip']} (voice {a}, style {b}), third identity {c}; "
          f"moments {', '.join(f'{t:.2f} s' for t in times)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
