"""Running ``morphogen ...`` the way a user does, inside the test process, and checking a refusal.

:func:`run_command` calls the real entry point (:func:`morphogen.cli.main.main`: the same parsing, one-line errors
and exit codes as the installed command) with the given argv and captures its output; an exception escaping it (a
traceback the user would see) is appended to stderr with code -1. :func:`assert_refused` is the check of every
hostile-input sweep: exit code 2, no traceback, the culprit named, nothing written."""
from __future__ import annotations

import contextlib
import io
import os
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def run_command(*args: str, debug: bool = False) -> Outcome:
    """``morphogen ARGS`` through :func:`morphogen.cli.main.main` in this process, with ``MORPHOGEN_DEBUG`` unset
    (``debug=True``: set to 1, so that a project error escapes with its traceback)."""
    from morphogen.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    argv, code = sys.argv, 0
    sys.argv = ["morphogen", *map(str, args)]
    saved = os.environ.pop("MORPHOGEN_DEBUG", None)
    if debug:
        os.environ["MORPHOGEN_DEBUG"] = "1"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001
        err.write(traceback.format_exc())
        code = -1
    finally:
        sys.argv = argv
        os.environ.pop("MORPHOGEN_DEBUG", None)
        if saved is not None:
            os.environ["MORPHOGEN_DEBUG"] = saved
    return Outcome(code, out.getvalue(), err.getvalue())


def assert_refused(res, culprit: str, out: Path | None = None) -> None:
    """``res`` (an :class:`Outcome` or a ``subprocess.CompletedProcess``) exited with 2, printed no traceback and
    named ``culprit`` (compared without white space: typer's error box wraps long messages anywhere); the run's
    output folder ``out``, if given, is absent or empty."""
    code = res.code if hasattr(res, "code") else res.returncode
    err = res.stderr
    assert code == 2, f"exit {code}\nstdout: {res.stdout[-2000:]}\nstderr: {err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    flat = "".join(" ".join(line.strip(" │╭╮╰╯─") for line in err.splitlines()).split())
    assert "".join(culprit.split()) in flat, err[-3000:]
    if out is not None:
        assert not out.exists() or not any(out.iterdir()), "a refused run wrote output"


def run_sweep(domain: str, cases, t: Path, other: str | None) -> dict[str, Outcome]:
    """Run every ``(id, args, culprit)`` case of a hostile-input sweep as ``morphogen DOMAIN ARGS`` in this process,
    with ``{t}`` the case folder (``{t}/out`` becomes the case's own output folder) and ``{other}`` a model file of
    another domain (cases that need it are left out when there is none); caching off, a wide terminal."""
    saved = {k: os.environ.get(k) for k in ("MORPHOGEN_CACHE", "COLUMNS")}
    os.environ.update(MORPHOGEN_CACHE="off", COLUMNS="400")
    done = {}
    try:
        for cid, args, _ in cases:
            if "{other}" in " ".join(args) and other is None:
                continue
            argv = [a.replace("{t}/out", f"{t}/out-{cid}").replace("{t}", str(t)).replace("{other}", str(other))
                    for a in args]
            done[cid] = run_command(domain, *argv)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return done
