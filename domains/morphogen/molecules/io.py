"""SMILES files: reading a SMILES column of a CSV (``.csv`` or ``.csv.gz``), and the ``samples.smi`` format of
generated molecules (one line per sample; an invalid sample is its raw SMILES, an empty sample an empty line)."""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Sequence

from morphogen.errors import NotFoundError
from morphogen.molecules.errors import MoleculeDataError


def _check_file(path: Path, what: str) -> None:
    if path.is_dir():
        raise MoleculeDataError(str(path), f"is a folder, expected a {what}")
    if not path.is_file():
        raise NotFoundError(f"{what} not found: {path}")


def _open_text(path: Path):
    """The file as text: UTF-8 with an optional byte-order mark (dropped), gzip-compressed for ``.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def _not_text(path: Path, err: Exception) -> MoleculeDataError:
    if isinstance(err, UnicodeDecodeError):
        byte = err.object[err.start]
        return MoleculeDataError(str(path), f"not a UTF-8 text file (byte 0x{byte:02x} cannot be decoded; a binary "
                                            f"file?)")
    return MoleculeDataError(str(path), f"not a readable gzip file ({err})")


def read_smiles_csv(path: str | Path, column: str = "smiles") -> list[tuple[str, str]]:
    """(where, smiles) for every data row of a CSV (``.csv`` or ``.csv.gz``) with a header naming ``column``
    (case-insensitive).

    ``where`` is ``"path:line"`` (1-based, the header is line 1; the standard ZINC250k CSV quotes SMILES with an
    embedded newline, so the line is the row's first physical line). Surrounding whitespace is stripped.
    """
    path = Path(path)
    _check_file(path, "SMILES file")
    try:
        return _read_smiles_csv(path, column)
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as err:
        raise _not_text(path, err) from None


def _read_smiles_csv(path: Path, column: str) -> list[tuple[str, str]]:
    out = []
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise MoleculeDataError(f"{path}:1", "empty file (no header)") from None
        names = [h.strip() for h in header]
        matches = [i for i, h in enumerate(names) if h.lower() == column.lower()]
        if not matches:
            raise MoleculeDataError(f"{path}:1", f"no column '{column}' in the header {names}")
        col = matches[0]
        line = reader.line_num + 1
        for row in reader:
            where = f"{path}:{line}"
            line = reader.line_num + 1
            if not row:
                continue
            if col >= len(row):
                raise MoleculeDataError(where, f"row has {len(row)} fields, no '{column}' value")
            out.append((where, row[col].strip()))
    return out


def write_smiles(lines: Sequence[str], path: str | Path) -> Path:
    """One SMILES per line; a line may be empty (an empty sample). Newlines inside entries are an error. Written
    atomically (:func:`morphogen.utils.outputs.atomic_text`: complete or absent, never truncated)."""
    from morphogen.utils.outputs import atomic_text

    bad = [i for i, s in enumerate(lines) if "\n" in s]
    if bad:
        raise ValueError(f"sample(s) {bad[:5]} contain a newline")
    return atomic_text(path, "".join(s + "\n" for s in lines))


def read_smiles_lines(path: str | Path) -> list[str]:
    """The lines of a ``samples.smi`` (empty lines kept: they are samples). A missing, binary or empty file and a
    line longer than :data:`~morphogen.molecules.convert.MAX_SMILES_LENGTH` are errors naming the file (and line)."""
    from morphogen.molecules.convert import check_smiles_length

    path = Path(path)
    _check_file(path, "samples file")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except UnicodeDecodeError as err:
        raise _not_text(path, err) from None
    if not text:
        raise MoleculeDataError(str(path), "empty file: no samples to score (one line per sample)")
    lines = text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
    lines = [s[:-1] if s.endswith("\r") else s for s in lines]
    for k, s in enumerate(lines, 1):
        check_smiles_length(s, f"{path}:{k}")
        if "\x00" in s:
            raise MoleculeDataError(f"{path}:{k}", "NUL byte in the line (a binary file?)")
    return lines
