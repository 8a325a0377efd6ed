"""Pictures to look at: a grid of synthetic training samples with their landmarks drawn.

``python -m dtsdk_gcgan.preview OUT.png [--identities N] [--expressions K] [--size S] [--scale F]``
writes the grid of ``docs/synthetic_samples.png`` (one row per person, one column per expression).
"""
from __future__ import annotations

import argparse

import numpy as np

from dtsdk_gcgan.synthetic import SyntheticSet, generate

LANDMARK_COLOR = np.array((40, 230, 60), np.uint8)


def draw_landmarks(image: np.ndarray, landmarks: np.ndarray, scale: int = 1) -> np.ndarray:
    """``image`` uint8 (H, W, 3) enlarged ``scale`` times (nearest), with normalised landmarks (68, 2) as dots."""
    big = np.repeat(np.repeat(image, scale, 0), scale, 1).copy()  # (H*s, W*s, 3)
    size = big.shape[0]
    pixels = np.clip(((landmarks + 1) / 2 * size).astype(int), 0, size - 1)  # (68, 2) x, y
    arm = (-1, 0, 1) if scale > 1 else (0,)  # a plus sign per point once enlarged; one pixel otherwise
    for dx in arm:
        big[pixels[:, 1], np.clip(pixels[:, 0] + dx, 0, size - 1)] = LANDMARK_COLOR
        big[np.clip(pixels[:, 1] + dx, 0, size - 1), pixels[:, 0]] = LANDMARK_COLOR
    return big


def sample_grid(data: SyntheticSet, columns: int, scale: int = 1) -> np.ndarray:
    """The samples of ``data`` in rows of ``columns`` with landmarks drawn: uint8 (rows*H*s, columns*W*s, 3)."""
    tiles = [draw_landmarks(image, points, scale) for image, points in zip(data.images, data.landmarks)]
    rows = len(tiles) // columns
    tiles = np.stack(tiles[:rows * columns])  # (rows*columns, h, w, 3)
    h, w = tiles.shape[1:3]
    return tiles.reshape(rows, columns, h, w, 3).transpose(0, 2, 1, 3, 4).reshape(rows * h, columns * w, 3)


def main(argv=None) -> None:
    from dtsdk.renderer import save_png

    parser = argparse.ArgumentParser(prog="python -m dtsdk_gcgan.preview", description=__doc__.splitlines()[0])
    parser.add_argument("output")
    parser.add_argument("--identities", type=int, default=6)
    parser.add_argument("--expressions", type=int, default=8)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    data = generate(args.identities, args.expressions, args.size, seed=args.seed)
    save_png(sample_grid(data, args.expressions, args.scale), args.output)


if __name__ == "__main__":
    main()
