"""The plugin system: discovery, ordering, clashes, broken plugins, switches, the listing command."""
import json
import sys
import textwrap

import pytest

import dtsdk
from dtsdk.errors import PluginError
from dtsdk.plugins import BUILTIN_PLUGINS, lookup, plugin_infos, registry
from dtsdk.testing import temporary_plugin


def make_distribution(root, dist_name, ep_name, module_name, module_source, version="1.2.3"):
    """A real installed distribution on sys.path: a module plus a dist-info with a `dtsdk` entry point."""
    (root / f"{module_name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{dist_name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist_name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[dtsdk]\n{ep_name} = {module_name}\n")


GOOD_PLUGIN = """
    import dtsdk
    from dtsdk.samplers.ddim import sample_ddim

    @dtsdk.hookimpl
    def register_samplers(register):
        register("copycat", sample_ddim, description="DDIM under another name")

    @dtsdk.hookimpl
    def register_commands(subparsers):
        p = subparsers.add_parser("hello", help="say hello")
        p.set_defaults(func=lambda args: {"hello": "world"})
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith("dtsdk_fake_")]:
        del sys.modules[name]


def test_builtins_register_through_the_hooks(fresh_plugins):
    infos = {i.name: i for i in plugin_infos()}
    for name in BUILTIN_PLUGINS:
        assert infos[name].builtin
    assert infos["dtsdk.rigs.builtin"].registers["rig"] == ["arkit52", "dtface"]
    assert "ddim" in infos["dtsdk.samplers.builtin"].registers["sampler"]
    assert lookup("rig", "ARKIT52").name == "arkit52"  # case-insensitive


def test_entry_point_plugin_is_loaded_with_its_version(site, fresh_plugins):
    make_distribution(site, "dtsdk-fake-good", "fakegood", "dtsdk_fake_good", GOOD_PLUGIN)
    entry = lookup("sampler", "copycat")
    assert entry.plugin == "fakegood"
    info = {i.name: i for i in plugin_infos()}["fakegood"]
    assert (info.version, info.distribution, info.error) == ("1.2.3", "dtsdk-fake-good", None)
    assert info.registers == {"sampler": ["copycat"]}


def test_plugin_that_fails_to_import_is_reported_and_skipped(site, fresh_plugins, caplog):
    make_distribution(site, "dtsdk-fake-broken", "fakebroken", "dtsdk_fake_broken", "raise ImportError('no numpy 3')")
    make_distribution(site, "dtsdk-fake-good", "fakegood", "dtsdk_fake_good", GOOD_PLUGIN)
    assert lookup("sampler", "copycat").plugin == "fakegood"  # the rest keeps working
    info = {i.name: i for i in plugin_infos()}["fakebroken"]
    assert "failed to load" in info.error and "no numpy 3" in info.error
    assert "fakebroken" in caplog.text


def test_plugin_whose_hook_raises_is_reported_and_skipped(site, fresh_plugins):
    make_distribution(site, "dtsdk-fake-raiser", "fakeraiser", "dtsdk_fake_raiser", """
        import dtsdk

        @dtsdk.hookimpl
        def register_rigs(register):
            raise RuntimeError("mesh file missing")
    """)
    assert "dtface" in registry("rig")
    info = {i.name: i for i in plugin_infos()}["fakeraiser"]
    assert "register_rigs raised RuntimeError: mesh file missing" in info.error


class SamplerClasher:
    """Registers the built-in's sampler name, and a rig of its own that must go with it."""

    @dtsdk.hookimpl
    def register_samplers(self, register):
        register("DDIM", lambda *a, **k: None)

    @dtsdk.hookimpl
    def register_rigs(self, register):
        register("clasher-rig", lambda: dtsdk.get_rig("arkit52"))


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]


def test_clash_with_a_builtin_disables_the_plugin_with_one_line_naming_both(fresh_plugins, caplog, capsys):
    from dtsdk.cli import main

    with temporary_plugin(SamplerClasher(), name="clasher"):
        assert registry("sampler")["ddim"].plugin == "dtsdk.samplers.builtin"  # the built-in keeps its name
        assert "clasher-rig" not in registry("rig")  # the whole plugin is off, not half of it
        [warning] = [w for w in _warnings(caplog) if "clasher" in w]
        assert "\n" not in warning and "'DDIM'" in warning and "'dtsdk.samplers.builtin'" in warning, warning
        info = {i.name: i for i in plugin_infos()}["clasher"]
        assert info.disabled and info.error.startswith("disabled: its sampler 'DDIM' clashes"), info.error
        assert info.registers == {}
        assert main(["plugins", "--json"]) == 0  # every other command keeps working
        listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
        assert listing["clasher"]["status"].startswith("disabled:")
    assert {i.name: i for i in plugin_infos()}.get("clasher") is None


def test_clash_between_two_plugins_disables_the_later_one(fresh_plugins, caplog):
    class First:
        @dtsdk.hookimpl
        def register_samplers(self, register):
            register("shared", lambda *a, **k: "first")

    class Second:
        @dtsdk.hookimpl
        def register_samplers(self, register):
            register("Shared", lambda *a, **k: "second")

    with temporary_plugin(First(), name="first"), temporary_plugin(Second(), name="second"):
        assert lookup("sampler", "shared").plugin == "first"
        [warning] = [w for w in _warnings(caplog) if "second" in w]
        assert "plugin second disabled" in warning and "plugin 'first'" in warning, warning


