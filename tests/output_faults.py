"""A full disk for the output tests of every domain (issue 15): :class:`FullDisk` stands in for the low-level write
of :mod:`morphogen.utils.outputs`, through which every output file of a command goes, and records each file written;
from its ``fail_at``-th file on (0-based) a write stops half way with ENOSPC, as on a disk that filled up.
:func:`run_command` runs ``morphogen ...`` in this process through the real entry point (so the monkeypatched write
is the one used) and returns exit code, stdout and stderr."""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from pathlib import Path

from tests.cli_runs import Outcome, run_command  # noqa: F401  (re-exported for the output tests)

NO_SPACE = os.strerror(errno.ENOSPC)  # "No space left on device"


@dataclass
class FullDisk:
    """Patches :func:`morphogen.utils.outputs.atomic_write`. ``written``: the files written completely, in order;
    ``refused``: the file whose write hit the full disk (None while there was room)."""

    fail_at: int | None = None
    written: list[Path] = field(default_factory=list)
    refused: Path | None = None

    def install(self, monkeypatch) -> "FullDisk":
        from morphogen.utils import outputs

        real = getattr(outputs.atomic_write, "real", outputs.atomic_write)  # not a FullDisk installed before

        def write(path, fn):
            path = Path(path)
            if self.fail_at is not None and len(self.written) >= self.fail_at:
                def half(tmp):  # the writer's bytes, cut short where the disk ran out
                    fn(tmp)
                    size = Path(tmp).stat().st_size
                    with open(tmp, "r+b") as fh:
                        fh.truncate(size // 2)
                    raise OSError(errno.ENOSPC, NO_SPACE)

                self.refused = path
                return real(path, half)
            out = real(path, fn)
            self.written.append(path)
            return out

        write.real = real
        monkeypatch.setattr(outputs, "atomic_write", write)
        return self


def folder_files(folder: Path) -> dict[str, int]:
    """{name: size} of the files of ``folder`` (the run's lock left out); {} for a missing folder."""
    from morphogen.utils.outputs import LOCK_NAME

    if not folder.is_dir():
        return {}
    return {p.name: p.stat().st_size for p in folder.iterdir() if p.is_file() and p.name != LOCK_NAME}


def check_full_disk_run(res: Outcome, disk: FullDisk, out: Path, index: str) -> None:
    """What a run stopped by a full disk must leave: exit 2 and one line naming the file, no traceback, no temporary
    and no empty file, only the files written before (complete), and no index."""
    from morphogen.utils.outputs import temporary_files

    assert disk.refused is not None, "the run wrote fewer files than the fault was set for"
    assert res.code == 2, f"exit {res.code}\n{res.stdout[-2000:]}\n{res.stderr[-3000:]}"
    assert "Traceback" not in res.stderr, res.stderr[-3000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]  # warnings of the sampling may come before
    message = f"error: {disk.refused}: cannot write the file ({NO_SPACE})"
    assert lines[-1] == message and [ln for ln in lines if ln.startswith("error")] == [message], res.stderr[-3000:]
    files = folder_files(out)
    if out.is_dir():
        assert not temporary_files(out), temporary_files(out)
    assert sorted(files) == sorted(p.name for p in disk.written), (files, disk.written)
    assert all(size > 0 for size in files.values()), files
    assert index not in files
