"""Reader of CDVAE-format CSV files (Perov-5, Carbon-24, MP-20, MPTS-52 as distributed by CDVAE / DiffCSP).

Format: one record per row; a ``cif`` column holding the whole CIF text (quoted, multi-line), a ``material_id``
column, optional property columns (``heat_ref``, ``energy_per_atom``, ``formation_energy_per_atom``, ...) and
often an unnamed pandas index as the first column. Every row must parse: a row whose CIF does not parse raises
:class:`CifParseError` naming the file, the record and the reason (nothing is skipped silently).
"""
from __future__ import annotations

import csv
import os
import sys
import warnings
from pathlib import Path

from morphogen.crystals.data.structures import CrystalRecord, record_from_structure
from morphogen.errors import DataError


class CifParseError(DataError):
    """A record of a CSV whose CIF could not be read; ``path``, ``row`` (0-based data row), ``line`` (1-based line
    of the file where the record starts) and ``material_id`` name it."""

    def __init__(self, path, row: int, line: int, material_id: str, reason: str):
        self.path, self.row, self.line, self.material_id, self.reason = str(path), row, line, material_id, reason
        super().__init__(f"{path}: record {row} (line {line}, material_id {material_id!r}): {reason}")


def _csv_field_limit() -> None:
    try:
        csv.field_size_limit(sys.maxsize)
    except OverflowError:  # pragma: no cover (32-bit C long)
        csv.field_size_limit(2**31 - 1)


def iter_csv_rows(path: str | os.PathLike):
    """Yield (row index, first line number, dict of columns) of a CSV with quoted multi-line fields."""
    _csv_field_limit()
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is None:
            raise ValueError(f"{path}: empty file (no header line)")
        start = reader.line_num + 1
        for i, row in enumerate(reader):
            if None in row:
                raise ValueError(f"{path}: record {i} (line {start}): more fields than the header's {len(reader.fieldnames)}")
            yield i, start, row
            start = reader.line_num + 1


def parse_cif(text: str):
    """A pymatgen ``Structure`` from CIF text; raises ValueError with pymatgen's reason."""
    from pymatgen.core import Structure

    if not text or not text.strip():
        raise ValueError("empty CIF")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns about rounding of occupancies etc.; errors still raise
        try:
            return Structure.from_str(text, fmt="cif")
        except Exception as err:  # pymatgen raises ValueError, KeyError, IndexError... for bad CIFs
            msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"CIF does not parse ({type(err).__name__}: {msg[:200]})") from None


def _number(value: str):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def read_cdvae_csv(
    path: str | os.PathLike,
    niggli: bool = True,
    primitive: bool = False,
    cif_column: str = "cif",
    id_column: str = "material_id",
    limit: int | None = None,
) -> list[CrystalRecord]:
    """Read every record of a CDVAE-format CSV into canonical :class:`CrystalRecord` s (see
    :func:`morphogen.crystals.data.structures.canonical_structure`; the defaults are the literature's for all four
    benchmarks). Property columns (everything except the CIF, the id and an unnamed index) go into
    ``record.properties`` (numbers as floats). ``limit`` reads only the first records.

    Raises:
        FileNotFoundError: no such file.
        ValueError: no ``cif`` column (the message lists the columns found).
        CifParseError: a record whose CIF does not parse, or describes a disordered crystal.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"CDVAE CSV not found: {path}")
    out: list[CrystalRecord] = []
    for i, line, row in iter_csv_rows(path):
        if i == 0 and cif_column not in row:
            raise ValueError(f"{path}: no '{cif_column}' column; columns are {list(row)}")
        if limit is not None and i >= limit:
            break
        mid = (row.get(id_column) or "").strip()
        try:
            structure = parse_cif(row[cif_column])
            props = {k: _number(v) for k, v in row.items() if k not in (cif_column, id_column) and k and k.strip()
                     and not k.startswith("Unnamed")}
            out.append(record_from_structure(structure, mid, i, props, niggli=niggli, primitive=primitive))
        except ValueError as err:
            raise CifParseError(path, i, line, mid, str(err)) from None
    if not out and limit != 0:
        raise ValueError(f"{path}: no records")
    return out
