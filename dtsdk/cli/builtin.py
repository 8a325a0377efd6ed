"""Built-in CLI subcommands, added through the same hook plugins use."""
from __future__ import annotations

from dtsdk.plugins import hookimpl


@hookimpl
def register_commands(subparsers):
    from dtsdk.cli import corpus_cmd, plugins_cmd, render_cmd

    plugins_cmd.add(subparsers)
    render_cmd.add(subparsers)
    corpus_cmd.add(subparsers)
    import dtsdk.cli.animate_cmd; dtsdk.cli.animate_cmd.add(subparsers)  # noqa: E702 (one line: merges cleanly)
    import dtsdk.cli.train_cmd; dtsdk.cli.train_cmd.add(subparsers)  # noqa: E702 (one line: merges cleanly)
    import dtsdk.cli.eval_cmd; dtsdk.cli.eval_cmd.add(subparsers)  # noqa: E702 (one line: merges cleanly)
    import dtsdk.cli.enroll_cmd; dtsdk.cli.enroll_cmd.add(subparsers)  # noqa: E702 (one line: merges cleanly)
    import dtsdk.cli.identities_cmd; dtsdk.cli.identities_cmd.add(subparsers)  # noqa: E702 (one line: merges cleanly)
    import dtsdk.cli.distill_cmd; dtsdk.cli.distill_cmd.add(subparsers)  # noqa: E702 (one line: merges cleanly)
    import dtsdk.cli.export_cmd; dtsdk.cli.export_cmd.add(subparsers)  # noqa: E702 (one line: merges cleanly)
