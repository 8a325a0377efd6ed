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


@pytest.fixture
def speech_wav(tmp_path):
    """Half a second of a tone at 16 kHz: input for a CLI run that must fail before a model runs."""
    import numpy as np
    import soundfile as sf

    path = tmp_path / "speech.wav"
    sf.write(path, 0.1 * np.sin(np.linspace(0, 2000, 8000)).astype(np.float32), 16000)
    return path


@pytest.fixture
def no_model(monkeypatch):
    """Fail the test if dtsdk animate gets as far as loading a model."""
    import dtsdk.inference

    def talker(*args, **kwargs):
        raise AssertionError("the model was loaded before the inputs and outputs were checked")

    monkeypatch.setattr(dtsdk.inference, "Talker", talker)


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """The built-in `tiny` corpus recipe, built once per session; tests only read it (the plugins' too)."""
    from dtsdk.corpus.build import build_corpus
    from dtsdk.corpus.recipe import CorpusRecipe

    out = tmp_path_factory.mktemp("tiny") / "corpus"
    build_corpus(CorpusRecipe.from_yaml("tiny"), out)
    return out
