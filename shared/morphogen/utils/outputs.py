"""Output files and folders of the commands.

* Every output file is written atomically (:func:`write_output` and its forms :func:`atomic_text`,
  :func:`atomic_bytes`, :func:`atomic_json`, :func:`atomic_figure`): to a temporary name in the same folder, then
  renamed into place, so a reader, an interrupted run or a full disk never leaves a 0-byte or truncated file under
  the final name: the file is complete (the new one, or the one it replaces) or absent. A write that fails (a full
  disk, a read-only folder) raises :class:`OutputWriteError`, one line naming the file.
* A run's index or metadata file (e.g. ``index.csv``, ``sampling.json``) is written last, after every file it lists,
  and the index of an earlier run is removed before the first file is written (:func:`remove_stale`): a folder with
  an index holds one complete run.
* Output folders of sampling commands are checked for being writable before any work, and held by one run at a time
  (a lock file, :func:`exclusive_output`), so two runs into one ``--out`` never interleave their files.
"""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from morphogen.errors import MorphogenError

LOCK_NAME = ".morphogen.lock"
TEMP_SUFFIX = ".tmp"  # temporary files are ".<final name>.<random>.tmp" in the folder of the final file


class OutputError(MorphogenError):
    """An output folder that cannot be written, or that another run is writing."""


class OutputWriteError(OutputError, OSError):
    """An output file that could not be written (a full disk, a read-only folder, ...): the message names the file
    and the reason; ``errno`` and ``filename`` are those of the failed write. Nothing is left under the file's name
    (or the file it would have replaced is left unchanged), and no temporary file remains."""

    def __init__(self, path: str | os.PathLike, err: OSError):
        super().__init__(err.errno, err.strerror, str(path))
        self.message = f"{path}: cannot write the file ({err.strerror or err})"

    def __str__(self) -> str:
        return self.message


def atomic_write(path: str | os.PathLike, write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` then rename into place, so readers never see a half-written file. The file gets the
    permissions of an ordinary new file (0666 less the umask), not the 0600 of a temporary file. The temporary file
    is removed when ``write`` fails; the error is the writer's own (:func:`write_output` names the file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_output(path: str | os.PathLike, write: Callable[[str], Any]) -> Path:
    """Write one output file atomically: ``write(tmp_path)`` writes it under a temporary name in the folder of
    ``path``, which is then renamed to ``path``. An ``OSError`` of the write or the rename (ENOSPC, EROFS, EACCES,
    ...) becomes :class:`OutputWriteError` naming ``path``; the temporary file is removed."""
    try:
        return atomic_write(path, write)
    except OutputWriteError:
        raise
    except OSError as err:
        raise OutputWriteError(path, err) from err


def atomic_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """``text`` into ``path`` (:func:`write_output`); newlines are written as given."""
    data = text.encode(encoding)
    return write_output(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """``data`` into ``path`` (:func:`write_output`)."""
    return write_output(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> Path:
    """``obj`` as JSON (and a final newline) into ``path`` (:func:`write_output`); the text is made before the file
    is touched, so an object that is not JSON leaves no file."""
    import json

    return atomic_text(path, json.dumps(obj, indent=indent) + "\n")


def atomic_figure(path: str | os.PathLike, fig, **savefig: Any) -> Path:
    """A matplotlib figure into ``path`` (:func:`write_output`), in the format of the file's suffix (``.png``,
    ``.pdf``, ``.svg``; the temporary name has none) unless ``format`` is given."""
    fmt = savefig.pop("format", None) or Path(path).suffix.lstrip(".").lower() or "png"
    return write_output(path, lambda tmp: fig.savefig(tmp, format=fmt, **savefig))


def remove_stale(folder: str | os.PathLike, *names: str) -> None:
    """Remove the files ``names`` of ``folder`` (an earlier run's index and metadata) before a run writes its first
    file; missing ones are fine. Until the run writes its own index, the folder then holds no index."""
    for name in names:
        p = Path(folder) / name
        try:
            p.unlink(missing_ok=True)
        except IsADirectoryError:
            raise OutputError(f"{p}: is a folder, but this run writes a file of that name") from None
        except OSError as err:
            raise OutputWriteError(p, err) from err


def temporary_files(folder: str | os.PathLike) -> list[Path]:
    """The temporary files :func:`atomic_write` left in ``folder`` (none unless a process died while writing)."""
    return sorted(p for p in Path(folder).glob(f".*{TEMP_SUFFIX}") if p.is_file())


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


def check_not_inputs(outputs, inputs, option: str = "--out") -> None:
    """Refuse a run whose output files include one of its input files (``--out`` the input's folder, where an
    output takes the input's name, would replace the input by the output), before any work: :class:`OutputError`
    naming both. ``outputs``, ``inputs``: paths; outputs that do not exist yet cannot be an input."""
    for o in map(Path, outputs):
        for i in map(Path, inputs):
            if o.exists() and i.exists() and os.path.samefile(o, i):
                raise OutputError(f"{o}: this run writes a file of that name, which would replace its input {i}; "
                                  f"choose another {option}")


def check_output_dir(path: str | os.PathLike) -> Path:
    """Check, creating nothing, that ``path`` is a folder this process can write in, or can be created as one
    (a training's run folder is checked so before its data is read). The error names the folder: one that is a
    file, one below a file, one that cannot be written (read-only, no permission)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise OutputError(f"{p}: exists and is not a folder (--out names the output folder)")
    base = p
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        raise OutputError(f"{p}: cannot be created, {base} is a file")
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=base)
        os.close(fd)
        os.unlink(probe)
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
