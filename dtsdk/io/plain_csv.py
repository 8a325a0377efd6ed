"""``csv``: a plain weights table, one row per frame, one column per shape (format-only, no extension).

``.csv`` belongs to ``llf-csv``; pick this one with ``format="csv"``. Layout::

    time_s,jawOpen,mouthClose,...
    0.000000,0.120000,0.000000,...

Columns are the animation's own channel names in its own order (any blendshape or motion rig), so a
Blender script can key ``key_blocks[name].value`` per row. ``time_column=False`` drops ``time_s``:
that is the header-of-names-only layout SAiD's Blender add-on reads. Weights are written unclipped
with 6 decimals. Reading takes the rate from ``time_s`` (or needs ``fps=``) and the rig from ``rig=``
(default: ``arkit52`` when the names are ARKit shapes).
"""
from __future__ import annotations

import os

import numpy as np

from dtsdk.animation import Animation
from dtsdk.errors import DtsdkError, FormatError
from dtsdk.io._common import require_named_channels, rig_name_for
from dtsdk.io._csvtable import read_csv_table
from dtsdk.utils.atomic import atomic_open
from dtsdk.io.base import Exporter

TIME_COLUMN = "time_s"
_TIME_ALIASES = (TIME_COLUMN, "time", "timestamp", "seconds")


class PlainCsv(Exporter):
    name = "csv"
    extensions = ()
    description = "Plain CSV: time_s + one column per shape name (Blender scripts, SAiD add-on with time_column=False)"
    stores_head_pose = False  # one column per shape, nothing else
    stores_meta = False
    stores_rig_name = False  # read back as rig= or arkit52

    def write(self, animation: Animation, path: str | os.PathLike, time_column: bool = True) -> None:
        require_named_channels(animation, path, self.name)
        header = ([TIME_COLUMN] if time_column else []) + list(animation.names)
        values = animation.weights.astype(np.float64)
        if time_column:
            values = np.concatenate([animation.times_s[:, None], values], axis=1)
        row_format = ",".join(["%.6f"] * values.shape[1])
        with atomic_open(path, "w", newline="", encoding="utf-8") as f:
            f.write(",".join(header) + "\n")
            for row in values:
                f.write(row_format % tuple(row.tolist()) + "\n")

    def read(self, path: str | os.PathLike, fps: float | None = None, rig: str | None = None) -> Animation:
        table = read_csv_table(path)
        if not table.rows:
            raise FormatError(f"{table.path}: no data rows after the header")
        columns = table.column_index()
        time_col = next((columns[a] for a in _TIME_ALIASES if a in columns), None)
        shape_cols = [i for i in range(len(table.header)) if i != time_col]
        if not shape_cols:
            raise FormatError(f"{table.path}: no shape columns, only a time column")
        weights = table.numeric(shape_cols)
        if fps is None:
            if time_col is None:
                raise FormatError(f"{table.path}: no {TIME_COLUMN} column, so the frame rate is unknown; pass fps=")
            fps = _rate_from_times(table, time_col)
        names = tuple(table.header[i] for i in shape_cols)
        try:
            return Animation(weights, names, fps, rig_name_for(names, rig), meta={"source": table.path})
        except DtsdkError as exc:
            raise FormatError(f"{table.path}: {exc}") from exc


PLAIN_CSV = PlainCsv()


def _rate_from_times(table, time_col: int) -> float:
    times = table.numeric([time_col])[:, 0].astype(np.float64)
    if len(times) < 2:
        raise FormatError(f"{table.path}: one row cannot give a frame rate; pass fps=")
    steps = np.diff(times)
    bad = np.flatnonzero(steps <= 0)
    if len(bad):
        raise FormatError(f"{table.path}: line {table.line_numbers[bad[0] + 1]}: {TIME_COLUMN} does not increase")
    step = float(np.median(steps))
    # Times are written with 6 decimals, so allow that much jitter; a real gap is a misaligned file.
    if np.abs(steps - step).max() > max(2e-6, 0.01 * step):
        i = int(np.argmax(np.abs(steps - step))) + 1
        raise FormatError(f"{table.path}: line {table.line_numbers[i]}: {TIME_COLUMN} is not evenly spaced "
                          f"(step {steps[i - 1]:.6f}s, expected {step:.6f}s)")
    rate = 1.0 / step
    nearest = round(rate)
    return float(nearest) if abs(rate - nearest) < 1e-3 * max(nearest, 1) else rate
