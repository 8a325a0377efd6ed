"""Plugin discovery and the registries built from the hooks in :mod:`dtsdk.hookspecs`.

Order: dtsdk's built-in plugin modules, then the ``dtsdk`` entry-point group (filtered by
``DTSDK_DISABLE_PLUGIN_AUTOLOAD`` and ``DTSDK_LOAD_PLUGINS``), then ``check_pending()``.
A plugin that fails to import, or raises inside a registrar hook, is reported by name and skipped;
the rest keeps working. Registries are built lazily on first lookup and rebuilt after
:func:`register_plugin` / :func:`unregister_plugin`.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import pluggy

from dtsdk import hookspecs
from dtsdk._version import __version__
from dtsdk.errors import PluginError

log = logging.getLogger("dtsdk.plugins")

hookimpl = pluggy.HookimplMarker("dtsdk")

# The built-ins, registered through the same hooks as third-party plugins.
BUILTIN_PLUGINS = (
    "dtsdk.rigs.builtin",
    "dtsdk.io.builtin",
    "dtsdk.encoders.builtin",
    "dtsdk.samplers.builtin",
    "dtsdk.capture.builtin",
    "dtsdk.cli.builtin",
)

# kind -> registrar hook name
KINDS = {
    "rig": "register_rigs",
    "audio_encoder": "register_audio_encoders",
    "sampler": "register_samplers",
    "exporter": "register_exporters",
    "capture_reader": "register_capture_readers",
}


@dataclass
class Entry:
    """One registered thing: what kind, its name, the object, and the plugin that registered it."""

    kind: str
    name: str
    obj: Any
    plugin: str
    description: str = ""


@dataclass
class PluginInfo:
    name: str
    builtin: bool
    version: str | None = None
    distribution: str | None = None
    error: str | None = None
    registers: dict[str, list[str]] = field(default_factory=dict)


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pm: pluggy.PluginManager | None = None
        self.infos: dict[str, PluginInfo] = {}
        self.registries: dict[str, dict[str, Entry]] | None = None


_state = _State()


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def _allowed_plugins() -> set[str] | None:
    raw = os.environ.get("DTSDK_LOAD_PLUGINS")
    if raw is None:
        return None
    return {p.strip() for p in raw.split(",") if p.strip()}


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    return sorted(importlib.metadata.entry_points(group="dtsdk"), key=lambda ep: ep.name)


def _new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("dtsdk")
    pm.add_hookspecs(hookspecs)
    infos: dict[str, PluginInfo] = {}
    for modname in BUILTIN_PLUGINS:
        # A built-in that fails to import is a bug in dtsdk, not a plugin problem: let it raise.
        pm.register(importlib.import_module(modname), name=modname)
        infos[modname] = PluginInfo(name=modname, builtin=True, version=__version__, distribution="dtsdk")
    if not _env_flag("DTSDK_DISABLE_PLUGIN_AUTOLOAD"):
        allowed = _allowed_plugins()
        for ep in _entry_points():
            if allowed is not None and ep.name not in allowed:
                continue
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                builtin=False,
                version=getattr(dist, "version", None),
                distribution=getattr(dist, "name", None) if dist else None,
            )
            infos[ep.name] = info
            if pm.has_plugin(ep.name):
                info.error = f"plugin name '{ep.name}' is already taken by another plugin"
                log.warning("dtsdk plugin %s skipped: %s", ep.name, info.error)
                continue
            try:
                pm.register(ep.load(), name=ep.name)
            except Exception as exc:  # a broken third-party plugin must not break dtsdk
                info.error = f"failed to load: {type(exc).__name__}: {exc}"
                log.warning("dtsdk plugin %s skipped: %s", ep.name, info.error)
    pm.check_pending()
    _state.infos = infos
    return pm


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, created (and plugins loaded) on first call."""
    with _state.lock:
        if _state.pm is None:
            _state.pm = _new_manager()
        return _state.pm


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register a plugin object at run time (tests, notebooks). Returns the name it was given."""
    with _state.lock:
        pm = get_plugin_manager()
        registered = pm.register(plugin, name=name)
        if registered is None:
            raise PluginError(f"plugin {name or plugin!r} is already registered")
        pm.check_pending()
        _state.infos[registered] = PluginInfo(name=registered, builtin=False)
        _state.registries = None
        return registered


def unregister_plugin(name: str) -> None:
    with _state.lock:
        pm = get_plugin_manager()
        pm.unregister(name=name)
        _state.infos.pop(name, None)
        _state.registries = None


def reset() -> None:
    """Forget all plugins; the next lookup rediscovers them (used after changing the env switches)."""
    with _state.lock:
        _state.pm = None
        _state.infos = {}
        _state.registries = None


def _collect() -> dict[str, dict[str, Entry]]:
    pm = get_plugin_manager()
    registries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
    for info in _state.infos.values():
        info.registers = {k: v for k, v in info.registers.items() if k not in KINDS}
    for kind, hookname in KINDS.items():
        caller = getattr(pm.hook, hookname)
        # Call each implementation on its own (built-ins first) so that one raising plugin is
        # reported and skipped instead of taking every other plugin down with it.
        impls = sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name not in BUILTIN_PLUGINS)
        for impl in impls:
            plugin_name = impl.plugin_name
            staged: list[Entry] = []

            def register(name: str, obj: Any, description: str = "", _staged=staged, _p=plugin_name, _k=kind):
                if not isinstance(name, str) or not name.strip():
                    raise PluginError(f"plugin {_p} registered a {_k} with an empty name")
                _staged.append(Entry(_k, name.strip(), obj, _p, description))

            try:
                impl.function(register=register)
            except Exception as exc:
                info = _state.infos.setdefault(plugin_name, PluginInfo(plugin_name, builtin=False))
                info.error = f"{hookname} raised {type(exc).__name__}: {exc}"
                log.warning("dtsdk plugin %s skipped: %s", plugin_name, info.error)
                continue
            for entry in staged:
                key = entry.name.lower()
                if key in registries[kind]:
                    other = registries[kind][key]
                    raise PluginError(
                        f"{kind} name clash: '{entry.name}' is registered by both plugin "
                        f"'{other.plugin}' and plugin '{entry.plugin}'; uninstall one or set DTSDK_LOAD_PLUGINS"
                    )
                registries[kind][key] = entry
                info = _state.infos.setdefault(plugin_name, PluginInfo(plugin_name, builtin=False))
                info.registers.setdefault(kind, []).append(entry.name)
    return registries


def registry(kind: str) -> dict[str, Entry]:
    """All entries of one kind (``rig``, ``audio_encoder``, ``sampler``, ``exporter``, ``capture_reader``)."""
    if kind not in KINDS:
        raise PluginError(f"unknown plugin kind '{kind}'; known: {', '.join(KINDS)}")
    with _state.lock:
        if _state.registries is None:
            _state.registries = _collect()
        return _state.registries[kind]


def lookup(kind: str, name: str) -> Entry:
    """The entry registered under ``name`` (case-insensitive), or a :class:`PluginError` listing the choices."""
    entries = registry(kind)
    entry = entries.get(name.strip().lower())
    if entry is None:
        choices = ", ".join(sorted(e.name for e in entries.values())) or "none"
        label = kind.replace("_", " ")
        raise PluginError(f"unknown {label} '{name}'; installed: {choices} (see `dtsdk plugins`)")
    return entry


def plugin_infos() -> list[PluginInfo]:
    """What `dtsdk plugins` shows: every plugin, its version and distribution, and what it registers."""
    for kind in KINDS:
        registry(kind)
    with _state.lock:
        return sorted(_state.infos.values(), key=lambda i: (not i.builtin, i.name))


def call_command_hooks(subparsers: Any) -> None:
    """Let every plugin add CLI subcommands; one that raises is reported and skipped."""
    pm = get_plugin_manager()
    impls = sorted(pm.hook.register_commands.get_hookimpls(), key=lambda i: i.plugin_name not in BUILTIN_PLUGINS)
    for impl in impls:
        before = set(subparsers.choices)
        try:
            impl.function(subparsers=subparsers)
            added = sorted(set(subparsers.choices) - before)
            if added:
                info = _state.infos.setdefault(impl.plugin_name, PluginInfo(impl.plugin_name, builtin=False))
                info.registers["command"] = added
        except Exception as exc:
            info = _state.infos.setdefault(impl.plugin_name, PluginInfo(impl.plugin_name, builtin=False))
            info.error = f"register_commands raised {type(exc).__name__}: {exc}"
            log.warning("dtsdk plugin %s skipped: %s", impl.plugin_name, info.error)
