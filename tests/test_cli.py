"""CLI conventions: exit codes, one-line errors, --json, --debug, python -m dtsdk."""
import subprocess
import sys

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
