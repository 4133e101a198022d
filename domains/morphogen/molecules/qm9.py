"""QM9 (Ramakrishnan et al. 2014): 133,885 small organic molecules of up to 9 heavy atoms (C, N, O, F), with their
B3LYP/6-31G(2df,p) equilibrium geometries, read from the ``qm9pack`` package or from a standard QM9 CSV.

``qm9pack`` ships 130,831 of the molecules (those that passed QM9's consistency check) in gdb order, in three CSVs
``qm9pack/data/qm9_part{1,2,3}.csv``. The columns read here:

* ``Index``: the gdb number (1..133,885); the molecule's row id is ``Index - 1``;
* ``SMILES``: the GDB SMILES (hydrogens implicit);
* ``N_atoms``: the number of atoms, hydrogens included;
* ``Elements``: the element of every atom, a Python-style list ``['C','H','H','H','H']``;
* ``XYZ_Ang``: the Cartesian coordinates of every atom in Angstrom, in the order of ``Elements``, written as a
  nested list ``[[x, y, z], ...]`` (numbers of the original xyz files, some with a bare trailing dot: ``0.``).
  They are the positions of QM9's ``dsgdb9nsd_NNNNNN.xyz`` files (not centred; no particular orientation).

In those files the heavy atoms come first and hydrogens after; the heavy atoms are in the atom order of the SMILES
for all but 418 molecules (e.g. gdb 24, ``C#CC#N``, lists C C C H N; gdb 486, ``N#CC#CC#N``, lists C C C C N N), so
matching geometry atoms to the nodes of a molecule's graph needs a matching step, not the SMILES order.

A standard QM9 CSV (e.g. MoleculeNet's ``qm9.csv``) is read from its ``SMILES1`` or ``smiles`` column; an
``Index`` / ``gdb_idx`` / ``mol_id`` column gives the gdb number, else the row order does. Geometries are only
available where the file has ``Elements`` and ``XYZ_Ang`` columns.
"""
from __future__ import annotations

import csv
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from morphogen.errors import NotFoundError
from morphogen.molecules.convert import featurize_smiles
from morphogen.molecules.datasets import MoleculeSet
from morphogen.molecules.errors import MoleculeDataError

#: QM9's heavy atoms, GDSS's column order of the one-hot features, and the largest heavy-atom count
QM9_ATOMS: tuple[str, ...] = ("C", "N", "O", "F")
QM9_MAX_ATOMS = 9


@dataclass
class Geometry:
    """The 3-D structure of one molecule, hydrogens included, in the atom order of its QM9 xyz file.

    Attributes:
        elements: (n,) element symbols.
        positions: (n, 3) float64 Cartesian coordinates in Angstrom.
    """

    elements: tuple[str, ...]
    positions: np.ndarray

    @property
    def num_atoms(self) -> int:
        return len(self.elements)

    @property
    def heavy(self) -> np.ndarray:
        """(n,) bool, True for the atoms that are not hydrogen."""
        return np.asarray([e != "H" for e in self.elements], dtype=bool)


@dataclass
class QM9Record:
    """One row of QM9: ``where`` is ``"path:line"``, ``index`` the row id (gdb number - 1), ``geometry`` None unless
    asked for."""

    where: str
    smiles: str
    index: int
    geometry: Geometry | None = None


