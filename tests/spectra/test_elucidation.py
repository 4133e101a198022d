"""Assembling sampled atoms and bonds into molecules, and ranking samples by agreement."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rdkit")

from morphogen.spectra.elucidation import assemble, canonical, formula_atoms, rank  # noqa: E402
from morphogen.spectra.models.egnn import pair_index  # noqa: E402

N = 12  # padded size


def _sample(elements: list[int], bonds: dict[tuple[int, int], int]):
    atoms = np.zeros(N, dtype=np.int64)
    atoms[: len(elements)] = elements
    i, j = (t.numpy() for t in pair_index(N))
    b = np.array([bonds.get((int(a), int(c)), 0) for a, c in zip(i, j)])
    return atoms, b, np.random.default_rng(0).normal(size=(N, 3))


# ethanol with hydrogens: C0 C1 O2 H3..H8 (classes H=0, C=1, N=2, O=3, F=4)
ETHANOL = ([1, 1, 3, 0, 0, 0, 0, 0, 0],
           {(0, 1): 1, (1, 2): 1, (0, 3): 1, (0, 4): 1, (0, 5): 1, (1, 6): 1, (1, 7): 1, (2, 8): 1})


def test_assemble_ethanol_and_refuse_impossible_valence():
    mol = assemble(*_sample(*ETHANOL), n=9)
    assert canonical(mol) == "CCO" and mol.GetNumConformers() == 1
    els, bonds = ETHANOL
    bad = dict(bonds)
    bad[(0, 2)] = 2  # a fifth bond on carbon 0
    assert assemble(*_sample(els, bad), n=9) is None
    # pairs beyond n (padding) are ignored
    extra = dict(bonds)
    extra[(9, 10)] = 3
    assert canonical(assemble(*_sample(els, extra), n=9)) == "CCO"


def test_rank_by_agreement_ties_by_first_appearance():
    from rdkit import Chem

    m = {s: Chem.AddHs(Chem.MolFromSmiles(s)) for s in ("CCO", "COC", "CC=O")}
    c = rank([m["COC"], None, m["CCO"], m["CCO"], m["CC=O"], m["COC"], m["CCO"]], k=7)
    assert [(x.smiles, x.rank, x.count) for x in c] == [("CCO", 1, 3), ("COC", 2, 2), ("CC=O", 3, 1)]
    assert c[0].score == pytest.approx(3 / 7)


def test_formula_atoms():
    assert formula_atoms([6, 2, 0, 1, 0]) == [1, 1, 3, 0, 0, 0, 0, 0, 0]  # C2H6O: heavy atoms, then H


@pytest.mark.parametrize("smiles", ["C[N+](=O)[O-]", "O=[N+]([O-])c1ccccc1", "C[N+](C)(C)[O-]", "OC(=O)CN"])
def test_charged_groups_come_back_from_kekule_bonds(smiles):
    """The model's fields carry no charges: nitro groups and N-oxides are rebuilt from the valences."""
    from rdkit import Chem

    from morphogen.spectra.data.molecules import featurize
    from morphogen.spectra.data.nmr import molecule_from_rdkit

    m = molecule_from_rdkit(Chem.MolFromSmiles(smiles), 1, smiles, "test")
    f = featurize(m)
    mol = assemble(f["atoms"].numpy(), f["bonds"].numpy(), f["pos"].numpy(), m.num_atoms)
    assert canonical(mol) == Chem.MolToSmiles(Chem.MolFromSmiles(smiles))


def test_rank_puts_plausible_first_then_shift_error():
    from rdkit import Chem

    mols = {s: Chem.AddHs(Chem.MolFromSmiles(s)) for s in ("CCO", "COC", "C[CH2]", "CC.O")}
    samples = [mols["C[CH2]"]] * 3 + [mols["CC.O"]] * 2 + [mols["COC"]] * 2 + [mols["CCO"]]
    by_score = rank(samples, k=8)
    assert [(c.smiles, c.plausible) for c in by_score] == [("COC", True), ("CCO", True), ("[CH2]C", False),
                                                          ("CC.O", False)]
    errs = {"CCO": 1.5, "COC": 4.0, "[CH2]C": 0.1, "CC.O": 0.2}
    by_error = rank(samples, k=8, errors=lambda smis: [errs[s] for s in smis])
    assert [c.smiles for c in by_error] == ["CCO", "COC", "[CH2]C", "CC.O"]
    assert by_error[0].shift_error == 1.5 and by_error[0].count == 1 and by_error[0].score == pytest.approx(1 / 8)


def test_shift_error():
    from morphogen.spectra.elucidation import H_WEIGHT, MISSING_C13, shift_error

    assert shift_error(([10.0, 20.0], [1.0]), [11.0, 22.0], [1.5]) == pytest.approx(1.5 + H_WEIGHT * 0.5)
    assert shift_error(([10.0, 20.0], [1.0]), [10.0, 20.0, 30.0], None) > MISSING_C13
    assert shift_error(None, [10.0], None) == float("inf")
