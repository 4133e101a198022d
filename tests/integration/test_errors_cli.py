"""The project's own errors reach a command-line user as one line and exit status 2, not as a traceback."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli_runs import run_command

RUN = [sys.executable, "-c", "from morphogen.cli.main import main; main()"]


def _run(args, **env):
    return subprocess.run(RUN + args, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MORPHOGEN_DEBUG": "", **env})


@pytest.mark.parametrize("domain", ["graphs", "crystals", "music", "medical"])
def test_a_bad_preset_key_is_one_line_naming_file_and_key(domain, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("denoiser: {class: x}\nprocess: {}\ntrain: {batch_size: 2, epoch: 3}\n")
    """In this process (the real entry point; `test_an_unknown_preset_name_lists_the_shipped_ones` runs one as a
    subprocess): one line, exit 2; with MORPHOGEN_DEBUG=1 the traceback."""
    r = run_command(domain, "train", "--preset", str(bad), "--out", str(tmp_path / "run"))
    assert r.code == 2, r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(bad) in lines[0] and "'epoch'" in lines[0]
    d = run_command(domain, "train", "--preset", str(bad), "--out", str(tmp_path / "run"), debug=True)
    assert d.code != 0 and "Traceback" in d.stderr


def test_an_unknown_preset_name_lists_the_shipped_ones(tmp_path):
    r = _run(["music", "train", "--preset", "nosuch", "--out", str(tmp_path / "run")])
    assert r.returncode == 2 and "Traceback" not in r.stderr and "chorales" in r.stderr


def test_demo_checks_its_out_before_running(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    r = _run(["demo", "--domains", "core", "--out", str(f)], COLUMNS="400")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "== demo" not in r.stdout
    assert f"{f}: exists and is not a folder" in " ".join(ln.strip(" │") for ln in r.stderr.splitlines())
