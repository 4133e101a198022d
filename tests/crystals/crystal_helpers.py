"""Hand-made structures and small CDVAE-format CSVs for the crystals tests."""
from __future__ import annotations

import csv
from pathlib import Path


def perovskite(a_el="Sr", b_el="Ti", x_el="O", a=3.9, x2=None):
    """Ideal cubic ABX3 (A corner, B body centre, X face centres); x2 replaces the last anion."""
    from pymatgen.core import Lattice, Structure

    xs = [x_el, x_el, x2 or x_el]
    return Structure(Lattice.cubic(a), [a_el, b_el, *xs],
                     [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])


def rocksalt(a=5.64):
    from pymatgen.core import Structure

    return Structure.from_spacegroup("Fm-3m", __import__("pymatgen.core", fromlist=["Lattice"]).Lattice.cubic(a),
                                     ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def write_cdvae_csv(path: Path, structures, ids=None, broken_at=None, broken_text="data_x\n_cell_length_a 3\n"):
    """A CDVAE-format CSV (unnamed index, material_id, cif, heat_ref); row ``broken_at`` gets a bad CIF."""
    from pymatgen.io.cif import CifWriter

    rows = [str(CifWriter(s)) for s in structures]
    if broken_at is not None:
        rows.insert(broken_at, broken_text)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["", "material_id", "cif", "heat_ref"])
        for i, cif in enumerate(rows):
            w.writerow([i, (ids or [f"m-{j}" for j in range(len(rows))])[i], cif, 0.5 * i])
    return path
