"""CIF files (pymatgen's ``CifWriter``, P1 with fractional coordinates) and the index.csv of a prediction folder.

index.csv has one line per written structure: ``row`` (0-based record of the compositions file; empty for
ab initio generation), ``material_id``, ``formula``, ``sample`` (0..k-1), ``path`` (relative to the folder; empty
when the sample could not be built into a cell, e.g. an impossible lattice; such a sample counts as invalid).

Both are written atomically (:mod:`morphogen.utils.outputs`): a CIF or index is complete or absent, never a
0-byte or truncated file; a write that fails raises :class:`morphogen.utils.outputs.OutputWriteError` naming it.
"""
from __future__ import annotations

import csv
import io
import os
from dataclasses import asdict, dataclass
from pathlib import Path

INDEX_COLUMNS = ("row", "material_id", "formula", "sample", "path")


@dataclass
class IndexRow:
    row: int | None
    material_id: str
    formula: str
    sample: int
    path: str


def write_cif(structure, path: str | os.PathLike) -> Path:
    """Write a Structure as a P1 CIF (no symmetry search: the coordinates are written as generated)."""
    from pymatgen.io.cif import CifWriter

    from morphogen.utils.outputs import atomic_text

    return atomic_text(path, str(CifWriter(structure)))


def write_index(rows: list[IndexRow], path: str | os.PathLike) -> Path:
    """The index.csv of ``rows`` (CSV line ends ``\\r\\n``, as the csv module writes them)."""
    from morphogen.utils.outputs import atomic_text

    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, fieldnames=INDEX_COLUMNS)
    w.writeheader()
    for r in rows:
        d = asdict(r)
        d["row"] = "" if r.row is None else r.row
        w.writerow(d)
    return atomic_text(path, buf.getvalue())


def read_index(path: str | os.PathLike) -> list[IndexRow]:
    """Read an index.csv; errors (DataError, NotFoundError) name the file and line."""
    from morphogen.crystals.data.cdvae import iter_csv_rows
    from morphogen.errors import DataError, NotFoundError

    path = Path(path)
    if not path.exists():
        raise NotFoundError(f"no index.csv at {path} (a folder written by 'crystals predict' or 'generate')")
    out = []
    for i, line, rec in iter_csv_rows(path, "index.csv"):
        missing = set(INDEX_COLUMNS) - set(rec)
        if missing:
            raise DataError(f"{path}: missing columns {sorted(missing)} (columns are {list(rec)})")
        try:
            row = None if rec["row"] == "" else int(rec["row"])
            sample = int(rec["sample"])
        except ValueError as err:
            raise DataError(f"{path}: line {line}: {err}") from None
        if (row is not None and row < 0) or sample < 0:
            raise DataError(f"{path}: line {line}: negative row or sample")
        out.append(IndexRow(row, rec["material_id"], rec["formula"], sample, rec["path"]))
    if not out:
        raise DataError(f"{path}: no rows (a header line only)")
    return out
