"""Reading a header-plus-rows CSV with errors that name the file and the line (shared by the CSV formats)."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np

from dtsdk.errors import FormatError


@dataclass
class CsvTable:
    path: str
    header: list[str]  # stripped column names
    rows: list[list[str]]  # stripped cells, each row as long as the header
    line_numbers: list[int]  # 1-based line of each row in the file (the header is line 1)

    def column_index(self) -> dict[str, int]:
        """Lower-cased column name -> index; repeated names are an error (they would be ambiguous)."""
        index: dict[str, int] = {}
        for i, name in enumerate(self.header):
            key = name.lower()
            if key in index:
                raise FormatError(f"{self.path}: line 1: column '{name}' appears twice")
            index[key] = i
        return index

    def numeric(self, columns: list[int]) -> np.ndarray:
        """The given columns as float32 ``(rows, len(columns))``; FormatError naming the line of a bad cell."""
        try:  # fast path; the slow loop below only runs to find the bad cell
            out = np.array([[row[c] for c in columns] for row in self.rows], dtype=np.float64)
            out = out.reshape(len(self.rows), len(columns))
            if np.isfinite(out).all():
                return out.astype(np.float32)
        except ValueError:
            pass
        out = np.empty((len(self.rows), len(columns)), dtype=np.float32)
        for r, (row, line) in enumerate(zip(self.rows, self.line_numbers)):
            for c, col in enumerate(columns):
                cell = row[col]
                try:
                    value = float(cell)
                except ValueError:
                    raise FormatError(f"{self.path}: line {line}: column '{self.header[col]}' holds {cell!r}, "
                                      f"not a number") from None
                if not np.isfinite(value):
                    raise FormatError(f"{self.path}: line {line}: column '{self.header[col]}' is {cell}")
                out[r, c] = value
        return out


def read_csv_table(path: str | os.PathLike) -> CsvTable:
    """Parse ``path``; blank lines are skipped, a single trailing empty cell (a trailing comma) is tolerated."""
    where = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            records = [(reader_line, row) for reader_line, row in _numbered_rows(f)]
    except UnicodeDecodeError as exc:
        raise FormatError(f"{where}: not a text CSV file ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise FormatError(f"{where}: malformed CSV ({exc})") from None
    if not records:
        raise FormatError(f"{where}: empty file, expected a header line")
    header_line, header = records[0]
    header = _drop_trailing_empty(header)
    if any(not name for name in header):
        raise FormatError(f"{where}: line {header_line}: the header has an empty column name")
    rows, lines = [], []
    for line, row in records[1:]:
        if len(row) == len(header) + 1 and not row[-1]:
            row = row[:-1]
        if len(row) != len(header):
            raise FormatError(f"{where}: line {line}: {len(row)} values, but the header has {len(header)} columns")
        rows.append(row)
        lines.append(line)
    return CsvTable(where, header, rows, lines)


def _numbered_rows(f):
    reader = csv.reader(f)
    for row in reader:
        cells = [c.strip() for c in row]
        if not any(cells):
            continue
        yield reader.line_num, cells


def _drop_trailing_empty(row: list[str]) -> list[str]:
    return row[:-1] if row and not row[-1] else row
