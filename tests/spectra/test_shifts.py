"""The NMR shift predictor (morphogen.spectra.shifts): graph features on molecules with known answers, the
sorted-matching loss against hand-computed values, a short training that must learn a made-up shift rule, a save /
load round trip, and the distance used to rank candidates."""
from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("rdkit")

from morphogen.spectra import shifts as S  # noqa: E402
from morphogen.spectra.errors import SpectraDataError  # noqa: E402


def test_graph_features():
    g = S.graph_of_smiles("CCO")
    assert g.x.shape == (3, S.ATOM_FEATURES) and g.edges.shape == (4, 2) and g.edge_attr.shape == (4, S.BOND_FEATURES)
    assert g.carbon.tolist() == [True, True, False] and g.hydrogens.tolist() == [3, 2, 1]
    b = S.graph_of_smiles("c1ccccc1")
    assert b.hydrogens.tolist() == [1] * 6 and b.edge_attr[:, 3].all()  # aromatic bonds
    # explicit hydrogens fold into their atom, stereo-defining ones too
    assert S.graph_of_smiles("[H]/N=C(\\C)C").hydrogens.tolist() == [1, 0, 3, 3]
    with pytest.raises(SpectraDataError, match="element S"):
        S.graph_of_smiles("CCS")
    with pytest.raises(SpectraDataError, match="cannot parse"):
        S.graph_of_smiles("C1CC")


def test_sorted_lists_and_loss():
    graphs = [S.graph_of_smiles("CCO"), S.graph_of_smiles("CC(C)=O")]
    b = S.batch_graphs(graphs)
    pred = torch.tensor([[10.0, 1.0], [60.0, 3.5], [0.0, 2.0],  # CCO: C, C, O
                         [30.0, 2.5], [200.0, 0.0], [31.0, 2.5], [0.0, 0.0]])  # acetone: C, C=, C, O
    c13, cm, h1, hm = S.predicted_lists(pred, b, ["H", "atom"])
    assert c13[0, :2].tolist() == [10.0, 60.0] and cm[0].tolist() == [True, True, False]
    assert c13[1].tolist() == [30.0, 31.0, 200.0]
    # ethanol per hydrogen: 3 x 1.0, 2 x 3.5, 1 x 2.0; acetone per H-bearing atom: the two methyls
    assert h1[0, :6].tolist() == [1.0, 1.0, 1.0, 2.0, 3.5, 3.5] and int(hm[0].sum()) == 6
    assert h1[1, :2].tolist() == [2.5, 2.5] and int(hm[1].sum()) == 2
    target = torch.tensor([[58.0, 18.0, 1e4], [206.0, 30.0, 30.0]]).sort(1).values
    tmask = torch.tensor([[True, True, False], [True, True, True]])
    err, n = S.sorted_l1(c13, cm, target, tmask, torch.tensor([True, True]))
    assert n == 5 and float(err) == pytest.approx((8 + 2) + (0 + 1 + 6))
    err, n = S.sorted_l1(c13, cm, target, tmask, torch.tensor([False, True]))
    assert n == 3 and float(err) == pytest.approx(7.0)
    with pytest.raises(ValueError, match="different lengths"):
        S.sorted_l1(c13, cm, target[:, :1], tmask[:, :1], torch.tensor([True, True]))


def _made_up(smiles):
    """A shift rule the network must learn: 13C = 20 + 25 x (heteroatom neighbours) + 40 x (double bonds); the
    hydrogens of an atom at 1 + 2 x (heteroatom neighbours)."""
    from rdkit import Chem

    m = Chem.MolFromSmiles(smiles)
    c, h = [], []
    for a in m.GetAtoms():
        het = sum(nb.GetSymbol() != "C" for nb in a.GetNeighbors())
        dbl = sum(b.GetBondTypeAsDouble() == 2 for b in a.GetBonds())
        if a.GetSymbol() == "C":
            c.append(20 + 25 * het + 40 * dbl)
        if a.GetTotalNumHs():
            h.append(1 + 2 * het)
    return sorted(c), sorted(h)


def test_training_learns_a_rule(tmp_path):
    pool = ["CCO", "CC(C)O", "CCN", "CC=O", "CC(=O)C", "OCCO", "CCCF", "NCC=O", "CC(C)(C)O", "C=CC", "CCOC",
            "CC(N)C", "OC=CC", "CCCC", "CC(F)C", "NC(C)=O", "CCC=O", "COC", "CNC", "CC(O)CO"]
    recs = []
    for s in pool:
        c, h = _made_up(s)
        recs.append(S.ShiftRecord(S.graph_of_smiles(s), c, h, "atom", s, s))
    torch.manual_seed(0)
    before = S.evaluate_shifts(S.ShiftNet(32, 3), recs)[0]
    pred = S.train_shift_predictor(recs, recs, epochs=150, batch_size=5, lr=3e-3, width=32, layers=3,
                                   log=lambda *_: None)
    c_err, h_err = S.evaluate_shifts(pred.net, recs)
    assert c_err < 3.0 < before and h_err < 0.5
    # save / load: the same predictions, and a file of another kind is refused
    pred.save(tmp_path / "shifts.safetensors")
    again = S.ShiftPredictor.load(tmp_path / "shifts.safetensors")
    assert again.predict(["CCO", "not a smiles"]) == [pred.predict(["CCO"])[0], None]
    c, h = again.predict(["CC(C)=O"])[0]
    assert len(c) == 3 and len(h) == 2 and c == sorted(c)
    from morphogen.train.checkpoint import save_model

    save_model(tmp_path / "other.safetensors", {"w": torch.zeros(1)}, {"format": "something else"})
    with pytest.raises(SpectraDataError, match="not a shift predictor"):
        S.ShiftPredictor.load(tmp_path / "other.safetensors")


def test_spectrum_distance():
    assert S.spectrum_distance([10, 20, 30], [12, 19, 30], missing=5) == pytest.approx(1.0)
    assert S.spectrum_distance([], [], missing=5) == 0.0
    assert S.spectrum_distance([10], [], missing=5) == 5.0
    # one entry too many: quantile matching plus the missing penalty
    d = S.spectrum_distance([10, 20, 30, 40], [10, 20, 30], missing=5)
    q = (np.arange(4) + 0.5) / 4
    want = np.abs(np.quantile([10, 20, 30, 40], q) - np.quantile([10, 20, 30], q)).mean() + 5
    assert d == pytest.approx(want)
