"""Rich output on stderr for humans; nothing fancy when stderr is not a terminal."""
from __future__ import annotations

import contextlib
import functools
import sys
from typing import Iterator

from rich.console import Console


@functools.lru_cache(maxsize=1)
def stderr_console() -> Console:
    return Console(file=sys.stderr, stderr=True)


@contextlib.contextmanager
def progress(description: str, total: float | None = None) -> Iterator:
    """A progress bar on a terminal; a no-op elsewhere. Yields ``advance(n=1)``."""
    console = stderr_console()
    if not console.is_terminal:
        yield lambda n=1: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
