"""CIF files (pymatgen's ``CifWriter``, P1 with fractional coordinates) and the index.csv of a prediction folder.

index.csv has one line per written structure: ``row`` (0-based record of the compositions file; empty for
ab initio generation), ``material_id``, ``formula``, ``sample`` (0..k-1), ``path`` (relative to the folder; empty
when the sample could not be built into a cell, e.g. an impossible lattice; such a sample counts as invalid).
"""
from __future__ import annotations

import csv
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

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    CifWriter(structure).write_file(str(path))
    return path


def write_index(rows: list[IndexRow], path: str | os.PathLike) -> Path:
    path = Path(path)
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=INDEX_COLUMNS)
        w.writeheader()
        for r in rows:
            d = asdict(r)
            d["row"] = "" if r.row is None else r.row
            w.writerow(d)
    return path


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
