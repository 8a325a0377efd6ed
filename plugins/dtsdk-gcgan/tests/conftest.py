"""Shared fixtures: one small synthetic set rendered once per test session, and one torch thread."""
import pytest
import torch

from dtsdk_gcgan.synthetic import generate


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These models are tiny: on a loaded machine two threads contend and run 10-50x slower than one."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def small_set():
    """4 people at the 6 prototypes and 2 sampled expressions each, 64 px."""
    return generate(4, 8, size=64, seed=0)


@pytest.fixture
def one_line_error(capsys):
    """``one_line_error(*names)``: the command just run failed with one line on stderr, no traceback,
    naming each of ``names``; returns the line."""
    def check(*names):
        err = capsys.readouterr().err.strip()
        assert err.startswith("dtsdk: error:") and "\n" not in err and "Traceback" not in err, err
        for name in names:
            assert name in err, err
        return err

    return check
