"""Computed IR spectra kept compactly: the harmonic modes of a ``spectra simulate`` folder packed into numbered
NumPy shards (no pickles), and read back as the same records.

A ``spectra.jsonl`` record holds its broadened spectrum (1,801 numbers) beside the modes it was made from; the
spectrum is a function of the modes and the settings (:func:`~morphogen.spectra.data.ir.lorentzian_spectrum`), so a
shard keeps only the modes, and reading rebuilds the spectrum. A packed folder::

    settings.json       the simulation settings (the same file as the run's)
    failed.csv          id,smiles,reason of every molecule the run could not do
    shard-000.npz ...   SHARD_SIZE records each, in the run's order

and each shard's arrays (K records, M modes in all): ``id`` (K,) int32, ``smiles`` (K,) unicode, ``formula`` (K,)
unicode, ``num_atoms`` (K,) int16, ``energy`` (K,) float64 (Eh), ``modes`` (K,) int16 (modes per record),
``frequency`` (M,) uint32 in units of :data:`FREQ_UNIT` cm^-1 (the 2 decimals ``spectra.jsonl`` keeps: exact) and
``intensity`` (M,) float16 km/mol, which moves an intensity by at most 0.05 % (1/2048): a rebuilt spectrum differs
from the run's by less than 2e-3 of its maximum (tested; 1e-4 of it is the 4-decimal rounding of the run's).

Packing is incremental: shard k holds records k*SHARD_SIZE .. (k+1)*SHARD_SIZE - 1 of ``spectra.jsonl``; a shard
whose ids are unchanged is not rewritten, so a growing run adds files and rewrites only its last one.
"""
from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path
from typing import Iterator

import numpy as np

from morphogen.spectra.errors import SpectraDataError

SHARD_SIZE = 2000
FREQ_UNIT = 0.01
PATTERN = "shard-*.npz"


def is_packed(path: str | Path) -> bool:
    p = Path(path)
    return p.is_dir() and any(p.glob(PATTERN))


def _shard_arrays(records: list[dict]) -> dict[str, np.ndarray]:
    freqs = [np.asarray(r["frequencies"], np.float64) for r in records]
    ints = [np.asarray(r["intensities"], np.float64) for r in records]
    f = np.concatenate(freqs) if freqs else np.zeros(0)
    if f.size and (f.min() < 0 or f.max() / FREQ_UNIT > np.iinfo(np.uint32).max):
        raise SpectraDataError("pack", f"a frequency outside 0 .. {np.iinfo(np.uint32).max * FREQ_UNIT} cm^-1")
    return {"id": np.asarray([r["id"] for r in records], np.int32),
            "smiles": np.asarray([r["smiles"] for r in records], dtype=str),
            "formula": np.asarray([r["formula"] for r in records], dtype=str),
            "num_atoms": np.asarray([r["num_atoms"] for r in records], np.int16),
            "energy": np.asarray([r["energy"] for r in records], np.float64),
            "modes": np.asarray([len(x) for x in freqs], np.int16),
            "frequency": np.round(f / FREQ_UNIT).astype(np.uint32),
            "intensity": (np.concatenate(ints) if ints else np.zeros(0)).astype(np.float16)}


