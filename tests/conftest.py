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


@pytest.fixture(scope="session")
def tiny_corpus(tmp_path_factory):
    """The built-in `tiny` corpus recipe, built once per session; tests only read it."""
    from dtsdk.corpus.build import build_corpus
    from dtsdk.corpus.recipe import CorpusRecipe

    out = tmp_path_factory.mktemp("tiny") / "corpus"
    build_corpus(CorpusRecipe.from_yaml("tiny"), out)
    return out
