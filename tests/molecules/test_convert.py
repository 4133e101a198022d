"""SMILES -> graphs -> dense tensors and back: known molecules, padding, errors naming the record."""
import pytest
import torch

from morphogen.molecules import (
    QM9_ATOMS, MoleculeDataError, decode_atoms, featurize_smiles, kekulized_graph, quantize_bonds, smiles_to_nx,
)


def test_benzene_is_kekulized_with_bond_orders():
    g = kekulized_graph("c1ccccc1", QM9_ATOMS)
    assert g.num_atoms == 6 and g.types == [0] * 6
    assert sorted(o for _, _, o in g.bonds) == [1, 1, 1, 2, 2, 2]
    m = featurize_smiles(["c1ccccc1"], QM9_ATOMS)
    a = m.bonds[0]
    assert m.types.shape == (1, 6) and a.dtype == torch.uint8
    assert sorted(a[a > 0].tolist()) == [1] * 6 + [2] * 6  # 3 single + 3 double bonds, both directions
    assert torch.equal(a, a.T) and a.diagonal().sum() == 0


def test_padding_mask_and_one_hot():
    m = featurize_smiles(["CCO", "C"], QM9_ATOMS, max_atoms=9)
    assert m.types.shape == (2, 9) and m.mask.sum(1).tolist() == [3, 1]
    assert m.types[0, :3].tolist() == [0, 0, 2] and (m.types[0, 3:] == -1).all()
    x = m.one_hot()
    assert x.shape == (2, 9, 4) and x[1, 1:].abs().sum() == 0 and x[0, 2, QM9_ATOMS.index("O")] == 1
    assert m.bonds[1].sum() == 0 and m.index.tolist() == [0, 1] and m.smiles == ["CCO", "C"]
    sub = m.subset([1])
    assert len(sub) == 1 and sub.smiles == ["C"] and sub.index.tolist() == [1]


def test_errors_name_the_record_and_skip_reports():
    with pytest.raises(MoleculeDataError, match="element S"):
        featurize_smiles(["CCS"], QM9_ATOMS)
    with pytest.raises(MoleculeDataError, match=r"<record 1>: unparsable SMILES"):
        featurize_smiles(["CC", "C1CC("], QM9_ATOMS)
    with pytest.raises(MoleculeDataError, match=r"here:7: 'CCCC' has 4 heavy atoms, more than max_atoms=3"):
        featurize_smiles([("here:7", "CCCC")], QM9_ATOMS, max_atoms=3)
    m = featurize_smiles(["CC", "C(C)(C)(C)(C)C", "O"], QM9_ATOMS, skip_invalid=True)
    assert m.smiles == ["CC", "O"] and m.index.tolist() == [0, 2]
    assert len(m.skipped) == 1 and m.skipped[0].startswith("<record 1>: over-valent atom")


def test_gdss_thresholds():
    x = torch.tensor([[[0.9, 0.1], [0.2, 0.3], [0.6, 0.7]]])
    assert decode_atoms(x).tolist() == [[0, -1, 0]]  # no entry > 0.5: no atom; two: the first
    adj = torch.tensor([0.49, 0.5, 1.49, 1.5, 2.49, 2.5, 7.0])
    assert quantize_bonds(adj).tolist() == [0, 1, 1, 2, 2, 3, 3]


def test_smiles_to_nx_labels():
    (G,) = smiles_to_nx(["C=CO"])
    assert sorted(d["label"] for _, d in G.nodes(data=True)) == ["C", "C", "O"]
    assert sorted(d["label"] for *_, d in G.edges(data=True)) == [1, 2]
    with pytest.raises(MoleculeDataError, match="SMILES 1"):
        smiles_to_nx(["C", "C1CC("])