def _complete_records(path: Path) -> list[dict]:
    """The records of a ``spectra.jsonl`` that a run may still be appending to: a last line without its newline
    (being written) is left for the next pack."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for k, line in enumerate(fh, 1):
            if not line.endswith("\n"):
                break
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                raise SpectraDataError(f"{path}:{k}", f"not a JSON record ({err.msg})") from None
            if not isinstance(rec, dict):
                raise SpectraDataError(f"{path}:{k}", "a record must be a JSON object")
            out.append(rec)
    return out


def pack(run_dir: str | Path, out_dir: str | Path) -> dict:
    """Pack ``run_dir``'s ``spectra.jsonl`` (a ``spectra simulate`` folder) into ``out_dir``; returns counts
    ``{"records", "shards", "written", "failed"}``."""
    from morphogen.utils.outputs import atomic_bytes, atomic_text

    run, out = Path(run_dir), Path(out_dir)
    for name in ("spectra.jsonl", "settings.json"):
        if not (run / name).is_file():
            raise SpectraDataError(str(run / name), "no such file (not a spectra simulate folder)")
    out.mkdir(parents=True, exist_ok=True)
    settings = json.loads((run / "settings.json").read_text())
    if (out / "settings.json").is_file() and json.loads((out / "settings.json").read_text()) != settings:
        raise SpectraDataError(str(out / "settings.json"), "the packed folder holds spectra of other settings")
    atomic_text(out / "settings.json", json.dumps(settings, indent=1) + "\n")
    records = _complete_records(run / "spectra.jsonl")
    written = 0
    shards = (len(records) + SHARD_SIZE - 1) // SHARD_SIZE
    for k in range(shards):
        part = records[k * SHARD_SIZE:(k + 1) * SHARD_SIZE]
        path = out / f"shard-{k:03d}.npz"
        if path.is_file():
            with np.load(path, allow_pickle=False) as old:
                if old["id"].tolist() == [r["id"] for r in part]:
                    continue
        buf = io.BytesIO()
        np.savez_compressed(buf, **_shard_arrays(part))
        atomic_bytes(path, buf.getvalue())
        written += 1
    failed = 0
    if (run / "failed.csv").is_file():
        shutil.copyfile(run / "failed.csv", out / "failed.csv.tmp")
        (out / "failed.csv.tmp").replace(out / "failed.csv")
        with open(out / "failed.csv", newline="", encoding="utf-8") as fh:
            failed = max(0, sum(1 for _ in csv.reader(fh)) - 1)
    return {"records": len(records), "shards": shards, "written": written, "failed": failed}


def iter_packed(path: str | Path, with_spectrum: bool = True) -> Iterator[tuple[str, dict]]:
    """``(where, record)`` of a packed folder, records as ``spectra.jsonl`` has them (``where`` names the shard
    and the record's row); ``with_spectrum`` rebuilds ``"ir"`` from the modes and the settings."""
    from morphogen.spectra.data.ir import IRSettings, lorentzian_spectrum

    p = Path(path)
    try:
        meta = json.loads((p / "settings.json").read_text())
        settings = IRSettings(**meta["settings"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SpectraDataError(str(p / "settings.json"), f"unreadable settings ({type(err).__name__}: {err})") from None
    grid = settings.grid()
    wavenumber = [round(float(w), 6) for w in grid]
    for shard in sorted(p.glob(PATTERN)):
        try:
            with np.load(shard, allow_pickle=False) as z:
                a = {k: z[k] for k in z.files}
        except (OSError, ValueError) as err:
            raise SpectraDataError(str(shard), f"not a readable shard ({type(err).__name__}: {err})") from None
        ends = np.cumsum(a["modes"].astype(np.int64))
        if ends.size and ends[-1] != a["frequency"].size:
            raise SpectraDataError(str(shard), f"modes sum to {ends[-1]}, but {a['frequency'].size} frequencies")
        starts = ends - a["modes"]
        for i in range(a["id"].size):
            f = a["frequency"][starts[i]:ends[i]].astype(np.float64) * FREQ_UNIT
            w = a["intensity"][starts[i]:ends[i]].astype(np.float64)
            rec = {"id": int(a["id"][i]), "smiles": str(a["smiles"][i]), "formula": str(a["formula"][i]),
                   "num_atoms": int(a["num_atoms"][i]),
                   "frequencies": [round(float(x), 2) for x in f], "intensities": [round(float(x), 3) for x in w],
                   "energy": float(a["energy"][i])}
            if with_spectrum:
                where = f"{shard}:{i + 1}"
                try:
                    spec = lorentzian_spectrum(f, w, grid, settings.fwhm)
                except Exception as err:  # noqa: BLE001 - a record with no intensity names itself
                    raise SpectraDataError(where, str(err)) from None
                rec["ir"] = {"wavenumber": wavenumber, "intensity": [round(float(v), 4) for v in spec]}
            yield f"{shard}:{i + 1}", rec


def unpack(packed: str | Path, run_dir: str | Path) -> int:
    """Write a packed folder back as a ``spectra simulate`` folder (``spectra.jsonl``, ``failed.csv``,
    ``settings.json``), e.g. to resume the run; refuses a folder that already has records. Returns the count."""
    from morphogen.utils.outputs import atomic_text

    src, run = Path(packed), Path(run_dir)
    if (run / "spectra.jsonl").is_file() and (run / "spectra.jsonl").stat().st_size:
        raise SpectraDataError(str(run / "spectra.jsonl"), "already holds records: unpack into an empty folder")
    run.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(run / "spectra.jsonl.tmp", "w", encoding="utf-8", newline="\n") as fh:
        for _, rec in iter_packed(src):
            fh.write(json.dumps(rec, separators=(",", ":")) + "\n")
            n += 1
    (run / "spectra.jsonl.tmp").replace(run / "spectra.jsonl")
    atomic_text(run / "settings.json", (src / "settings.json").read_text())
    if (src / "failed.csv").is_file():
        atomic_text(run / "failed.csv", (src / "failed.csv").read_text(encoding="utf-8"))
    return n
