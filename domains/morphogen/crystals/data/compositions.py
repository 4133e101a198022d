"""Compositions to predict structures for (the input of crystal structure prediction).

Two formats are accepted:

* a CSV with a ``formula`` column (and optionally ``material_id``): the formula is read with the counts of the
  cell to predict (``Ca4S4`` is an 8-atom cell, ``CaS`` a 2-atom cell); counts must be whole numbers;
* a CDVAE-format CSV (a ``cif`` column): the structure is read (canonical form) and only its composition and atom
  count are kept, so the reference structures can serve as the prediction input.

If both columns are present the ``cif`` column wins (the cell's atom count is then known exactly).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from morphogen.crystals.data.cdvae import CifParseError, iter_csv_rows, parse_cif
from morphogen.crystals.data.structures import canonical_structure
from morphogen.errors import DataError


@dataclass
class CompositionRecord:
    """The atoms of one cell to predict.

    Attributes:
        atomic_numbers: (N,) int64, sorted by atomic number.
        formula: the formula as written in the file (or pymatgen's for a CIF row).
        material_id: the file's identifier ('' when absent).
        row: 0-based data row in the file.
    """

    atomic_numbers: np.ndarray
    formula: str
    material_id: str = ""
    row: int = -1

    @property
    def num_atoms(self) -> int:
        return int(self.atomic_numbers.shape[0])


def atoms_of_formula(formula: str, max_atoms: int | None = None) -> np.ndarray:
    """Atomic numbers (sorted) of a formula's cell, e.g. ``SrTiO3`` -> [8, 8, 8, 22, 38]. ValueError when the formula
    does not parse, has fractional counts or (``max_atoms``) more atoms than that (checked before the list is
    built: ``H100000000`` costs nothing)."""
    from pymatgen.core import Composition, Element

    if len(formula) > 1000:
        raise ValueError(f"formula of {len(formula)} characters (at most 1000)")
    try:
        comp = Composition(formula)
    except Exception as err:
        raise ValueError(f"formula {formula!r} does not parse ({err})") from None
    total = sum(float(a) for a in comp.values())
    if not np.isfinite(total):
        raise ValueError(f"formula {formula!r} has a non-finite atom count")
    if max_atoms is not None and total > max_atoms:
        raise ValueError(too_many_atoms(formula, total, max_atoms))
    atoms: list[int] = []
    for el, amt in comp.items():
        if abs(amt - round(amt)) > 1e-6 or round(amt) < 1:
            raise ValueError(f"formula {formula!r}: {el} has a non-integer count {amt}; give the cell's atom counts")
        if not isinstance(el, Element) or not 1 <= el.Z <= 100:
            raise ValueError(f"formula {formula!r}: {getattr(el, 'symbol', el)} is not a chemical element "
                             "(Z 1..100)")
        atoms += [int(el.Z)] * int(round(amt))
    if not atoms:
        raise ValueError(f"formula {formula!r} has no atoms")
    return np.asarray(sorted(atoms), dtype=np.int64)


def too_many_atoms(formula: str, n: float, limit: int, why: str = "") -> str:
    """The message for a cell over the atom limit (one wording for the reader and the command)."""
    return (f"formula {formula!r} is a cell of {n:g} atoms, more than the limit of {limit} atoms per cell"
            f"{why}")


def read_compositions(path: str | os.PathLike, niggli: bool = True, primitive: bool = False,
                      max_atoms: int | None = None) -> list[CompositionRecord]:
    """Read a composition list (see the module docstring). Errors (:class:`CifParseError`, a DataError) name the
    file, the record and the reason; ``max_atoms`` refuses larger cells before any of them is built. A UTF-8 byte
    order mark is dropped; a missing file is a NotFoundError."""
    path = Path(path)
    out: list[CompositionRecord] = []
    use_cif = None
    for i, line, row in iter_csv_rows(path, "compositions CSV"):
        if use_cif is None:
            use_cif = "cif" in row
            if not use_cif and "formula" not in row:
                raise DataError(f"{path}: needs a 'formula' or a 'cif' column; columns are {list(row)}")
        mid = (row.get("material_id") or "").strip()
        try:
            if use_cif:
                s = canonical_structure(parse_cif(row["cif"]), niggli=niggli, primitive=primitive)
                if not s.is_ordered:
                    raise ValueError("the structure has partially occupied sites")
                z = np.asarray(sorted(site.specie.Z for site in s), dtype=np.int64)
                formula = s.composition.formula.replace(" ", "")
                if max_atoms is not None and len(z) > max_atoms:
                    raise ValueError(too_many_atoms(formula, len(z), max_atoms))
            else:
                formula = (row.get("formula") or "").strip()
                z = atoms_of_formula(formula, max_atoms)
        except (ValueError, ZeroDivisionError, FloatingPointError) as err:
            raise CifParseError(path, i, line, mid, str(err) or type(err).__name__) from None
        out.append(CompositionRecord(z, formula, mid, i))
    if not out:
        raise DataError(f"{path}: no records (a header line only)")
    return out
