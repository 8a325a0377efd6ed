"""``dtsdk plugins``: what is installed and what each plugin registers (``--check``: build it all)."""
from __future__ import annotations

import dataclasses


def add(subparsers) -> None:
    p = subparsers.add_parser("plugins", help="list installed plugins and what they register")
    p.add_argument("--check", action="store_true",
                   help="also build every rig now (plugins build theirs on first use) and show the ones that fail")
    p.set_defaults(func=run)


def status(info) -> str:
    """One word or line for the status column: the load error, the failed builds, or ok."""
    if info.error:
        return info.error
    if info.build_errors:
        return "failed: " + "; ".join(info.build_errors)
    return "built-in" if info.builtin else "ok"


def renderer_options(name: str) -> dict[str, str]:
    """The options renderer ``name`` declares (``dtsdk animate --renderer-option``), name -> help; none for
    an object registered as a renderer that is not one (``--check`` flags it)."""
    from dtsdk.renderer import Renderer, get_renderer

    renderer = get_renderer(name)
    return {key: option.help for key, option in renderer.options.items()} if isinstance(renderer, Renderer) else {}


def registered(kind: str, names: list[str]) -> str:
    """``renderer: portrait (options: checkpoint, face_landmarks)``: what one kind registers, for the table."""
    if kind == "renderer":
        names = [f"{n} (options: {', '.join(options)})" if (options := renderer_options(n)) else n for n in names]
    return f"{kind}: {', '.join(names)}"


def run(args):
    from dtsdk.plugin_checks import check_builds
    from dtsdk.plugins import plugin_infos

    infos = check_builds() if getattr(args, "check", False) else plugin_infos()
    if args.json:
        return {"plugins": [{**dataclasses.asdict(i), "status": status(i),
                             "renderer_options": {n: renderer_options(n) for n in i.registers.get("renderer", [])}}
                            for i in infos]}
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="dtsdk plugins")
    for col in ("plugin", "version", "distribution", "registers", "status"):
        table.add_column(col)
    for info in infos:
        regs = "; ".join(registered(kind, names) for kind, names in info.registers.items())
        text = escape(status(info))
        text = f"[red]{text}[/red]" if info.error or info.build_errors else text
        table.add_row(info.name, info.version or "-", info.distribution or "-", regs or "-", text)
    Console().print(table)
    return None
