"""SMILES files: reading a SMILES column of a CSV (``.csv`` or ``.csv.gz``), and the ``samples.smi`` format of
generated molecules (one line per sample; an invalid sample is its raw SMILES, an empty sample an empty line)."""
from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Sequence

from morphogen.molecules.errors import MoleculeDataError


def _open_text(path: Path):
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_smiles_csv(path: str | Path, column: str = "smiles") -> list[tuple[str, str]]:
    """(where, smiles) for every data row of a CSV (``.csv`` or ``.csv.gz``) with a header naming ``column``
    (case-insensitive).

    ``where`` is ``"path:line"`` (1-based, the header is line 1; the standard ZINC250k CSV quotes SMILES with an
    embedded newline, so the line is the row's first physical line). Surrounding whitespace is stripped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"SMILES file not found: {path}")
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
    """One SMILES per line; a line may be empty (an empty sample). Newlines inside entries are an error."""
    bad = [i for i, s in enumerate(lines) if "\n" in s]
    if bad:
        raise ValueError(f"sample(s) {bad[:5]} contain a newline")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(s + "\n" for s in lines))
    return path


def read_smiles_lines(path: str | Path) -> list[str]:
    """The lines of a ``samples.smi`` (empty lines kept: they are samples)."""
    text = Path(path).read_text()
    return text.split("\n")[:-1] if text.endswith("\n") else text.split("\n")
