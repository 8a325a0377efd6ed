"""The ``dtsdk`` command. Thin: every subcommand calls the Python API a user would call.

Conventions: logs and progress go to stderr (rich, switched off when stderr is not a terminal);
``--json`` prints the command's result as JSON on stdout; a :class:`dtsdk.errors.DtsdkError` (or a
missing file) is one line on stderr with exit code 2, and ``--debug`` shows the traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from typing import Sequence

from dtsdk._version import __version__
from dtsdk.errors import DtsdkError

EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    from dtsdk.plugins import call_command_hooks

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    common.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    common.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors on stderr")

    parser = argparse.ArgumentParser(
        prog="dtsdk", parents=[common],
        description="Speech to personalized 3D facial animation.",
    )
    parser.add_argument("--version", action="version", version=f"dtsdk {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    # Every subcommand inherits --json/--debug/--quiet so they work after the command name too.
    _orig_add = subparsers.add_parser

    def add_parser(name, **kwargs):
        kwargs.setdefault("parents", [])
        kwargs["parents"] = [common, *kwargs["parents"]]
        return _orig_add(name, **kwargs)

    subparsers.add_parser = add_parser  # type: ignore[method-assign]
    call_command_hooks(subparsers)
    return parser


def _setup_logging(debug: bool, quiet: bool) -> None:
    from dtsdk.cli.console import stderr_console

    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    console = stderr_console()
    if console.is_terminal:
        from rich.logging import RichHandler

        handler: logging.Handler = RichHandler(console=console, show_path=False, show_time=False)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    import warnings

    def show_warning(message, category, filename, lineno, file=None, line=None):
        # Library warnings (a missing CSV column, a truncated WAV) are for the user: one line, no source.
        logging.getLogger("dtsdk").warning("%s", " ".join(str(message).split()))

    warnings.showwarning = show_warning
    root = logging.getLogger("dtsdk")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


def _terminated(signum, frame):
    raise KeyboardInterrupt  # like Ctrl-C: cleanups run (temporary folders go, workers stop)


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (``kill``, a job scheduler) would end the process with no cleanup at all."""
    try:
        previous = signal.signal(signal.SIGTERM, _terminated)
    except ValueError:  # not the main thread: leave the handler alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    with _sigterm_as_interrupt():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv, global_flags = _pop_global_flags(argv)
    debug = "debug" in global_flags
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        for flag in global_flags:
            setattr(args, flag, True)
        _setup_logging(args.debug, args.quiet)
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        result = args.func(args)
        if isinstance(result, int):
            return result
        if args.json and result is not None:
            json.dump(result, sys.stdout, indent=2, default=str)
            sys.stdout.write("\n")
        return 0
    except BrokenPipeError:
        # stdout was closed early (`dtsdk plugins --json | head`): not an error worth a traceback.
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print("dtsdk: interrupted", file=sys.stderr)
        return 130
    except (DtsdkError, FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        if debug:
            raise
        print(f"dtsdk: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug, not bad input: still one line, but say how to get the details
        if debug:
            raise
        print(f"dtsdk: internal error: {type(exc).__name__}: {_one_line(exc)} "
              "(rerun with --debug for the traceback and report it)", file=sys.stderr)
        return 1


_GLOBAL_FLAGS = {"--json": "json", "--debug": "debug", "-q": "quiet", "--quiet": "quiet"}


def _pop_global_flags(argv: list[str]) -> tuple[list[str], set[str]]:
    """Take --json/--debug/--quiet from anywhere on the line (before ``--``), so they also work after
    nested subcommands such as ``dtsdk corpus build ... --json``."""
    rest, flags = [], set()
    for i, arg in enumerate(argv):
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg in _GLOBAL_FLAGS:
            flags.add(_GLOBAL_FLAGS[arg])
        else:
            rest.append(arg)
    return rest, flags


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in text:
        text = f"{exc.filename}: {exc.strerror or text}"
    return " ".join(text.split())
