"""QM9 from qm9pack, with its B3LYP geometries (Angstrom), and the reader's errors on other CSVs."""
import numpy as np
import pytest

from morphogen.molecules import QM9_ATOMS, MoleculeDataError, load_qm9, read_qm9

HEADER = "XYZ_file,Index,SMILES,InChi,N_atoms,Stoichiometry,Elements,XYZ_Ang\n"


def test_qm9pack_rows_and_geometries():
    recs = read_qm9(limit=30, geometries=True)
    assert len(recs) == 30 and [r.index for r in recs[:3]] == [0, 1, 2]  # row id = gdb number - 1
    methane, water, isobutane = recs[0], recs[2], recs[20]
    assert methane.smiles == "C" and methane.geometry.elements == ("C", "H", "H", "H", "H")
    assert methane.geometry.positions.shape == (5, 3) and methane.geometry.positions.dtype == np.float64
    ch = np.linalg.norm(methane.geometry.positions[1:] - methane.geometry.positions[0], axis=1)
    assert np.allclose(ch, 1.092, atol=0.005)  # B3LYP C-H bond of methane, in Angstrom
    p = water.geometry.positions
    oh1, oh2 = p[1] - p[0], p[2] - p[0]
    angle = np.degrees(np.arccos(oh1 @ oh2 / np.linalg.norm(oh1) / np.linalg.norm(oh2)))
    assert water.smiles == "O" and np.allclose(np.linalg.norm([oh1, oh2], axis=1), 0.962, atol=0.005)
    assert 103 < angle < 105
    assert isobutane.smiles == "CC(C)C" and isobutane.geometry.num_atoms == 14  # C4H10
    assert isobutane.geometry.heavy.tolist() == [True] * 4 + [False] * 10
    # every geometry: positions for every atom, nearest neighbours at bonding distance
    for r in recs:
        g = r.geometry
        d = np.linalg.norm(g.positions[:, None] - g.positions[None], axis=-1) + np.eye(g.num_atoms) * 99
        if g.num_atoms > 1:
            assert 0.9 < d.min() and d.min(1).max() < 1.6, r.where


def test_load_qm9_keeps_geometries_with_their_molecules():
    ms = load_qm9(limit=40, geometries=True)
    assert ms.source == "qm9" and ms.molecules.atoms == QM9_ATOMS and ms.molecules.max_atoms == 9
    assert len(ms.geometries) == len(ms.molecules) == 40
    assert [int(g.heavy.sum()) for g in ms.geometries] == ms.molecules.mask.sum(1).tolist()
    assert load_qm9(limit=5).geometries is None


def test_standard_qm9_csv_without_geometries(tmp_path):
    p = tmp_path / "qm9.csv"
    p.write_text("mol_id,smiles,mu\ngdb_1,C,0.0\ngdb_3,O,1.8\n")
    recs = read_qm9(p)
    assert [(r.smiles, r.index, r.geometry) for r in recs] == [("C", 0, None), ("O", 2, None)]
    with pytest.raises(MoleculeDataError, match=r"qm9.csv:1: geometries asked for, but no Elements and XYZ_Ang"):
        read_qm9(p, geometries=True)


def test_bad_geometry_names_file_and_line(tmp_path):
    p = tmp_path / "part.csv"
    good = '"a.xyz",3,"O","x",3,"[2,0,0,1,0]","[\'O\',\'H\',\'H\']","[[0.,0.,0.],[0.96,0.,0.],[-0.2,0.93,1.]]"\n'
    short = '"b.xyz",4,"N","x",4,"[3,0,1,0,0]","[\'N\',\'H\',\'H\',\'H\']","[[0.,0.,0.],[1.,0.,0.]]"\n'
    p.write_text(HEADER + good + short)
    with pytest.raises(MoleculeDataError, match=r"part.csv:3: XYZ_Ang has 2 rows .* expected 4 rows of 3"):
        read_qm9(p, geometries=True)
    (rec,) = read_qm9(p, limit=1, geometries=True)
    assert rec.geometry.elements == ("O", "H", "H") and rec.geometry.positions[2].tolist() == [-0.2, 0.93, 1.0]
    p.write_text(HEADER + good.replace('",3,"[2', '",4,"[2'))
    with pytest.raises(MoleculeDataError, match=r"part.csv:2: N_atoms is 4 but Elements lists 3 atoms"):
        read_qm9(p, geometries=True)
