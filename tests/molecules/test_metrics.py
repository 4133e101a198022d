"""Molecule metrics on cases with known answers."""
import pytest

from morphogen.molecules import (
    MoleculeMetrics, connected_fraction, decode_molecule_from_smiles, novelty, nspdk_features, nspdk_mmd,
    nspdk_mmd_smiles, smiles_to_nx, uniqueness,
)


def test_nspdk_known_answers():
    v = nspdk_features(smiles_to_nx(["CCO"])[0])
    assert sum(x * x for x in v.values()) == pytest.approx(1.0)
    assert nspdk_mmd(smiles_to_nx(["C"]), smiles_to_nx(["O"])) == pytest.approx(2.0)  # orthogonal unit vectors
    a, b = smiles_to_nx(["CCO", "c1ccccc1", "CC(=O)N"]), smiles_to_nx(["OCC", "c1ccccc1", "NC(C)=O"])
    assert nspdk_mmd(a, b) == pytest.approx(0.0, abs=1e-12)  # same molecules, other atom orders
    assert nspdk_mmd(a, smiles_to_nx(["CCCCCC", "FC(F)F", "C#N"])) > 0.5
    assert nspdk_mmd_smiles(["CCO", "c1ccccc1"], ["OCC", "c1ccccc1"]) == pytest.approx(0.0, abs=1e-12)


def test_uniqueness_novelty():
    assert uniqueness(["C", "C", "CC", "O"]) == 0.75
    assert novelty(["C", "C", "CC", "O"], {"C"}) == pytest.approx(2 / 3)


def test_molecule_metrics_accumulator():
    m = MoleculeMetrics(train_smiles={"CCO"}, test_smiles=["CCO", "CCN"], with_fcd=False)
    decoded = [decode_molecule_from_smiles(s) for s in ["CCO", "CCN", "CCN", "C(C)(C)(C)(C)C", "", "CC.O"]]
    m.update(decoded[:5])
    s = m.compute()
    assert s.num_samples == 5 and s.validity_without_correction == pytest.approx(3 / 5)
    assert s.validity == pytest.approx(4 / 5) and s.uniqueness == pytest.approx(3 / 4)
    assert s.novelty == pytest.approx(2 / 3) and s.nspdk_mmd is not None
    assert connected_fraction(decoded) == pytest.approx(3 / 6)  # CC.O: valid, two fragments
    m.reset()
    assert m.compute().num_samples == 0
