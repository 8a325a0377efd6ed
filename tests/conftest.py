import pytest

from dtsdk import plugins


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Rediscover plugins inside the test (after it changed env switches or sys.path), and after it."""
    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture(scope="session", autouse=True)
def _isolated_dtsdk_home(tmp_path_factory):
    """Tests never read or write the user's identity store ($DTSDK_HOME, default ~/.cache/dtsdk)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("DTSDK_HOME", str(tmp_path_factory.mktemp("dtsdk-home")))
    yield
    patch.undo()


