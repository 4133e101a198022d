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


def check_text_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` as a Path, refused (NotFoundError / DataError naming it) when it is missing, a directory, empty or
    binary (a NUL byte or bytes that are not UTF-8 in its first 64 KiB)."""
    from morphogen.errors import NotFoundError

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, expected a {what}")
    if not path.is_file():
        raise NotFoundError(f"{what} not found: {path}")
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise DataError(f"{path}: empty file, expected a {what}")
    if b"\0" in head:
        raise DataError(f"{path}: a binary file (NUL bytes), expected a {what} (UTF-8 text)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not merely a multi-byte character cut by the 64 KiB window
            raise DataError(f"{path}: not UTF-8 text (byte {err.start}), expected a {what}") from None
    return path


def iter_csv_rows(path: str | os.PathLike, what: str = "CSV file"):
    """Yield (row index, first line number, dict of columns) of a CSV with quoted multi-line fields. A UTF-8 byte
    order mark is dropped (utf-8-sig); a missing, empty, binary or non-UTF-8 file is a DataError naming it."""
    _csv_field_limit()
    path = check_text_file(path, what)
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        try:
            if reader.fieldnames is None:
                raise DataError(f"{path}: empty file (no header line)")
            start = reader.line_num + 1
            for i, row in enumerate(reader):
                if None in row:
                    raise DataError(f"{path}: record {i} (line {start}): more fields than the header's "
                                    f"{len(reader.fieldnames)}")
                yield i, start, row
                start = reader.line_num + 1
        except UnicodeDecodeError as err:
            raise DataError(f"{path}: not UTF-8 text after line {reader.line_num} ({err.reason})") from None
        except csv.Error as err:
            raise DataError(f"{path}: line {reader.line_num}: not a readable CSV ({err})") from None


_PYMATGEN_REASONS = (  # pymatgen's words (in its warnings) -> what they mean for a CIF's author
    ("singular matrix", "the cell is degenerate (its lattice vectors do not span a volume)"),
    ("_atom_site", "the atom-site loop is missing or incomplete (truncated file?)"),
    ("no structure parsed", "no complete structure in the text (truncated, or not a CIF?)"),
)


def _reason(err: Exception, notes: list[str]) -> str:
    text = " ".join([str(err)] + notes).lower()
    for key, reason in _PYMATGEN_REASONS:
        if key in text:
            return reason
    if isinstance(err, (ZeroDivisionError, FloatingPointError, OverflowError)):
        return "the cell is degenerate (a zero or non-finite cell length, angle or volume)"
    msg = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"{msg[:200]} ({type(err).__name__} in pymatgen)"


def check_lattice(structure) -> None:
    """ValueError unless ``structure``'s cell has finite positive lengths, angles in (0, 180) and a positive volume."""
    import numpy as np

    lat = structure.lattice
    params = np.asarray(lat.parameters, dtype=np.float64)
    if not np.all(np.isfinite(params)) or np.any(params[:3] <= 1e-6) or np.any(params[3:] <= 0) \
            or np.any(params[3:] >= 180):
        raise ValueError(f"impossible cell: lengths {params[:3].round(4).tolist()}, angles "
                         f"{params[3:].round(2).tolist()}")
    vol = float(lat.volume)
    if not np.isfinite(vol) or vol <= 1e-6:
        raise ValueError(f"the cell is degenerate (volume {vol:.3g} A^3): the angles violate the triangle rule")


def parse_cif(text: str):
    """A pymatgen ``Structure`` from CIF text; raises ValueError with a reason a CIF's author understands (pymatgen's
    own, from its warnings, translated where it is cryptic), also for a cell with no volume."""
    from pymatgen.core import Structure

    if not text or not text.strip():
        raise ValueError("empty CIF")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # pymatgen warns about rounding of occupancies etc.; errors still raise
        try:
            s = Structure.from_str(text, fmt="cif")
        except Exception as err:  # pymatgen raises ValueError, KeyError, ZeroDivisionError... for bad CIFs
            raise ValueError(f"CIF does not parse: {_reason(err, [str(w.message) for w in caught])}") from None
    if len(s) == 0:
        raise ValueError("CIF does not parse: no atoms")
    check_lattice(s)
    return s


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
        NotFoundError: no such file (a FileNotFoundError).
        DataError: a directory, empty, binary or non-UTF-8 file, no ``cif`` column (the message lists the columns
            found), no records.
        CifParseError: a record whose CIF does not parse, or describes a disordered crystal.
    """
    path = Path(path)
    out: list[CrystalRecord] = []
    for i, line, row in iter_csv_rows(path, "CDVAE-format CSV"):
        if i == 0 and cif_column not in row:
            raise DataError(f"{path}: no '{cif_column}' column; columns are {list(row)}")
        if limit is not None and i >= limit:
            break
        mid = (row.get(id_column) or "").strip()
        try:
            structure = parse_cif(row[cif_column])
            props = {k: _number(v) for k, v in row.items() if k not in (cif_column, id_column) and k and k.strip()
                     and not k.startswith("Unnamed")}
            out.append(record_from_structure(structure, mid, i, props, niggli=niggli, primitive=primitive))
        except (ValueError, ZeroDivisionError, FloatingPointError) as err:
            raise CifParseError(path, i, line, mid, _reason(err, []) if not isinstance(err, ValueError)
                                else str(err)) from None
    if not out and limit != 0:
        raise DataError(f"{path}: no records (a header line only)")
    return out
