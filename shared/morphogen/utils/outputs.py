"""Output folders of sampling commands: checked for being writable before any work, and held by one run at a time
(a lock file), so two runs into one ``--out`` never interleave their files."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from morphogen.errors import MorphogenError

LOCK_NAME = ".morphogen.lock"


class OutputError(MorphogenError):
    """An output folder that cannot be written, or that another run is writing."""


def prepare_output_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and its parents) and check that a file can be written in it; the error names the folder."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p}: exists and is not a folder (--out names the output folder)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        probe = p / f".write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise OutputError(f"{p}: cannot write the output folder ({err.strerror or err})") from None
    return p


@contextmanager
def exclusive_output(path: str | os.PathLike) -> Iterator[Path]:
    """Hold ``path`` for this run: a second run into the same folder fails at once, naming the folder and the
    process that holds it, instead of mixing its files with this run's. The lock is released on exit (also when
    the process dies: it is an OS file lock). A folder this call created is removed again when the run wrote
    nothing into it (a run refused after its options were read leaves no trace)."""
    import fcntl

    created = not Path(path).exists()
    p = prepare_output_dir(path)
    fh = open(p / LOCK_NAME, "a+")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise OutputError(f"{p}: another run ({holder}) is writing this output folder; wait for it or choose "
                              f"another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield p
    finally:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()
        if created and [q.name for q in p.iterdir()] == [LOCK_NAME]:
            (p / LOCK_NAME).unlink()
            p.rmdir()
