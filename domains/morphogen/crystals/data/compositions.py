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


def atoms_of_formula(formula: str) -> np.ndarray:
    """Atomic numbers (sorted) of a formula's cell, e.g. ``SrTiO3`` -> [8, 8, 8, 22, 38]. ValueError when the formula
    does not parse or has fractional counts."""
    from pymatgen.core import Composition

    try:
        comp = Composition(formula)
    except Exception as err:
        raise ValueError(f"formula {formula!r} does not parse ({err})") from None
    atoms: list[int] = []
    for el, amt in comp.items():
        if abs(amt - round(amt)) > 1e-6 or round(amt) < 1:
            raise ValueError(f"formula {formula!r}: {el} has a non-integer count {amt}; give the cell's atom counts")
        if not hasattr(el, "Z") or el.Z > 100:
            raise ValueError(f"formula {formula!r}: {el} is not an element with Z <= 100")
        atoms += [int(el.Z)] * int(round(amt))
    if not atoms:
        raise ValueError(f"formula {formula!r} has no atoms")
    return np.asarray(sorted(atoms), dtype=np.int64)


def read_compositions(path: str | os.PathLike, niggli: bool = True, primitive: bool = False) -> list[CompositionRecord]:
    """Read a composition list (see the module docstring). Errors name the file, the record and the reason."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"compositions file not found: {path}")
    out: list[CompositionRecord] = []
    use_cif = None
    for i, line, row in iter_csv_rows(path):
        if use_cif is None:
            use_cif = "cif" in row
            if not use_cif and "formula" not in row:
                raise ValueError(f"{path}: needs a 'formula' or a 'cif' column; columns are {list(row)}")
        mid = (row.get("material_id") or "").strip()
        try:
            if use_cif:
                s = canonical_structure(parse_cif(row["cif"]), niggli=niggli, primitive=primitive)
                if not s.is_ordered:
                    raise ValueError("the structure has partially occupied sites")
                z = np.asarray(sorted(site.specie.Z for site in s), dtype=np.int64)
                formula = s.composition.formula.replace(" ", "")
            else:
                formula = (row.get("formula") or "").strip()
                z = atoms_of_formula(formula)
        except ValueError as err:
            raise CifParseError(path, i, line, mid, str(err)) from None
        out.append(CompositionRecord(z, formula, mid, i))
    if not out:
        raise ValueError(f"{path}: no records")
    return out
