"""``dtsdk plugins``: what is installed and what each plugin registers."""
from __future__ import annotations

import dataclasses


def add(subparsers) -> None:
    p = subparsers.add_parser("plugins", help="list installed plugins and what they register")
    p.set_defaults(func=run)


def run(args):
    from dtsdk.plugins import plugin_infos

    infos = plugin_infos()
    if args.json:
        return {"plugins": [dataclasses.asdict(i) for i in infos]}
    from rich.table import Table
    from rich.console import Console

    table = Table(title="dtsdk plugins")
    for col in ("plugin", "version", "distribution", "registers", "status"):
        table.add_column(col)
    for info in infos:
        regs = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in info.registers.items())
        status = f"[red]{info.error}[/red]" if info.error else ("built-in" if info.builtin else "ok")
        table.add_row(info.name, info.version or "-", info.distribution or "-", regs or "-", status)
    Console().print(table)
    return None
