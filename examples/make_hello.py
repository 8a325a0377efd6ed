"""Regenerate the bundled example (examples/hello.wav + examples/hello.csv).

The speech is flite's ``slt`` voice; the motion is hand-made from flite's phone end times with a
deliberately small viseme table and smoothing. It is a placeholder for demos and tests of the
preview/export pipeline, not model output and not the corpus articulation model. Run:
``python examples/make_hello.py`` (needs flite on PATH).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

import dtsdk
from dtsdk import ARKIT52, Animation

TEXT = "Hello there. Peter bought a blue balloon, and we smiled."
FPS = 60.0
HERE = Path(__file__).resolve().parent

# phone -> {ARKit shape: weight}; unlisted phones get a small neutral opening.
VISEMES = {
    "p": {"mouthClose": 0.5, "mouthPressLeft": 0.4, "mouthPressRight": 0.4},
    "b": {"mouthClose": 0.5, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
    "m": {"mouthClose": 0.5, "mouthPressLeft": 0.3, "mouthPressRight": 0.3},
    "f": {"mouthRollLower": 0.6, "mouthUpperUpLeft": 0.2, "mouthUpperUpRight": 0.2},
    "v": {"mouthRollLower": 0.6},
    "uw": {"mouthPucker": 0.8, "jawOpen": 0.15}, "ow": {"mouthFunnel": 0.6, "jawOpen": 0.3},
    "w": {"mouthPucker": 0.9}, "r": {"mouthFunnel": 0.3, "jawOpen": 0.1},
    "aa": {"jawOpen": 0.55}, "ae": {"jawOpen": 0.45, "mouthStretchLeft": 0.2, "mouthStretchRight": 0.2},
    "ay": {"jawOpen": 0.5}, "eh": {"jawOpen": 0.35, "mouthStretchLeft": 0.15, "mouthStretchRight": 0.15},
    "iy": {"jawOpen": 0.1, "mouthStretchLeft": 0.35, "mouthStretchRight": 0.35},
    "er": {"jawOpen": 0.2, "mouthFunnel": 0.3}, "ax": {"jawOpen": 0.3},
    "s": {"jawOpen": 0.05, "mouthStretchLeft": 0.2, "mouthStretchRight": 0.2}, "t": {"jawOpen": 0.1},
    "d": {"jawOpen": 0.12}, "n": {"jawOpen": 0.12}, "l": {"jawOpen": 0.2}, "hh": {"jawOpen": 0.25},
    "dh": {"jawOpen": 0.15}, "pau": {},
}


def phone_times(wav: Path) -> list[tuple[str, float]]:
    out = subprocess.run(["flite", "-voice", "slt", "-t", TEXT, "-o", str(wav), "-psdur"],
                         check=True, capture_output=True, text=True).stdout
    return [(p.split(":")[0], float(p.split(":")[1])) for p in out.split()]


def main() -> int:
    wav = HERE / "hello.wav"
    phones = phone_times(wav)
    audio = dtsdk.load_audio(wav, sr=16000)
    n = int(np.ceil(phones[-1][1] * FPS))
    w = np.zeros((n, 52), np.float32)
    start = 0.0
    for phone, end in phones:
        a, b = int(start * FPS), max(int(start * FPS) + 1, int(end * FPS))
        for shape, value in VISEMES.get(phone, {"jawOpen": 0.2}).items():
            w[a:b, ARKIT52.index(shape)] = value
        start = end
    # Coarticulation stand-in: a 50 ms Gaussian blur over time.
    k = np.exp(-0.5 * (np.arange(-9, 10) / (0.05 * FPS)) ** 2)
    w = np.stack([np.convolve(w[:, j], k / k.sum(), mode="same") for j in range(52)], 1)
    # Jaw follows loudness a little.
    hop = 16000 / FPS
    rms = np.array([np.sqrt(np.mean(audio[int(i * hop):int((i + 1) * hop)] ** 2) + 1e-12) for i in range(n)])
    w[:, ARKIT52.index("jawOpen")] *= 0.6 + 0.8 * rms / rms.max()
    t = np.arange(n) / FPS
    for blink_t in (0.45, 2.35):
        w[:, ARKIT52.index("eyeBlinkLeft")] += np.exp(-0.5 * ((t - blink_t) / 0.05) ** 2)
        w[:, ARKIT52.index("eyeBlinkRight")] += np.exp(-0.5 * ((t - blink_t) / 0.05) ** 2)
    w[:, ARKIT52.index("browInnerUp")] += 0.5 * np.exp(-0.5 * ((t - 1.7) / 0.2) ** 2)
    smile = np.clip((t - 2.8) / 0.3, 0, 1) * 0.6
    w[:, ARKIT52.index("mouthSmileLeft")] += smile
    w[:, ARKIT52.index("mouthSmileRight")] += smile
    head = np.stack([0.04 * np.sin(2 * np.pi * 0.3 * t), 0.03 * np.sin(2 * np.pi * 0.5 * t + 1),
                     0.02 * np.sin(2 * np.pi * 0.2 * t)], 1)
    anim = Animation(np.clip(w, 0, 1), ARKIT52, FPS, head_pose=head,
                     meta={"source": "examples/make_hello.py (hand-made placeholder)", "text": TEXT})
    anim.save(HERE / "hello.csv")
    sf.write(wav, audio, 16000, subtype="PCM_16")
    print(f"wrote {wav.name} ({len(audio) / 16000:.2f} s) and hello.csv ({n} frames at {FPS:g} fps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
