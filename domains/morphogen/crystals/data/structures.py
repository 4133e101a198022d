"""One crystal as plain arrays, and the canonical form every reader and writer agrees on.

Canonical form (CDVAE's ``build_crystal``, used unchanged by DiffCSP and CrysBFN for Perov-5, Carbon-24, MP-20 and
MPTS-52): parse the CIF, optionally take the primitive cell (``primitive=False`` for all four benchmarks in the
CDVAE/DiffCSP data configurations), Niggli-reduce (``niggli=True`` for all four), then rebuild the lattice from its
six parameters with ``Lattice.from_parameters``. The last step fixes the cell's orientation, so the record keeps
only what is invariant to rotations: lengths (a, b, c) in angstrom and angles (alpha, beta, gamma) in degrees.
Fractional coordinates are wrapped into [0, 1) (Niggli reduction returns values such as 1.0 or -1e-9).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class CrystalRecord:
    """A crystal of N atoms.

    Attributes:
        lattice: (6,) float64, a, b, c in angstrom and alpha, beta, gamma in degrees.
        frac_coords: (N, 3) float64 fractional coordinates in [0, 1).
        atomic_numbers: (N,) int64 atomic numbers Z (1..100).
        material_id: the source's identifier (e.g. ``mp-1234``), as a string.
        row: 0-based index of the record in its source file (data rows, header excluded).
        properties: the file's other numeric or text columns for this record (e.g. ``heat_ref``, ``energy_per_atom``).
    """

    lattice: np.ndarray
    frac_coords: np.ndarray
    atomic_numbers: np.ndarray
    material_id: str = ""
    row: int = -1
    properties: dict = field(default_factory=dict)

    @property
    def num_atoms(self) -> int:
        return int(self.atomic_numbers.shape[0])

    @property
    def formula(self) -> str:
        """Pymatgen's formula with counts as in the cell, e.g. ``Sr1 Ti1 O3`` -> ``SrTiO3``."""
        from pymatgen.core import Composition, Element

        counts: dict[str, int] = {}
        for z in self.atomic_numbers.tolist():
            sym = Element.from_Z(int(z)).symbol
            counts[sym] = counts.get(sym, 0) + 1
        return Composition(counts).formula.replace(" ", "")


def wrap_unit(x: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """Fractional coordinates modulo 1 in [0, 1); values within ``tol`` of 1 become 0."""
    r = np.mod(x, 1.0)
    return np.where(r >= 1.0 - tol, 0.0, r)


def canonical_structure(structure, niggli: bool = True, primitive: bool = False):
    """The CDVAE canonical form of a pymatgen ``Structure`` (see the module docstring)."""
    from pymatgen.core import Lattice, Structure

    s = structure
    if primitive:
        s = s.get_primitive_structure()
    if niggli:
        s = s.get_reduced_structure()
    return Structure(
        lattice=Lattice.from_parameters(*s.lattice.parameters),
        species=s.species,
        coords=wrap_unit(s.frac_coords),
        coords_are_cartesian=False,
    )


def record_from_structure(structure, material_id: str = "", row: int = -1, properties: dict | None = None,
                          niggli: bool = True, primitive: bool = False) -> CrystalRecord:
    """A :class:`CrystalRecord` of the canonical form of ``structure``. Raises ValueError for disordered sites."""
    if not structure.is_ordered:
        raise ValueError("the structure has partially occupied (disordered) sites; only ordered crystals are supported")
    s = canonical_structure(structure, niggli=niggli, primitive=primitive)
    return CrystalRecord(
        lattice=np.asarray(s.lattice.parameters, dtype=np.float64),
        frac_coords=wrap_unit(np.asarray(s.frac_coords, dtype=np.float64)),
        atomic_numbers=np.asarray([site.specie.Z for site in s], dtype=np.int64),
        material_id=str(material_id),
        row=int(row),
        properties=dict(properties or {}),
    )


def record_to_structure(record: CrystalRecord):
    """A pymatgen ``Structure`` (lattice from the six parameters). Raises ValueError for an impossible cell."""
    from pymatgen.core import Lattice, Structure

    lat = np.asarray(record.lattice, dtype=np.float64)
    if not np.all(np.isfinite(lat)) or np.any(lat[:3] <= 0):
        raise ValueError(f"impossible lattice parameters {lat.tolist()}")
    lattice = Lattice.from_parameters(*lat.tolist())
    if not np.all(np.isfinite(lattice.matrix)) or lattice.volume <= 0 or not np.isfinite(lattice.volume):
        raise ValueError(f"lattice parameters {lat.tolist()} do not form a cell (angles violate the triangle rule)")
    return Structure(lattice, [int(z) for z in record.atomic_numbers], record.frac_coords, coords_are_cartesian=False)
