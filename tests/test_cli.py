"""CLI conventions: exit codes, one-line errors, --json, --debug, python -m dtsdk."""
import os
import subprocess
import sys

import pytest

from dtsdk.cli import main


def test_no_command_prints_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: dtsdk" in capsys.readouterr().err


def test_unknown_command_exits_2(capsys):
    try:
        code = main(["no-such-command"])
    except SystemExit as exc:  # argparse exits with 2 on usage errors
        code = exc.code
    assert code == 2


def test_dtsdk_error_is_one_line_with_exit_2(capsys):
    code = main(["render", "missing-take.csv", "-o", "x.gif"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("dtsdk: error:") and "missing-take.csv" in err
    assert "\n" not in err and "Traceback" not in err


def test_python_dash_m_runs_the_cli():
    out = subprocess.run([sys.executable, "-m", "dtsdk", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("dtsdk ")


def test_debug_shows_the_traceback():
    out = subprocess.run([sys.executable, "-m", "dtsdk", "--debug", "render", "missing-take.csv", "-o", "x.gif"],
                         capture_output=True, text=True)
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_global_flags_work_after_nested_subcommands(tmp_path, capsys):
    code = main(["corpus", "info", str(tmp_path), "--json"])
    err = capsys.readouterr().err
    assert code == 2 and "not a dtsdk corpus" in err  # parsed fine; the empty folder is the error


# -- dtsdk animate: every output is checked before the model runs ---------------------------------


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("dtsdk: error:") and "\n" not in err and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("output, missing, extra_purpose", [
    ("take.mp4", "numba", "Preview rendering"),
    ("take.gif", "numba", "Preview rendering"),
    ("take.gif", "PIL.Image", "GIF output"),
])
def test_animate_without_the_render_extra_fails_before_the_model(speech_wav, tmp_path, monkeypatch, capsys, no_model,
                                                                 output, missing, extra_purpose):
    monkeypatch.setitem(sys.modules, missing, None)  # as if not installed: importing it raises ImportError
    out = tmp_path / output
    assert main(["animate", str(speech_wav), "-o", str(tmp_path / "take.npz"), "-o", str(out)]) == 2
    err = one_line_error(capsys)
    assert str(out) in err and extra_purpose in err and f"'{missing}'" in err and "pip install 'dtsdk[render]'" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["speech.wav"]  # nothing written


def test_animate_mp4_without_ffmpeg_fails_before_the_model(speech_wav, tmp_path, monkeypatch, capsys, no_model):
    import shutil

    monkeypatch.setitem(sys.modules, "imageio_ffmpeg", None)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["animate", str(speech_wav), "-o", str(tmp_path / "take.mp4")]) == 2
    err = one_line_error(capsys)
    assert "take.mp4" in err and "ffmpeg" in err and "dtsdk[render]" in err


@pytest.mark.parametrize("output", ["take.xyz", "take"])
def test_animate_unknown_output_lists_what_animate_writes(speech_wav, tmp_path, capsys, no_model, output):
    assert main(["animate", str(speech_wav), "-o", str(tmp_path / output)]) == 2
    err = one_line_error(capsys)
    assert output in err and "--format" not in err  # animate has no --format
    for ext in (".npz", ".glb", ".csv", ".mp4", ".gif", ".png"):  # the exporters', then the mesh renderer's
        assert ext in err, err
    assert "'mesh' renderer" in err, err


def test_animate_size_out_of_range_fails_before_the_model(speech_wav, tmp_path, capsys, no_model):
    """The mesh renderer's size limits are checked with the outputs, not after animating."""
    assert main(["animate", str(speech_wav), "--size", "3", "-o", str(tmp_path / "take.mp4")]) == 2
    err = one_line_error(capsys)
    assert "take.mp4" in err and "at least 16 pixels" in err
    assert not list(tmp_path.glob("take*"))


def test_animate_output_folder_problems_fail_before_the_model(speech_wav, tmp_path, capsys, no_model):
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["animate", str(speech_wav), "-o", str(tmp_path / "a-file" / "take.npz")]) == 2
    assert "is a file" in one_line_error(capsys)
    assert main(["animate", str(speech_wav), "-o", str(tmp_path)]) == 2
    assert "is a folder" in one_line_error(capsys)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
def test_animate_named_pipe_says_not_a_regular_file(tmp_path, capsys, no_model):
    fifo = tmp_path / "speech.wav"
    os.mkfifo(fifo)
    assert main(["animate", str(fifo), "-o", str(tmp_path / "take.npz")]) == 2
    err = one_line_error(capsys)
    assert "speech.wav" in err and "not a regular file" in err and "no such file" not in err


def test_animate_help_gives_the_packaged_models_sampling_defaults(capsys):
    import json
    from pathlib import Path

    import dtsdk.models

    config = json.loads((Path(dtsdk.models.__file__).parent / "default" / "config.json").read_text())
    with pytest.raises(SystemExit):
        main(["animate", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"the packaged model's: {config['default_sampler']}" in help_text
    assert f"the packaged model's: {config['default_steps']}" in help_text
    assert "usually ddim" not in help_text


# -- built-in recipes by name --------------------------------------------------------------------


@pytest.mark.parametrize("argv, names", [
    (["train", "--help"], ["teacher", "teacher-tiny", "teacher-clip", "enroll-upper-bound", "baseline-generic",
                           "baseline-regression", "regression-whisper", "teacher-whisper"]),
    (["corpus", "build", "--help"], ["default", "large", "tiny"]),
    (["distill", "--help"], ["default", "whisper"]),
])
def test_recipe_commands_list_the_builtin_recipes_in_help(capsys, argv, names):
    with pytest.raises(SystemExit):
        main(argv)
    help_text = "".join(capsys.readouterr().out.split())  # argparse may wrap a name at its hyphen
    assert all(name in help_text for name in names), help_text


@pytest.mark.parametrize("argv, names", [
    (["train", "teachr"],
     "baseline-generic, baseline-regression, enroll-upper-bound, regression-whisper, teacher, teacher-clip, "
     "teacher-span, teacher-tiny, teacher-whisper"),
    (["corpus", "build", "defualt", "-o", "{tmp}/c"], "default, large, tiny"),
])
def test_unknown_recipe_name_is_one_line_listing_the_builtins(tmp_path, capsys, argv, names):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = one_line_error(capsys)
    assert argv[-1 if argv[0] == "train" else 2] in err and names in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("recipe", ["teacher", "teacher-tiny", "{tmp}/mine.yaml"])
def test_train_takes_a_builtin_name_or_a_path(tmp_path, capsys, recipe):
    (tmp_path / "mine.yaml").write_text("train:\n  steps: 3\n  warmup_steps: 1\n")
    # The recipe is read, then the (missing) corpus stops the run: so the name or path was resolved.
    code = main(["train", recipe.format(tmp=tmp_path), "--corpus", str(tmp_path / "no-corpus"), "-o",
                 str(tmp_path / "run")])
    err = one_line_error(capsys)
    assert code == 2 and "no-corpus" in err, err


def test_old_recipes_path_points_to_the_builtin_name(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["train", "recipes/teacher.yaml"]) == 2
    assert "did you mean the built-in recipe 'teacher'" in one_line_error(capsys)


def test_built_wheel_contains_the_builtin_recipes(tmp_path):
    """A wheel install has no recipes/ folder: the recipes travel as package data and load from there."""
    import shutil
    import zipfile
    from pathlib import Path

    from dtsdk.recipes import builtin_recipes

    repo = Path(__file__).resolve().parents[1]
    # Built from a copy, so setuptools' build/ and egg-info never land in the working tree.
    src = tmp_path / "src"
    shutil.copytree(repo / "dtsdk", src / "dtsdk", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, src / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(tmp_path / "wheel")], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("dtsdk-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for section in ("corpus", "train"):
        for recipe in builtin_recipes(section):
            assert f"dtsdk/recipes/{section}/{recipe}.yaml" in names
    # The unpacked wheel (first on the path, outside the repository) reads them by name.
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = ("import dtsdk.recipes as r; from dtsdk.corpus.recipe import CorpusRecipe; "
             "from dtsdk.train import TrainRecipe;"
             "print(r.__file__); print(CorpusRecipe.from_yaml('default').name, TrainRecipe.from_yaml('teacher').name)")
    env = {**os.environ, "PYTHONPATH": str(site)}
    ran = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=120)
    assert ran.returncode == 0, ran.stderr[-2000:]
    where, loaded = ran.stdout.splitlines()
    assert Path(where).is_relative_to(site) and loaded == "dtsdk-corpus-default dtsdk-teacher"


def test_builtin_recipe_paths_are_taken_from_the_current_folder(tmp_path, capsys, monkeypatch):
    """The recipe file lives in the package, but its `corpus: data/corpus-tiny` means ./data/corpus-tiny."""
    monkeypatch.chdir(tmp_path)
    assert main(["train", "teacher-tiny"]) == 2
    err = one_line_error(capsys)
    assert "data/corpus-tiny" in err and "dtsdk/recipes" not in err, err


# -- dtsdk animate with several inputs: one output folder, checked before the model ---------------------


@pytest.mark.parametrize("make_argv, message", [
    (lambda wav, other, tmp: [str(wav), str(other), "-o", str(tmp / "out.npz")], "names a folder (end it with '/'"),
    (lambda wav, other, tmp: [str(wav), str(other), "-o", str(tmp / "a"), "-o", str(tmp / "b")],
     "give one output folder (-o DIR/), not 2 outputs"),
    (lambda wav, other, tmp: [str(wav), str(tmp / "missing.wav"), "-o", str(tmp / "out") + "/"], "missing.wav"),
    (lambda wav, other, tmp: [str(wav), str(other), "-o", str(tmp / "out") + "/", "--format", "xyz"],
     "cannot write '.xyz' files"),
    (lambda wav, other, tmp: [str(wav), str(other), "-o", str(tmp / "out") + "/", "--stream"],
     "--stream takes one speech file"),
])
def test_animate_several_inputs_bad_requests_fail_before_the_model(speech_wav, tmp_path, capsys, no_model,
                                                                    make_argv, message):
    import shutil

    other = tmp_path / "other.wav"
    shutil.copy(speech_wav, other)
    assert main(["animate", *make_argv(speech_wav, other, tmp_path)]) == 2
    assert message in one_line_error(capsys)


def test_animate_several_inputs_with_the_same_name_is_a_clash(speech_wav, tmp_path, capsys, no_model):
    import shutil

    (tmp_path / "b").mkdir()
    twin = tmp_path / "b" / "speech.wav"
    shutil.copy(speech_wav, twin)
    assert main(["animate", str(speech_wav), str(twin), "-o", str(tmp_path / "out") + "/"]) == 2
    err = one_line_error(capsys)
    assert f"{twin}: has the same name as {speech_wav}" in err and not (tmp_path / "out").exists()


def test_animate_stream_needs_a_file(tmp_path, capsys, no_model):
    assert main(["animate", "--say", "hi", "--stream", "-o", str(tmp_path / "a.npz")]) == 2
    assert "--stream reads a speech file" in one_line_error(capsys)
