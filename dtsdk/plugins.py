"""Plugin discovery and the registries built from the hooks in :mod:`dtsdk.hookspecs`.

Order: dtsdk's built-in plugin modules, then the ``dtsdk`` entry-point group (filtered by
``DTSDK_DISABLE_PLUGIN_AUTOLOAD`` and ``DTSDK_LOAD_PLUGINS``), then ``check_pending()``.
A plugin that fails to import, or raises inside a registrar hook, is reported by name and skipped;
the rest keeps working. A plugin that registers a name a built-in (or an earlier plugin) already
has is disabled as a whole, with a one-line warning naming both; an extension claimed by two
exporters warns (the first registered keeps it). Registries are built lazily on first lookup and
rebuilt after :func:`register_plugin` / :func:`unregister_plugin`.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
from dataclasses import dataclass, field
from typing import Any

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
    "dtsdk.renderer.builtin",
    "dtsdk.cli.builtin",
)

# kind -> registrar hook name
KINDS = {
    "rig": "register_rigs",
    "audio_encoder": "register_audio_encoders",
    "sampler": "register_samplers",
    "exporter": "register_exporters",
    "capture_reader": "register_capture_readers",
    "renderer": "register_renderers",
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
    error: str | None = None  # why the plugin is not (or not fully) in use: failed to load, a hook raised, a clash
    registers: dict[str, list[str]] = field(default_factory=dict)
    build_errors: list[str] = field(default_factory=list)  # lazily built rigs that failed (``dtsdk.plugin_checks``)
    disabled: bool = False  # True after a name clash: nothing it registers is used


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


def _info(plugin_name: str) -> PluginInfo:
    return _state.infos.setdefault(plugin_name, PluginInfo(plugin_name, builtin=plugin_name in BUILTIN_PLUGINS))


def _skip_plugin(plugin_name: str, error: str) -> None:
    _info(plugin_name).error = error
    log.warning("dtsdk plugin %s skipped: %s", plugin_name, error)


def _staged_entries(pm: pluggy.PluginManager) -> dict[str, list[Entry]]:
    """Every plugin's registrations of every kind, built-ins first, before any clash is resolved."""
    staged: dict[str, list[Entry]] = {}
    for kind, hookname in KINDS.items():
        caller = getattr(pm.hook, hookname)
        # Call each implementation on its own (built-ins first) so that one raising plugin is
        # reported and skipped instead of taking every other plugin down with it.
        impls = sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name not in BUILTIN_PLUGINS)
        for impl in impls:
            mine: list[Entry] = []

            def register(name: str, obj: Any, description: str = "", _mine=mine, _p=impl.plugin_name, _k=kind):
                if not isinstance(name, str) or not name.strip():
                    raise PluginError(f"plugin {_p} registered a {_k} with an empty name")
                _mine.append(Entry(_k, name.strip(), obj, _p, description))

            try:
                impl.function(register=register)
            except Exception as exc:
                _skip_plugin(impl.plugin_name, f"{hookname} raised {type(exc).__name__}: {exc}")
                continue
            staged.setdefault(impl.plugin_name, []).extend(mine)
    # Built-ins first, whatever kind a plugin registered first, so that a clash never disables one.
    order = sorted(staged, key=lambda name: name not in BUILTIN_PLUGINS)
    return {name: staged[name] for name in order}


def _clash(entries: list[Entry], registries: dict[str, dict[str, Entry]]) -> str | None:
    """Why ``entries`` (one plugin's) cannot join ``registries``, or None."""
    own: set[tuple[str, str]] = set()
    for entry in entries:
        key = (entry.kind, entry.name.lower())
        label = entry.kind.replace("_", " ")
        if key in own:
            return f"it registers {label} '{entry.name}' twice"
        own.add(key)
        other = registries[entry.kind].get(entry.name.lower())
        if other is not None:
            whose = "built-in plugin" if other.plugin in BUILTIN_PLUGINS else "plugin"
            return (f"its {label} '{entry.name}' clashes with the one from {whose} '{other.plugin}'; "
                    "rename it, uninstall one of the two, or choose with DTSDK_LOAD_PLUGINS")
    return None


def _warn_shared_extensions(exporters: dict[str, Entry]) -> None:
    claimed: dict[str, Entry] = {}
    for entry in exporters.values():
        for ext in getattr(entry.obj, "extensions", ()) or ():
            first = claimed.setdefault(ext, entry)
            if first is not entry:
                log.warning("dtsdk: extension '%s' is claimed by exporter '%s' (plugin %s) and exporter '%s' "
                            "(plugin %s); files ending in %s use '%s', pass format='%s' for the other",
                            ext, first.name, first.plugin, entry.name, entry.plugin, ext, first.name, entry.name)


def _collect() -> dict[str, dict[str, Entry]]:
    pm = get_plugin_manager()
    registries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
    for info in _state.infos.values():
        info.registers = {k: v for k, v in info.registers.items() if k not in KINDS}
        info.build_errors = []
        if info.disabled:
            info.disabled, info.error = False, None  # decided again below
    for plugin_name, entries in _staged_entries(pm).items():
        # A clash disables the whole plugin: half a plugin (its rig without its exporter) would fail
        # later in a way that is harder to trace than one warning now. Built-ins come first, so they win.
        why = _clash(entries, registries)
        if why is not None:
            if plugin_name in BUILTIN_PLUGINS:
                raise PluginError(f"built-in plugin {plugin_name}: {why}")  # a bug in dtsdk itself
            info = _info(plugin_name)
            info.error, info.disabled = f"disabled: {why}", True
            log.warning("dtsdk plugin %s disabled: %s", plugin_name, why)
            continue
        for entry in entries:
            registries[entry.kind][entry.name.lower()] = entry
            _info(plugin_name).registers.setdefault(entry.kind, []).append(entry.name)
    _warn_shared_extensions(registries["exporter"])
    return registries


def registry(kind: str) -> dict[str, Entry]:
    """All entries of one kind (``rig``, ``audio_encoder``, ``sampler``, ``exporter``, ``capture_reader``,
    ``renderer``)."""
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


def record_build_error(plugin_name: str, problem: str) -> None:
    """Note that something ``plugin_name`` registered fails to build or has the wrong type
    (``dtsdk plugins --check``)."""
    with _state.lock:
        _info(plugin_name).build_errors.append(problem)
    log.warning("dtsdk plugin %s: %s", plugin_name, problem)


def call_command_hooks(subparsers: Any) -> None:
    """Let every plugin add CLI subcommands; one that raises is reported and skipped."""
    pm = get_plugin_manager()
    impls = sorted(pm.hook.register_commands.get_hookimpls(), key=lambda i: i.plugin_name not in BUILTIN_PLUGINS)
    for impl in impls:
        known = _state.infos.get(impl.plugin_name)
        if known is not None and known.disabled:
            continue  # disabled for a name clash (known only when the registries were built first)
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
