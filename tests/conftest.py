import pytest

from dtsdk import plugins


@pytest.fixture
def fresh_plugins(monkeypatch):
    """Rediscover plugins inside the test (after it changed env switches or sys.path), and after it."""
    plugins.reset()
    yield plugins
    plugins.reset()


@pytest.fixture(autouse=True)
def _restore_dtsdk_logger():
    """The CLI points the 'dtsdk' logger at stderr and stops propagation; undo that between tests."""
    import logging

    logger = logging.getLogger("dtsdk")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]
