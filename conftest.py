"""Fixtures for every test under the repository: the core's tests/ and each plugin's tests/."""

import logging
import warnings

import pytest

_LIBRARY_SHOWWARNING = warnings.showwarning  # before any test ran the CLI


@pytest.fixture(autouse=True)
def _clean_dtsdk_logger():
    """The CLI points the 'dtsdk' logger at stderr, stops propagation and reroutes warnings.

    Every test starts and ends with the library's own state (no handler, propagating), not with
    the state at setup: a module-scoped fixture that ran the CLI sets up before this fixture does.
    """
    logger = logging.getLogger("dtsdk")

    def clean():
        logger.handlers[:], logger.propagate, logger.level = [], True, logging.NOTSET
        warnings.showwarning = _LIBRARY_SHOWWARNING

    clean()
    yield
    clean()
