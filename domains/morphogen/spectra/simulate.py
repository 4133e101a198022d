"""A simulated IR spectrum set: GFN2-xTB spectra (:mod:`morphogen.spectra.data.ir`) of QM9 or of a SMILES file,
computed by parallel worker processes into a folder that a rerun resumes.

The folder ``DIR``:

* ``spectra.jsonl``: one JSON object a line, one molecule each, written as it finishes::

      {"id": 1, "smiles": "C", "formula": "CH4", "num_atoms": 5,
       "ir": {"wavenumber": [400.0, 402.0, ...], "intensity": [0.0012, ...]},
       "frequencies": [...], "intensities": [...], "energy": -4.17}

  ``id``: the gdb number for QM9, the name (or else the line number) for a SMILES file; ``smiles``: as given
  (QM9's GDB SMILES); ``formula``: Hill order, hydrogens included; ``num_atoms``: with hydrogens; ``ir``: the
  broadened spectrum on the grid (cm^-1; intensities normalised to max 1, rounded to 4 decimals); ``frequencies``
  (cm^-1, 2 decimals) and ``intensities`` (km/mol, 3 decimals): the harmonic modes; ``energy``: Eh.
* ``failed.csv``: ``id,smiles,reason`` for each molecule that could not be done (a QM9 number qm9pack lacks, a
  SMILES RDKit cannot parse or embed, a relaxation that does not converge, a saddle point, ...).
* ``settings.json``: the source and the :class:`~morphogen.spectra.data.ir.IRSettings`; a rerun with other
  settings or another source is refused (it would mix two kinds of spectra in one file).

Resuming: ids already in either file are skipped. Every line is written with one ``write`` and flushed, so a
killed run leaves at most a partial last line (no final newline), which the next run removes (and then redoes
that molecule). Only this process writes the files; a lock (``DIR/.lock``) refuses a second run on the same folder.
Each worker runs tblite on one thread (``OMP_NUM_THREADS=1``): ``workers`` processes use ``workers`` cores.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from morphogen.spectra.data.ir import IRSettings
from morphogen.spectra.data.sources import Molecule
from morphogen.spectra.errors import SimulationError, SpectraDataError

RECORDS = "spectra.jsonl"
FAILED = "failed.csv"
SETTINGS = "settings.json"
FAILED_HEADER = ("id", "smiles", "reason")
FORMAT_VERSION = 1
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

_ID = re.compile(r'^\{"id":(-?\d+|"(?:[^"\\]|\\.)*")[,}]')


# ----------------------------------------------------------------------------------------------- one molecule

def compute_record(mol: Molecule, settings: IRSettings) -> dict:
    """The ``spectra.jsonl`` record of one molecule (see the module docstring); :class:`SimulationError` with the
    reason if it cannot be done."""
    from morphogen.spectra.data.ir import hill_formula, simulate_ir
    from morphogen.spectra.data.sources import embed_smiles, molecule_charge_spin

    rdmol, charge, uhf = molecule_charge_spin(mol.smiles, mol.where)
    if mol.elements is None:
        elements, positions = embed_smiles(rdmol, mol.where)
    else:
        elements, positions = mol.elements, mol.positions
        from rdkit import Chem

        expected = Counter(a.GetSymbol() for a in Chem.AddHs(rdmol).GetAtoms())
        if Counter(elements) != expected:
            raise SimulationError(f"{mol.where}: the geometry's atoms ({hill_formula(elements)}) are not those of "
                                  f"the SMILES ({hill_formula(list(expected.elements()))})")
    res = simulate_ir(elements, positions, charge, uhf, settings)
    return {
        "id": mol.id, "smiles": mol.smiles, "formula": hill_formula(elements), "num_atoms": len(elements),
        "ir": {"wavenumber": [round(float(w), 6) for w in res.wavenumber],
               "intensity": [round(float(v), 4) for v in res.intensity]},
        "frequencies": [round(float(f), 2) for f in res.frequencies],
        "intensities": [round(float(i), 3) for i in res.intensities],
        "energy": round(res.energy, 8),
    }


def _run_one(mol: Molecule, settings: IRSettings) -> tuple[bool, str]:
    """(True, the record as one JSON line) or (False, the reason): what a worker sends back."""
    try:
        return True, json.dumps(compute_record(mol, settings), separators=(",", ":"))
    except SimulationError as err:
        return False, str(err)
    except Exception as err:  # noqa: BLE001 - one molecule must not end a run of thousands; the reason says what
        return False, f"unexpected {type(err).__name__}: {err}"


def _init_worker() -> None:
    for name in THREAD_VARIABLES:
        os.environ[name] = "1"


@contextmanager
def single_threaded_environment():
    """Set ``OMP_NUM_THREADS`` (and the BLAS variables) to 1 while the block runs, so that worker processes
    started in it, and tblite when first loaded in it, use one thread each; restored afterwards."""
    old = {k: os.environ.get(k) for k in THREAD_VARIABLES}
    try:
        for k in THREAD_VARIABLES:
            os.environ[k] = "1"
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ----------------------------------------------------------------------------------------------- the folder

def _drop_partial_last_line(path: Path) -> bool:
    """Cut a last line without its newline (a write cut short by a kill); True if one was cut."""
    size = path.stat().st_size
    if size == 0:
        return False
    with open(path, "rb+") as fh:
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return False
        end, chunk = size, 1 << 16
        while end > 0:
            start = max(0, end - chunk)
            fh.seek(start)
            k = fh.read(end - start).rfind(b"\n")
            if k >= 0:
                fh.truncate(start + k + 1)
                return True
            end = start
        fh.truncate(0)
        return True


def _check_settings(path: Path, want: dict) -> None:
    if not path.is_file():
        path.write_text(json.dumps(want, indent=1) + "\n", encoding="utf-8")
        return
    try:
        have = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SpectraDataError(str(path), f"not a JSON file ({err})") from None
    if have != want:
        diff = sorted(k for k in set(want) | set(have) if have.get(k) != want.get(k))
        if "settings" in diff and isinstance(have.get("settings"), dict):
            diff = [f"settings.{k}" for k in sorted(set(want["settings"]) | set(have["settings"]))
                    if have["settings"].get(k) != want["settings"].get(k)] + [d for d in diff if d != "settings"]
        shown = "; ".join(f"{d}: {_pick(have, d)!r} there, {_pick(want, d)!r} now" for d in diff[:4])
        raise SpectraDataError(str(path), f"this folder was simulated with other settings ({shown}); resume with "
                                          f"the same ones or write to another --out")


def _pick(d: dict, dotted: str):
    for part in dotted.split("."):
        d = d.get(part) if isinstance(d, dict) else None
    return d


class SpectrumSet:
    """The output folder of a simulation (see the module docstring): :meth:`open` checks or writes
    ``settings.json``, cuts partial last lines and returns the ids done; :meth:`add` / :meth:`fail` append one
    line each (flushed). Use as a context manager."""

    def __init__(self, out_dir: str | Path, source: str, settings: IRSettings):
        self.dir = Path(out_dir)
        self.source = source
        self.settings = settings
        self.repaired: list[str] = []
        self._files: list = []

    def __enter__(self) -> SpectrumSet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> set[str]:
        """Prepare the folder for appending; the ids (as strings) already written to either file."""
        if self.dir.exists() and not self.dir.is_dir():
            raise SpectraDataError(str(self.dir), "--out exists and is not a folder")
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock()
        _check_settings(self.dir / SETTINGS, {"format": FORMAT_VERSION, "molecules": self.source,
                                              "settings": self.settings.to_dict()})
        done = self._read_records() | self._read_failed()
        self._records = open(self.dir / RECORDS, "a", encoding="utf-8", newline="\n")
        failed = self.dir / FAILED
        new = not failed.is_file() or failed.stat().st_size == 0
        self._failed = open(failed, "a", encoding="utf-8", newline="")
        self._files += [self._records, self._failed]
        if new:
            self._write_failed(FAILED_HEADER)
        return done

    def _lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            return
        fh = open(self.dir / ".lock", "w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise SpectraDataError(str(self.dir), "another simulation is writing to this folder") from None
        self._files.append(fh)

    def _read_records(self) -> set[str]:
        path = self.dir / RECORDS
        if not path.is_file():
            return set()
        if _drop_partial_last_line(path):
            self.repaired.append(RECORDS)
        ids: set[str] = set()
        with open(path, encoding="utf-8") as fh:
            for k, line in enumerate(fh, 1):
                m = _ID.match(line)
                if m is None or not line.rstrip("\n").endswith("}"):
                    raise SpectraDataError(f"{path}:{k}", "not a spectrum record (a line damaged other than by "
                                                          "a kill; remove it to resume)")
                key = str(json.loads(m.group(1)))
                if key in ids:
                    raise SpectraDataError(f"{path}:{k}", f"id {key} is already on an earlier line")
                ids.add(key)
        return ids

    def _read_failed(self) -> set[str]:
        path = self.dir / FAILED
        if not path.is_file():
            return set()
        if _drop_partial_last_line(path):
            self.repaired.append(FAILED)
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            return set()
        if tuple(rows[0]) != FAILED_HEADER:
            raise SpectraDataError(f"{path}:1", f"header {rows[0]} is not {list(FAILED_HEADER)}")
        for k, row in enumerate(rows[1:], 2):
            if len(row) != 3:
                raise SpectraDataError(f"{path}:{k}", f"{len(row)} fields, expected 3 (id, smiles, reason)")
        return {row[0] for row in rows[1:]}

    def add(self, line: str) -> None:
        """Append one record (a JSON object on one line, without the newline)."""
        self._records.write(line + "\n")
        self._records.flush()

    def fail(self, mid, smiles: str, reason: str) -> None:
        """Append one ``failed.csv`` row (the reason on one line)."""
        self._write_failed((str(mid), smiles, " ".join(str(reason).split())))

    def _write_failed(self, row) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        self._failed.write(buf.getvalue())
        self._failed.flush()

    def close(self) -> None:
        for fh in self._files:
            fh.close()
        self._files = []


# ----------------------------------------------------------------------------------------------- the run

@dataclass
class SimulationSummary:
    """What a run did: molecules selected, skipped (done before), written and failed (this run), seconds, the
    failure reasons of this run (counted by their text up to the first number) and any partial lines cut."""

    out_dir: Path
    selected: int
    skipped: int
    written: int
    failed: int
    seconds: float
    reasons: Counter = field(default_factory=Counter)
    repaired: list[str] = field(default_factory=list)


def select_molecules(molecules: str | Path, indices: str | Path | None = None, limit: int | None = None):
    """(source key for ``settings.json``, :class:`~morphogen.spectra.data.sources.Selection`) for ``molecules``
    = ``"qm9"`` or a SMILES file; ``indices`` (QM9 only) and ``limit`` narrow it (limit: the first N of the
    selection, counted before done molecules are skipped, so that a rerun with the same limit finishes it)."""
    from morphogen.spectra.data.sources import Selection, qm9_molecules, read_qm9_indices, read_smiles_file

    if limit is not None and limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit}")
    if str(molecules).lower() == "qm9":
        gdbs = read_qm9_indices(indices) if indices is not None else None
        return "qm9", qm9_molecules(gdbs, limit)
    if indices is not None:
        raise SpectraDataError(str(indices), "--indices selects QM9 molecules (gdb numbers); it cannot be used "
                                             "with a SMILES file")
    path = Path(molecules)
    return str(path.resolve()), Selection(read_smiles_file(path, limit), [])


def simulate_set(molecules: str | Path, out_dir: str | Path, indices: str | Path | None = None,
                 limit: int | None = None, workers: int = 1, settings: IRSettings = IRSettings(),
                 progress: bool = True) -> SimulationSummary:
    """Simulate the IR spectra of ``molecules`` (``"qm9"`` or a SMILES file, see :func:`select_molecules`) into
    ``out_dir``, resuming what is there. ``workers`` > 1: that many spawned processes; 1: this process."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    t0 = time.perf_counter()
    source, sel = select_molecules(molecules, indices, limit)
    written = failed = 0
    reasons: Counter = Counter()
    with SpectrumSet(out_dir, source, settings) as out:
        done = out.open()
        for mid, smiles, reason in sel.missing:
            if str(mid) not in done:
                out.fail(mid, smiles, reason)
                done.add(str(mid))
                failed += 1
                reasons[_reason_kind(reason)] += 1
        todo = [m for m in sel.molecules if str(m.id) not in done]
        skipped = len(sel.molecules) + len(sel.missing) - len(todo) - failed

        from tqdm import tqdm

        bar = tqdm(total=len(todo), unit="mol", desc="GFN2-xTB IR", disable=not progress, file=sys.stderr,
                   mininterval=1.0, dynamic_ncols=True)
        try:
            for mol, (ok, text) in _results(todo, settings, workers):
                if ok:
                    out.add(text)
                    written += 1
                else:
                    out.fail(mol.id, mol.smiles, text)
                    failed += 1
                    reasons[_reason_kind(text)] += 1
                bar.update(1)
                if failed:
                    bar.set_postfix(failed=failed, refresh=False)
        finally:
            bar.close()
        repaired = list(out.repaired)
    return SimulationSummary(Path(out_dir), len(sel.molecules) + len(sel.missing), skipped, written, failed,
                             time.perf_counter() - t0, reasons, repaired)


def _reason_kind(reason: str) -> str:
    text = re.sub(r"^\S+:\d+: ", "", reason)  # the file:line of a SMILES file
    return re.split(r"\s(?:[-+]?\d|')|\(", text, maxsplit=1)[0].strip(" :,") or text[:60]


def _results(todo: list[Molecule], settings: IRSettings, workers: int):
    """(molecule, (ok, text)) for each of ``todo``, in the order they finish."""
    if workers == 1 or len(todo) <= 1:
        with single_threaded_environment():
            for mol in todo:
                yield mol, _run_one(mol, settings)
        return
    pending = iter(todo)
    with single_threaded_environment():  # the workers start with it (numpy is imported before the initializer)
        yield from _pool_results(pending, settings, workers)


def _pool_results(pending, settings: IRSettings, workers: int):
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker)
    try:
        running = {}
        for mol in pending:
            running[pool.submit(_run_one, mol, settings)] = mol
            if len(running) >= 4 * workers:
                break
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                mol = running.pop(fut)
                yield mol, fut.result()
                nxt = next(pending, None)
                if nxt is not None:
                    running[pool.submit(_run_one, nxt, settings)] = nxt
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
