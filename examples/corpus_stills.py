"""Contact sheets of corpus clips, to look at what the synthetic corpus teaches (docs/images/).

    python examples/corpus_stills.py data/corpus [--out docs/images]

Sheet 1 (corpus_phones.png): for three speakers, the frame in the middle of a bilabial (p/b/m),
a rounded vowel (uw/ow), an open vowel (aa/ae) and a pause: closures, rounding, opening and each
speaker's resting face side by side. Sheet 2 (corpus_styles.png): the same test sentence spoken
by four training speakers, at its loudest vowel.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import dtsdk
from dtsdk.corpus.manifest import read_manifest
from dtsdk.renderer import render_frames

SIZE = 224
GROUPS = {"p/b/m": {"p", "b", "m"}, "uw/ow": {"uw", "ow"}, "aa/ae": {"aa", "ae"}, "pause": {"sil"}}


def frame_at(anim: dtsdk.Animation, t: float, rig) -> np.ndarray:
    i = min(anim.num_frames - 1, int(t * anim.fps))
    verts = anim.to_vertices(rig)[i:i + 1]
    return next(render_frames(verts, rig, SIZE, head_pose=None if anim.head_pose is None else anim.head_pose[i:i + 1]))


def sheet(rows: list[tuple[str, list[tuple[str, np.ndarray]]]]) -> Image.Image:
    cols = max(len(r[1]) for r in rows)
    img = Image.new("RGB", (90 + cols * SIZE, 20 + len(rows) * SIZE), "white")
    draw = ImageDraw.Draw(img)
    for r, (label, cells) in enumerate(rows):
        draw.text((4, 20 + r * SIZE + SIZE // 2), label, fill="black")
        for c, (title, frame) in enumerate(cells):
            img.paste(Image.fromarray(frame), (90 + c * SIZE, 20 + r * SIZE))
            if r == 0:
                draw.text((90 + c * SIZE + 4, 4), title, fill="black")
    return img


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--out", default="docs/images")
    args = ap.parse_args()
    root, out = Path(args.corpus), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(root)
    rig = dtsdk.get_rig("dtface")
    rows = []
    for speaker in ("t01", "t02", "t03"):
        clips = [c for c in manifest["clips"] if c["speaker"] == speaker and c["split"] == "train"]
        cells = []
        for title, phones in GROUPS.items():
            for clip in clips:
                anim = dtsdk.Animation.load(root / clip["motion"])
                hits = [(s, e) for p, s, e, _ in anim.meta["phones"] if p in phones and (p != "sil" or s > 0.2)]
                if hits:
                    s, e = hits[0]
                    cells.append((title, frame_at(anim, (s + e) / 2, rig)))
                    break
        rows.append((speaker, cells))
    sheet(rows).save(out / "corpus_phones.png")
    test = [c for c in manifest["clips"] if c["split"] == "test"]
    sentence = max({c["sentence_id"] for c in test}, key=lambda s: sum(c["sentence_id"] == s for c in test))
    cells = []
    for clip in [c for c in test if c["sentence_id"] == sentence][:4]:
        anim = dtsdk.Animation.load(root / clip["motion"])
        vowels = [(s, e) for p, s, e, _ in anim.meta["phones"] if p in ("aa", "ae", "ao", "ay", "aw")] or [(0.5, 0.5)]
        s, e = vowels[0]
        cells.append((clip["speaker"], frame_at(anim, (s + e) / 2, rig)))
    sheet([(f"sentence {sentence}", cells)]).save(out / "corpus_styles.png")
    print(f"wrote {out / 'corpus_phones.png'} and {out / 'corpus_styles.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
