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
        r = CliRunner().invoke(_app(calls), ["sample", "--checkpoint", "m", "--out", str(tmp_path / "o")],
                               env={"COLUMNS": "400"})  # typer's error box would wrap the message at 80 columns
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


# -- output files: atomic, and a full disk named in one line

def test_a_full_disk_leaves_no_file_and_no_temporary_file(tmp_path):
    import errno

    from morphogen.errors import MorphogenError
    from morphogen.utils.outputs import OutputWriteError, temporary_files, write_output

    def fills_the_disk(tmp):
        with open(tmp, "wb") as fh:
            fh.write(b"half a file")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OutputWriteError) as e:
        write_output(tmp_path / "a.cif", fills_the_disk)
    assert str(e.value) == f"{tmp_path / 'a.cif'}: cannot write the file (No space left on device)"
    assert isinstance(e.value, MorphogenError) and isinstance(e.value, OSError) and e.value.errno == errno.ENOSPC
    assert e.value.filename == str(tmp_path / "a.cif")
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary
    (tmp_path / "b.txt").write_text("the earlier run's, complete")
    with pytest.raises(OutputWriteError):
        write_output(tmp_path / "b.txt", fills_the_disk)
    assert (tmp_path / "b.txt").read_text() == "the earlier run's, complete" and not temporary_files(tmp_path)


def test_a_failed_rename_is_named(tmp_path, monkeypatch):
    from morphogen.utils import outputs

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(outputs.os, "replace", refuse)
    with pytest.raises(outputs.OutputWriteError, match=r"x\.json: cannot write the file \(Permission denied\)"):
        outputs.atomic_json(tmp_path / "x.json", {"a": 1})
    assert list(tmp_path.iterdir()) == []  # the temporary file is removed


def test_atomic_forms_write_what_they_are_given(tmp_path):
    import json

    from matplotlib.figure import Figure

    from morphogen.utils.outputs import atomic_bytes, atomic_figure, atomic_json, atomic_text, temporary_files

    assert atomic_text(tmp_path / "a.csv", "x,y\r\n1,2\r\n").read_bytes() == b"x,y\r\n1,2\r\n"  # line ends kept
    assert atomic_bytes(tmp_path / "b.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert json.loads(atomic_json(tmp_path / "c.json", {"k": [1, 2]}).read_text()) == {"k": [1, 2]}
    with pytest.raises(TypeError):  # not JSON: nothing is written
        atomic_json(tmp_path / "d.json", {"k": object()})
    fig = Figure(figsize=(1, 1))
    fig.subplots().plot([0, 1])
    assert atomic_figure(tmp_path / "e.png", fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"  # the suffix's format,
    assert atomic_figure(tmp_path / "f.svg", fig).read_text().lstrip().startswith("<?xml")  # not the temporary's
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.bin", "c.json", "e.png", "f.svg"]
    assert not temporary_files(tmp_path)


def test_remove_stale(tmp_path):
    from morphogen.utils.outputs import remove_stale

    (tmp_path / "index.csv").write_text("old")
    remove_stale(tmp_path, "index.csv", "metrics.json")  # a missing one is fine
    assert not (tmp_path / "index.csv").exists()
    (tmp_path / "index.csv").mkdir()
    with pytest.raises(OutputError, match="index.csv: is a folder"):
        remove_stale(tmp_path, "index.csv")


# -- a training's run folder and a run's inputs (issue 15)

def test_a_run_folder_is_checked_without_creating_anything(tmp_path, monkeypatch):
    import os

    from morphogen.utils.outputs import check_output_dir

    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(OutputError, match="afile: exists and is not a folder"):
        check_output_dir(f)
    with pytest.raises(OutputError, match=r"afile/run: cannot be created, .*afile is a file"):
        check_output_dir(f / "run")
    assert check_output_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]  # nothing created, no probe left

    def refuse(*args, **kwargs):  # a read-only disk, whoever runs the tests (root writes into a 0o555 folder)
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError, match=r"new/run: cannot write the output folder \(Read-only file system\)"):
        check_output_dir(tmp_path / "new" / "run")


def test_every_train_command_checks_its_out_before_reading_data(tmp_path):
    """--out a file: one line naming it, before the (missing) data is looked for."""
    from tests.cli_runs import assert_refused, run_command

    f = tmp_path / "afile"
    f.write_text("x")
    for domain, preset in (("graphs", "community_small"), ("crystals", "perov_5"), ("music", "chorales"),
                           ("medical", "hc18"), ("spectra", "qm9-ir")):
        res = run_command(domain, "train", "--preset", preset, "--data", tmp_path / "nothing", "--out", f)
        assert_refused(res, f"{f}: exists and is not a folder")
        assert "nothing" not in res.stderr, (domain, res.stderr[-2000:])


def test_an_output_that_would_replace_an_input_is_refused(tmp_path):
    from morphogen.utils.outputs import check_not_inputs

    (tmp_path / "piece.mid").write_bytes(b"MThd")
    (tmp_path / "link.mid").symlink_to(tmp_path / "piece.mid")
    check_not_inputs([tmp_path / "out" / "piece.mid", tmp_path / "piece.png"], [tmp_path / "piece.mid"])
    for same in (tmp_path / "piece.mid", tmp_path / "link.mid", tmp_path / "." / "piece.mid"):
        with pytest.raises(OutputError, match=r"\.mid: this run writes a file of that name, which would replace its "
                                              r"input .*piece\.mid; choose another --out"):
            check_not_inputs([tmp_path / "piece.png", same], [tmp_path / "piece.mid"])


def test_main_registers_each_domain_once():
    """In-process runs (the sweeps, scripts/hostile_input_report.py) call main() many times; each call added every
    domain again and made the next parse slower."""
    from morphogen.cli import main
    from tests.cli_runs import run_command

    run_command("info")
    n = len(main.app.registered_groups)
    run_command("info")
    assert len(main.app.registered_groups) == n and len({g.name for g in main.app.registered_groups}) == n