def test_plugin_registering_a_name_twice_is_disabled(fresh_plugins):
    class Twice:
        @dtsdk.hookimpl
        def register_samplers(self, register):
            register("twice", lambda *a, **k: None)
            register("TWICE", lambda *a, **k: None)

    with temporary_plugin(Twice(), name="twice"):
        assert "twice" not in registry("sampler")
        assert "registers sampler 'TWICE' twice" in {i.name: i for i in plugin_infos()}["twice"].error


def test_extension_claimed_by_two_exporters_warns_and_the_first_keeps_it(fresh_plugins, caplog):
    from dtsdk.io import Exporter, get_exporter

    class OtherCsv(Exporter):
        name = "other-csv"
        extensions = (".csv",)

    class Plugin:
        @dtsdk.hookimpl
        def register_exporters(self, register):
            register("other-csv", OtherCsv())

    with temporary_plugin(Plugin(), name="othercsv"):
        assert "other-csv" in registry("exporter")  # not a name clash: the plugin stays on
        [warning] = [w for w in _warnings(caplog) if "'.csv'" in w]
        assert "'llf-csv'" in warning and "'other-csv'" in warning and "othercsv" in warning, warning
        assert get_exporter(path="take.csv").name == "llf-csv"
        assert get_exporter("other-csv").name == "other-csv"


class LazyRigs:
    @dtsdk.hookimpl
    def register_rigs(self, register):
        register("broken-rig", self.build_broken)
        register("not-a-rig", lambda: "a string")

    @staticmethod
    def build_broken():
        raise ValueError("mesh.obj not found")


def test_errors_from_a_lazy_rig_builder_name_the_plugin_and_the_rig(fresh_plugins):
    from dtsdk.errors import RigError

    with temporary_plugin(LazyRigs(), name="lazyrigs"):
        with pytest.raises(RigError, match=r"plugin 'lazyrigs' failed to build rig 'broken-rig': "
                                           r"ValueError: mesh.obj not found"):
            dtsdk.get_rig("broken-rig")
        with pytest.raises(RigError, match=r"plugin 'lazyrigs' registered rig 'not-a-rig' that is not a"):
            dtsdk.get_rig("not-a-rig")


def test_plugins_check_shows_a_rig_that_fails_to_build_as_failed(fresh_plugins, capsys):
    from dtsdk.cli import main

    with temporary_plugin(LazyRigs(), name="lazyrigs"):
        assert main(["plugins", "--json"]) == 0
        listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
        assert listing["lazyrigs"]["status"] == "ok"  # nothing is built without --check
        assert main(["plugins", "--check", "--json"]) == 0
        listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
        status = listing["lazyrigs"]["status"]
        assert status.startswith("failed: ") and "rig 'broken-rig'" in status and "mesh.obj not found" in status
        assert "rig 'not-a-rig'" in status
        assert listing["dtsdk.rigs.builtin"]["status"] == "built-in"  # the built-ins build fine
        assert main(["plugins", "--check"]) == 0
        table = capsys.readouterr().out
        assert "failed" in table and "lazyrigs" in table


def test_disable_autoload_switch(site, fresh_plugins, monkeypatch):
    make_distribution(site, "dtsdk-fake-good", "fakegood", "dtsdk_fake_good", GOOD_PLUGIN)
    monkeypatch.setenv("DTSDK_DISABLE_PLUGIN_AUTOLOAD", "1")
    assert "copycat" not in registry("sampler")
    assert "ddim" in registry("sampler")  # built-ins are always there


def test_allow_list_switch(site, fresh_plugins, monkeypatch):
    make_distribution(site, "dtsdk-fake-good", "fakegood", "dtsdk_fake_good", GOOD_PLUGIN)
    make_distribution(site, "dtsdk-fake-other", "fakeother", "dtsdk_fake_other", """
        import dtsdk

        @dtsdk.hookimpl
        def register_samplers(register):
            register("other", lambda *a, **k: None)
    """)
    monkeypatch.setenv("DTSDK_LOAD_PLUGINS", "fakeother")
    names = registry("sampler")
    assert "other" in names and "copycat" not in names


def test_unknown_name_lists_the_choices(fresh_plugins):
    with pytest.raises(PluginError, match=r"unknown rig 'nope'; installed: .*arkit52.*dtface"):
        dtsdk.get_rig("nope")


def test_plugins_command_lists_versions_and_registrations(site, fresh_plugins, capsys):
    from dtsdk.cli import main

    make_distribution(site, "dtsdk-fake-good", "fakegood", "dtsdk_fake_good", GOOD_PLUGIN)
    assert main(["plugins", "--json"]) == 0
    listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert listing["fakegood"]["version"] == "1.2.3"
    assert listing["fakegood"]["registers"] == {"command": ["hello"], "sampler": ["copycat"]}
    assert {"plugins", "render", "corpus"} <= set(listing["dtsdk.cli.builtin"]["registers"]["command"])
    assert main(["hello", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"hello": "world"}