def qm9pack_files() -> list[Path]:
    """The CSV files of the installed ``qm9pack`` (found without importing it: its ``__init__`` needs setuptools)."""
    spec = importlib.util.find_spec("qm9pack")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("the 'qm9pack' package is not installed (pip install qm9pack, or pass a QM9 CSV path)")
    root = Path(list(spec.submodule_search_locations)[0]) / "data"
    files = [root / f"qm9_part{i}.csv" for i in (1, 2, 3)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise NotFoundError(f"qm9pack is installed but lacks {missing}")
    return files


def _parse_elements(text: str, where: str) -> tuple[str, ...]:
    body = text.strip()
    if not (body.startswith("[") and body.endswith("]")):
        raise MoleculeDataError(where, f"Elements is not a list: '{text[:60]}'")
    out = tuple(e.strip().strip("'\"") for e in body[1:-1].split(","))
    if not out or not all(e.isalpha() for e in out):
        raise MoleculeDataError(where, f"cannot read the element symbols of '{text[:60]}'")
    return out


def _parse_positions(text: str, num_atoms: int, where: str) -> np.ndarray:
    body = text.strip()
    if not (body.startswith("[[") and body.endswith("]]")):
        raise MoleculeDataError(where, f"XYZ_Ang is not a list of [x, y, z]: '{text[:60]}'")
    try:
        rows = [[float(v) for v in r.split(",")] for r in body[2:-2].split("],[")]
    except ValueError as err:
        raise MoleculeDataError(where, f"XYZ_Ang holds a value that is not a number ({err})") from None
    if len(rows) != num_atoms or any(len(r) != 3 for r in rows):
        raise MoleculeDataError(where, f"XYZ_Ang has {len(rows)} rows of {sorted({len(r) for r in rows})} numbers, "
                                       f"expected {num_atoms} rows of 3")
    pos = np.asarray(rows, dtype=np.float64)
    if not np.isfinite(pos).all():
        raise MoleculeDataError(where, "XYZ_Ang holds a non-finite coordinate")
    return pos


def read_qm9(path: str | Path | None = None, limit: int | None = None, geometries: bool = False,
             gdb: "set[int] | None" = None) -> list[QM9Record]:
    """The rows of QM9 (qm9pack when ``path`` is None, else a QM9 CSV), the first ``limit`` if given.
    ``geometries=True`` also reads every molecule's :class:`Geometry` (an error for a file without them).
    ``gdb``: keep only the molecules of these gdb numbers (the others are not parsed: reading a few geometries
    costs a fraction of reading all)."""
    files = qm9pack_files() if path is None else [Path(path)]
    out: list[QM9Record] = []
    for f in files:
        if not f.is_file():
            raise NotFoundError(f"QM9 file not found: {f}")
        with open(f, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise MoleculeDataError(f"{f}:1", "empty file (no header)") from None
            lower = [h.lower() for h in header]
            scol = next((lower.index(c) for c in ("smiles1", "smiles") if c in lower), None)
            if scol is None:
                raise MoleculeDataError(f"{f}:1", f"no SMILES column (SMILES1 or smiles) in {header}")
            icol = next((lower.index(c) for c in ("index", "gdb_idx", "mol_id") if c in lower), None)
            ecol, xcol = (lower.index(c) if c in lower else None for c in ("elements", "xyz_ang"))
            ncol = lower.index("n_atoms") if "n_atoms" in lower else None
            if geometries and (ecol is None or xcol is None):
                raise MoleculeDataError(f"{f}:1", f"geometries asked for, but no Elements and XYZ_Ang columns in "
                                                  f"{header}")
            for row in reader:
                if limit is not None and len(out) >= limit:
                    return out
                where = f"{f}:{reader.line_num}"
                if len(row) < len(header):
                    raise MoleculeDataError(where, f"row has {len(row)} fields, fewer than the header's {len(header)}")
                if icol is None:
                    number = len(out) + 1 if gdb is None else reader.line_num - 1
                else:
                    raw = row[icol].strip()
                    digits = "".join(ch for ch in raw if ch.isdigit())
                    if not digits:
                        raise MoleculeDataError(where, f"cannot read a gdb number from '{raw}'")
                    number = int(digits)
                if gdb is not None and number not in gdb:
                    continue
                geom = None
                if geometries:
                    elements = _parse_elements(row[ecol], where)
                    if ncol is not None and row[ncol].strip() != str(len(elements)):
                        raise MoleculeDataError(where, f"N_atoms is {row[ncol].strip()} but Elements lists "
                                                       f"{len(elements)} atoms")
                    geom = Geometry(elements, _parse_positions(row[xcol], len(elements), where))
                out.append(QM9Record(where, row[scol].strip(), number - 1, geom))
    return out


def load_qm9(path: str | Path | None = None, skip_invalid: bool = False, limit: int | None = None,
             geometries: bool = False) -> MoleculeSet:
    """QM9 with GDSS's features (atoms C N O F, N = 9, bond orders); ``path=None`` reads qm9pack. With
    ``geometries=True`` the set's ``geometries`` hold every molecule's :class:`Geometry` (all atoms, Angstrom)."""
    recs = read_qm9(path, limit, geometries)
    mols = featurize_smiles([(r.where, r.smiles) for r in recs], QM9_ATOMS, QM9_MAX_ATOMS, skip_invalid)
    kept = mols.index.tolist()
    geoms = [recs[i].geometry for i in kept] if geometries else None
    ids = torch.tensor([recs[i].index for i in kept], dtype=torch.long)
    return MoleculeSet(mols, ids, "qm9" if path is None else str(path), geoms)
