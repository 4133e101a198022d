"""A molecule's graph in the atom order of its 3-D geometry: the bonds (and their orders) of a SMILES mapped onto
the atoms of an xyz geometry, so that coordinates, elements and bonds describe the same atoms.

QM9's xyz files list heavy atoms first and hydrogens after, but for 418 molecules not in the order of the SMILES
(gdb 24, ``C#CC#N``, lists C C C H N). Matching by element alone is ambiguous, so the atoms are matched by graph:
the geometry's connectivity (covalent radii, RDKit's ``DetermineConnectivity``) must contain the SMILES graph with
hydrogens, and that subgraph match (elements and bonds, bond orders ignored) carries every bond order and formal
charge over. The geometry may have extra contacts (strained bicycles such as bicyclo[1.1.1]pentane, gdb 105, have
a bridgehead distance within covalent radii; 79 of the first 3,000 QM9 molecules); a geometry that lacks a bond of
its SMILES (a stretched bond, another tautomer) is an error naming the molecule, not a silent guess.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from morphogen.molecules.errors import MoleculeDataError


@dataclass
class MoleculeGeometry:
    """Atoms in the geometry's order: elements (n,), positions (n, 3) in Angstrom, formal charges (n,), bonds
    (m, 2) atom index pairs (i < j) with their orders (m,) as RDKit bond types (1, 2, 3, or 12 for aromatic), and
    the RDKit molecule with that atom order and a conformer."""

    elements: tuple[str, ...]
    positions: np.ndarray
    charges: np.ndarray
    bonds: np.ndarray
    orders: np.ndarray
    mol: object

    @property
    def num_atoms(self) -> int:
        return len(self.elements)


def _bond_code(bond) -> int:
    from rdkit import Chem

    t = bond.GetBondType()
    return {Chem.BondType.SINGLE: 1, Chem.BondType.DOUBLE: 2, Chem.BondType.TRIPLE: 3,
            Chem.BondType.AROMATIC: 12}.get(t, 0)


def match_geometry(smiles: str, elements, positions, name: str = "molecule", kekulize: bool = True
                   ) -> MoleculeGeometry:
    """Map ``smiles`` (hydrogens implicit or explicit) onto a geometry (elements (n,), positions (n, 3) Angstrom).

    ``kekulize``: write aromatic rings as alternating single and double bonds (RDKit's Kekulé form), so every bond
    has order 1, 2 or 3. Raises :class:`MoleculeDataError` naming ``name`` when the SMILES does not parse, the atom
    counts or elements differ, or the geometry's connectivity is not the SMILES graph."""
    from rdkit import Chem
    from rdkit.Chem import rdDetermineBonds

    ref = Chem.MolFromSmiles(smiles)
    if ref is None:
        raise MoleculeDataError(name, f"SMILES {smiles!r} does not parse")
    ref = Chem.AddHs(ref)
    if kekulize:
        Chem.Kekulize(ref, clearAromaticFlags=True)
    elements = tuple(str(e) for e in elements)
    pos = np.asarray(positions, dtype=np.float64)
    if pos.shape != (len(elements), 3):
        raise MoleculeDataError(name, f"{len(elements)} elements but positions of shape {pos.shape}")
    want = sorted(a.GetSymbol() for a in ref.GetAtoms())
    if sorted(elements) != want:
        raise MoleculeDataError(name, f"the geometry's atoms {''.join(sorted(elements))} are not those of "
                                f"{smiles!r} with hydrogens ({''.join(want)})")
    xyz = "\n".join([str(len(elements)), name] + [f"{e} {x:.6f} {y:.6f} {z:.6f}" for e, (x, y, z) in zip(elements, pos)])
    geo = Chem.MolFromXYZBlock(xyz)
    if geo is None:
        raise MoleculeDataError(name, f"RDKit cannot read the geometry")
    rdDetermineBonds.DetermineConnectivity(geo)
    # the SMILES graph with every bond a plain single bond: a pattern matched by connectivity and elements only
    pattern = Chem.RWMol(ref)
    for b in pattern.GetBonds():
        b.SetBondType(Chem.BondType.SINGLE)
        b.SetIsAromatic(False)
    for a in pattern.GetAtoms():
        a.SetIsAromatic(False)
        a.SetFormalCharge(0)
        a.SetNoImplicit(True)
        a.SetNumExplicitHs(0)
    params = Chem.SubstructMatchParameters()
    params.useChirality = False
    matches = geo.GetSubstructMatches(pattern.GetMol(), params)
    if not matches:
        raise MoleculeDataError(name, f"the geometry's connectivity ({geo.GetNumBonds()} bonds by covalent radii) "
                                f"does not contain the graph of {smiles!r} ({ref.GetNumBonds()} bonds)")
    m = matches[0]  # m[i] = geometry atom of SMILES atom i
    inv = np.empty(len(m), dtype=np.int64)
    inv[list(m)] = np.arange(len(m))
    # the SMILES molecule renumbered into the geometry's order, with the geometry as its conformer
    out = Chem.RenumberAtoms(ref, [int(k) for k in inv])
    conf = Chem.Conformer(out.GetNumAtoms())
    for i, p in enumerate(pos):
        conf.SetAtomPosition(i, p.tolist())
    out.RemoveAllConformers()
    out.AddConformer(conf, assignId=True)
    bonds, orders = [], []
    for b in out.GetBonds():
        i, j = sorted((b.GetBeginAtomIdx(), b.GetEndAtomIdx()))
        bonds.append((i, j))
        orders.append(_bond_code(b))
    order = np.lexsort((np.asarray([j for _, j in bonds]), np.asarray([i for i, _ in bonds]))) if bonds else []
    charges = np.asarray([a.GetFormalCharge() for a in out.GetAtoms()], dtype=np.int64)
    return MoleculeGeometry(elements, pos, charges, np.asarray(bonds, dtype=np.int64).reshape(-1, 2)[order],
                            np.asarray(orders, dtype=np.int64)[order], out)
