"""The plugin as a user meets it: `dtsdk plugins`, `dtsdk portrait train`, reading images and landmarks."""
import json

import numpy as np
import pytest

from dtsdk.cli import main
from dtsdk.errors import DtsdkError
from dtsdk.plugins import plugin_infos
from dtsdk_gcgan.images import load_image, load_landmarks


def test_dtsdk_plugins_lists_the_plugin_its_command_and_its_renderer(capsys):
    assert main(["plugins", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert listed["gcgan"]["registers"] == {"renderer": ["portrait"], "command": ["portrait"]}
    assert listed["gcgan"]["distribution"] == "dtsdk-gcgan" and listed["gcgan"]["status"] == "ok"
    assert any(info.name == "gcgan" for info in plugin_infos())


def test_portrait_train_command_writes_a_checkpoint(tmp_path, capsys):
    out = tmp_path / "tiny"
    assert main(["portrait", "train", "tiny", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 3 and (out / "model.safetensors").is_file()


def test_portrait_train_with_a_missing_recipe_is_one_line(tmp_path, capsys):
    assert main(["portrait", "train", str(tmp_path / "missing.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dtsdk: error:") and "missing.yaml" in err and "\n" not in err


def test_load_image_crops_and_resizes(tmp_path):
    from PIL import Image

    Image.fromarray(np.full((40, 60, 3), 200, np.uint8)).save(tmp_path / "face.png")
    assert load_image(tmp_path / "face.png", 64).shape == (64, 64, 3)


def test_a_non_image_file_is_a_one_line_error(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    with pytest.raises(DtsdkError, match="notes.png: not an image") as err:
        load_image(text, 64)
    assert "\n" not in str(err.value)


def test_landmark_files_need_68_points(tmp_path):
    good = tmp_path / "good.txt"
    np.savetxt(good, np.zeros((68, 2)))
    assert load_landmarks(good).shape == (68, 2)
    short = tmp_path / "short.txt"
    np.savetxt(short, np.zeros((67, 2)))
    with pytest.raises(DtsdkError, match="short.txt: has 134 numbers") as err:
        load_landmarks(short)
    assert "\n" not in str(err.value)
