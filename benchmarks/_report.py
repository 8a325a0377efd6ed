"""Write one benchmark's section into docs/benchmarks.md between ``<!-- bench:NAME -->`` markers."""
from __future__ import annotations

import os
import platform
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\nEvery figure here is written by a script in `benchmarks/`; rerun it to update its section.\n"


def machine_line() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, torch {torch.__version__}"


def write_section(name: str, body: str) -> Path:
    text = DOC.read_text() if DOC.exists() else HEADER
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    DOC.parent.mkdir(parents=True, exist_ok=True)
    tmp = DOC.with_suffix(".md.part")
    tmp.write_text(text)
    os.replace(tmp, DOC)
    return DOC


def repo_relative(path) -> str:
    """One path as results record it: relative to the checkout, never this machine's absolute path
    (one outside the checkout is written as ``.../NAME``). :func:`portable` does whole results."""
    path = Path(path).resolve()
    return os.fspath(path.relative_to(REPO)) if path.is_relative_to(REPO) else f".../{path.name}"


def portable(value):
    """``value`` with every path inside this checkout written relative to it (results are committed;
    this machine's absolute paths must not be), also where one is part of a longer string (a command line)."""
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v) for v in value]
    if isinstance(value, str):
        root = os.fspath(REPO)
        if value == root:
            return "."
        return value.replace(root + os.sep, "")
    return value


def write_results(path: Path, results: dict, indent: int = 2) -> Path:
    """Write a benchmark's results JSON atomically, with :func:`portable` paths."""
    import json

    from dtsdk.utils.atomic import atomic_open

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "w", encoding="utf-8") as f:
        json.dump(portable(results), f, indent=indent, default=float)
    return path


def publish(results_path: Path, results: dict, section: str, body: str, write: bool = True) -> None:
    """Print a benchmark's report; with ``write``, also its results JSON and its docs/benchmarks.md section."""
    print(body)
    if write:
        written = write_results(results_path, results), write_section(section, body)
        print("wrote " + " and ".join(os.path.relpath(p) for p in written))
