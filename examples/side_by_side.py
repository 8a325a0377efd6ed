"""Side-by-side renders: corpus ground truth | diffusion teacher (two seeds) | regression baseline.

    python examples/side_by_side.py data/corpus [--teacher dtsdk/models/default]
        [--regression runs/regression/final] [--clips 3] [--out out/side_by_side] [--stills docs/images]

For the first test clips of a few training speakers it writes an MP4 per clip (the four faces in a
row, with the clip's audio) and one contact sheet of stills: for each clip, the frame in the middle
of a bilabial (p/b/m), a rounded vowel (uw/ow) and an open vowel (aa/ae). The ground truth is
rendered without its head motion, as the models predict the face only. ``--say TEXT`` adds a clip
spoken by a TTS voice that is not in the corpus (no ground truth column), with its own stills.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

import dtsdk
from dtsdk.audio import load_audio
from dtsdk.corpus.manifest import read_manifest
from dtsdk.renderer import render_frames
from dtsdk.renderer.video import write_mp4

SIZE = 320  # render size; each cell is cropped to the face (eyes to chin) so lips and lids are visible
CROP = (slice(int(0.30 * SIZE), int(0.92 * SIZE)), slice(int(0.22 * SIZE), int(0.78 * SIZE)))
CELL = CROP[1].stop - CROP[1].start  # cell width in pixels
MOMENTS = {"p/b/m": {"p", "b", "m"}, "uw/ow": {"uw", "ow"}, "aa/ae": {"aa", "ae"}}


def columns(wav, talker, regression, identity, gt=None) -> list[tuple[str, dtsdk.Animation]]:
    cols = [("corpus ground truth", gt)] if gt is not None else []
    a, b = talker.animate(wav, seed=0, num_samples=2, identity=identity)
    cols += [("teacher, seed 0", a), ("teacher, seed 1", b),
             ("regression", regression.animate(wav, seed=0, identity=identity))]
    return cols


def strip(cols, frame: int | None = None) -> list[np.ndarray]:
    """Rendered face crops side by side, one image per frame (or only ``frame``)."""
    rendered = []
    for _, anim in cols:
        verts = anim.to_vertices("dtface")  # (T, V, 3) mm
        verts = verts if frame is None else verts[min(frame, len(verts) - 1)][None]
        rendered.append([f[CROP] for f in render_frames(verts, "dtface", SIZE)])
    n = min(len(r) for r in rendered)
    return [np.concatenate([r[i] for r in rendered], axis=1) for i in range(n)]


def label(image: np.ndarray, titles: list[str]) -> Image.Image:
    img = Image.new("RGB", (image.shape[1], image.shape[0] + 16), "white")
    img.paste(Image.fromarray(image), (0, 16))
    draw = ImageDraw.Draw(img)
    for k, title in enumerate(titles):
        draw.text((k * CELL + 4, 2), title, fill="black")
    return img


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("--teacher", default=None, help="default: the packaged default model")
    ap.add_argument("--regression", default="runs/regression/final")
    ap.add_argument("--clips", type=int, default=3)
    ap.add_argument("--out", default="out/side_by_side")
    ap.add_argument("--stills", default="docs/images")
    ap.add_argument("--say", help="also animate this text spoken by --voice (not a corpus voice)")
    ap.add_argument("--voice", default="espeak-ng:en-gb-scotland+m7")
    args = ap.parse_args()
    root, out, stills = Path(args.corpus), Path(args.out), Path(args.stills)
    out.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(root)
    talker, regression = dtsdk.Talker(args.teacher), dtsdk.Talker(args.regression)
    test = sorted((c for c in manifest["clips"] if c["split"] == "test"), key=lambda c: c["clip"])
    picked, seen = [], set()
    for clip in test:  # one clip per speaker, so the sheet shows several styles
        if clip["speaker"] not in seen and len(picked) < args.clips:
            picked.append(clip)
            seen.add(clip["speaker"])

    sheet_rows = []
    for clip in picked:
        wav = root / clip["wav"]
        gt = dtsdk.Animation.load(root / clip["motion"])
        cols = columns(wav, talker, regression, clip["speaker"], gt)
        titles = [title for title, _ in cols]
        frames = strip(cols)
        audio = load_audio(wav, sr=48000)[:round(len(frames) / gt.fps * 48000)]
        write_mp4(frames, out / f"{clip['clip']}.mp4", gt.fps, audio=audio)
        for moment, phones in MOMENTS.items():
            hits = [(s, e) for p, s, e, _ in gt.meta["phones"] if p in phones]
            if hits:
                s, e = hits[0]
                frame = strip(cols, round((s + e) / 2 * gt.fps))[0]
                sheet_rows.append((f"{clip['speaker']} {moment}", label(frame, titles)))
        print(f"wrote {out / (clip['clip'] + '.mp4')}")
    if args.say:
        from dtsdk.cli.animate_cmd import speak

        wav = Path(speak(args.say, args.voice, out / "say.wav"))
        cols = columns(wav, talker, regression, "auto")
        frames = strip(cols)
        audio = load_audio(wav, sr=48000)[:round(len(frames) / talker.config.fps * 48000)]
        write_mp4(frames, out / "say.mp4", talker.config.fps, audio=audio)
        print(f"wrote {out / 'say.mp4'} (identity matched: {cols[1][1].meta['identity']})")
        # No phone times for this voice: the stills are three of the regression's least open jaws
        # (closures and rests, where a wrongly open mouth shows) and its most open one.
        jaw = cols[-1][1].arkit_weights()[:, dtsdk.ARKIT52.index("jawOpen")]
        order = np.argsort(jaw)
        moments = [int(f) for f in order[:: max(1, len(order) // 40)][:3]] + [int(order[-1])]
        titles = [title for title, _ in cols]
        rows = [(f"{f / talker.config.fps:.2f} s, {'jaw most open' if f == moments[-1] else 'jaw least open'}",
                 label(frames[f], titles)) for f in sorted(moments)]
        say_sheet = Image.new("RGB", (110 + rows[0][1].width, sum(r.height for _, r in rows)), "white")
        say_draw = ImageDraw.Draw(say_sheet)
        for k, (text, row) in enumerate(rows):
            say_sheet.paste(row, (110, k * row.height))
            say_draw.text((4, k * row.height + row.height // 2), text, fill="black")
        stills.mkdir(parents=True, exist_ok=True)
        say_sheet.save(stills / "side_by_side_say.png")
        print(f"wrote {stills / 'side_by_side_say.png'}")

    width = max(img.width for _, img in sheet_rows)
    sheet = Image.new("RGB", (110 + width, sum(img.height for _, img in sheet_rows)), "white")
    draw, y = ImageDraw.Draw(sheet), 0
    for text, img in sheet_rows:
        sheet.paste(img, (110, y))
        draw.text((4, y + img.height // 2), text, fill="black")
        y += img.height
    stills.mkdir(parents=True, exist_ok=True)
    sheet.save(stills / "side_by_side.png")
    print(f"wrote {stills / 'side_by_side.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
