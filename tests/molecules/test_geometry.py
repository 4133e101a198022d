"""SMILES bonds mapped onto the atom order of a geometry (QM9's xyz order differs from the SMILES for 418 of its
molecules)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")

from morphogen.molecules.errors import MoleculeDataError  # noqa: E402
from morphogen.molecules.geometry import match_geometry  # noqa: E402

# HC#C-C#N laid out on a line in the xyz order of QM9's gdb 24: C C C H N
LINE = (("C", "C", "C", "H", "N"),
        np.array([[0.0, 0, 0], [1.2, 0, 0], [-1.38, 0, 0], [-2.44, 0, 0], [2.36, 0, 0]]))


def test_reordered_atoms_get_the_smiles_bonds():
    g = match_geometry("C#CC#N", *LINE, name="gdb 24")
    assert g.elements == LINE[0]
    pairs = {tuple(b): o for b, o in zip(g.bonds.tolist(), g.orders.tolist())}
    assert pairs == {(0, 1): 1, (0, 2): 3, (2, 3): 1, (1, 4): 3}  # C0-C1 single, C#C to C2, C2-H, C1#N
    assert [a.GetSymbol() for a in g.mol.GetAtoms()] == list(LINE[0])
    assert np.allclose(g.mol.GetConformer().GetPositions(), LINE[1])


def test_aromatic_rings_are_kekulized_and_charges_kept():
    from rdkit import Chem
    from rdkit.Chem import AllChem

    mol = Chem.AddHs(Chem.MolFromSmiles("c1ccoc1"))
    AllChem.EmbedMolecule(mol, randomSeed=0)
    pos = mol.GetConformer().GetPositions()
    perm = np.random.default_rng(0).permutation(mol.GetNumAtoms())  # any atom order
    els = [mol.GetAtomWithIdx(int(i)).GetSymbol() for i in perm]
    g = match_geometry("c1ccoc1", els, pos[perm], name="furan")
    assert sorted(g.orders.tolist()) == [1] * 7 + [2] * 2  # 4 C-H, 3 ring singles, 2 ring doubles
    assert Chem.MolToSmiles(Chem.RemoveHs(g.mol)) == Chem.MolToSmiles(Chem.MolFromSmiles("c1ccoc1"))
    zw = Chem.AddHs(Chem.MolFromSmiles("C[NH3+]"))
    AllChem.EmbedMolecule(zw, randomSeed=0)
    e = [a.GetSymbol() for a in zw.GetAtoms()]
    assert match_geometry("C[NH3+]", e, zw.GetConformer().GetPositions(), "methylammonium").charges.sum() == 1


def test_mismatches_are_errors_naming_the_molecule():
    with pytest.raises(MoleculeDataError, match="gdb 24.*not those of"):
        match_geometry("CC#N", *LINE, name="gdb 24")
    stretched = LINE[1].copy()
    stretched[4, 0] = 6.0  # the C#N bond pulled apart
    with pytest.raises(MoleculeDataError, match="gdb 24.*does not contain the graph"):
        match_geometry("C#CC#N", LINE[0], stretched, name="gdb 24")
    with pytest.raises(MoleculeDataError, match="x.*does not parse"):
        match_geometry("C1CC", *LINE, name="x")


def test_real_qm9_geometries_including_reordered_and_strained_ones():
    from morphogen.molecules.qm9 import read_qm9  # qm9pack's CSVs, found without importing the package

    recs = {r.index + 1: r for r in read_qm9(limit=400, geometries=True)}
    for gdb in (24, 105, 316, 400):  # 24 reordered; 105 and 316 bicyclo[1.1.1] with a bridgehead contact
        r = recs[gdb]
        g = match_geometry(r.smiles, r.geometry.elements, r.geometry.positions, f"gdb {gdb}")
        assert g.num_atoms == r.geometry.num_atoms and len(g.bonds) == g.mol.GetNumBonds()
