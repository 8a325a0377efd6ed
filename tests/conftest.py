import pytest

from dtsdk import plugins


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Rediscover plugins inside the test (after it changed env switches or sys.path), and after it."""
    plugins.reset()
    yield plugins
    plugins.reset()
