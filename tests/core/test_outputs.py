"""Output folders: checked before work, held by one run at a time."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import typer
from typer.testing import CliRunner

from morphogen.cli.options import sampling_command
from morphogen.utils.outputs import OutputError, exclusive_output, prepare_output_dir


def _app(calls):
    app = typer.Typer()

    @app.command()
    @sampling_command(out_default=None)
    def sample(sampling, n: int = typer.Option(1, "--n")):
        calls.append((sampling.out, n))

    @app.command()
    def other():  # a second command, so typer keeps the sub-command names
        pass

    return app


def test_out_that_is_a_file_or_unwritable_is_refused_before_the_command_runs(tmp_path):
    calls = []
    f = tmp_path / "afile"
    f.write_text("x")
    r = CliRunner().invoke(_app(calls), ["sample", "--checkpoint", "m", "--out", str(f)])
    assert r.exit_code == 2 and "--out" in r.output and "not a folder" in r.output and not calls
    r = CliRunner().invoke(_app(calls), ["sample", "--checkpoint", "m", "--out", str(tmp_path / "new" / "o"), "--n", "3"])
    assert r.exit_code == 0 and calls == [(tmp_path / "new" / "o", 3)]


def test_an_unwritable_folder_is_refused(tmp_path, monkeypatch):
    from pathlib import Path

    def refuse(self, data):  # a read-only or full disk, whatever the user running the tests may write
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with pytest.raises(OutputError, match=r"sub: cannot write the output folder \(Permission denied\)"):
        prepare_output_dir(tmp_path / "sub")


def test_a_second_run_into_the_same_folder_fails_at_once(tmp_path):
    holder = textwrap.dedent(f"""
        import sys, time
        from morphogen.utils.outputs import exclusive_output
        with exclusive_output({str(tmp_path / 'o')!r}):
            print("HELD", flush=True)
            sys.stdin.readline()
    """)
    p = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "HELD"
        with pytest.raises(OutputError, match=r"another run \(pid \d+\) is writing"):
            with exclusive_output(tmp_path / "o"):
                pass
        calls = []
        r = CliRunner().invoke(_app(calls), ["sample", "--checkpoint", "m", "--out", str(tmp_path / "o")])
        assert r.exit_code == 2 and "another run" in r.output and not calls
    finally:
        p.communicate("\n", timeout=30)
    with exclusive_output(tmp_path / "o") as held:  # free again once the holder ended
        assert held == tmp_path / "o"


def test_a_refused_run_leaves_no_new_folder(tmp_path):
    app = typer.Typer()

    @app.command()
    @sampling_command(out_default=None)
    def sample(sampling):
        raise typer.BadParameter("no", param_hint="--sampler")

    @app.command()
    def other():
        pass

    r = CliRunner().invoke(app, ["sample", "--checkpoint", "m", "--out", str(tmp_path / "new")])
    assert r.exit_code == 2 and not (tmp_path / "new").exists()
