"""Fixtures of the whisper plugin's tests."""
from __future__ import annotations

from pathlib import Path

import pytest
from whisper_ct2_fixtures import tiny_whisper_variables, write_ct2


@pytest.fixture(scope="session")
def tiny_whisper_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tiny-whisper")
    write_ct2(folder / "model.bin", tiny_whisper_variables(),
              aliases=[("decoder/projection/weight", "decoder/embeddings/weight")])
    return folder
