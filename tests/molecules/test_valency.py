"""GDSS's decoding: validity without correction, the charge rule, valency correction, the connected flag."""
import torch

from morphogen.molecules import QM9_ATOMS, decode_molecule_from_smiles, decode_molecules, featurize_smiles


def _graph(n, atoms, bonds):
    """x (1, n, 4) one-hot of ``atoms`` (type indices) and adj (1, n, n) from (i, j, order)."""
    x = torch.zeros(1, n, 4)
    x[0, torch.arange(len(atoms)), torch.tensor(atoms)] = 1
    a = torch.zeros(1, n, n)
    for i, j, o in bonds:
        a[0, i, j] = a[0, j, i] = o
    return x, a


def test_decoding_valid_and_invalid_molecules():
    m = featurize_smiles(["CC=O", "C#N"], QM9_ATOMS, max_atoms=4)
    dec = decode_molecules(m.one_hot(), m.bonds.float(), QM9_ATOMS, m.mask)
    assert [d.valid_without_correction for d in dec] == [True, True]
    assert [d.smiles for d in dec] == ["CC=O", "C#N"] and all(d.connected for d in dec)
    # carbon with 5 bonds: invalid as generated, corrected by lowering its highest-order bond
    x, a = _graph(4, [0, 0, 0, 0], [(0, 1, 3), (0, 2, 1), (0, 3, 1)])
    d = decode_molecules(x, a, QM9_ATOMS)[0]
    assert not d.valid_without_correction and d.smiles == "C=C(C)C" and not d.connected
    # the raw line written to samples.smi evaluates the same way
    again = decode_molecule_from_smiles(d.raw_smiles)
    assert not again.valid_without_correction and again.smiles == d.smiles and not again.connected


def test_ammonium_from_four_bonds_is_valid_cation():
    x, a = _graph(5, [1, 0, 0, 0, 0], [(0, 1, 1), (0, 2, 1), (0, 3, 1), (0, 4, 1)])
    d = decode_molecules(x, a, QM9_ATOMS)[0]
    assert d.valid_without_correction and d.smiles == "C[N+](C)(C)C" and d.connected


def test_connected_is_valid_and_one_fragment():
    # two fragments, both valid: valid without correction, not connected; the largest fragment is kept
    x, a = _graph(5, [0, 0, 2, 0, 0], [(0, 1, 1), (1, 2, 1), (3, 4, 1)])
    d = decode_molecules(x, a, QM9_ATOMS)[0]
    assert d.valid_without_correction and not d.connected and d.smiles == "CCO"
    again = decode_molecule_from_smiles(d.raw_smiles)
    assert (again.valid_without_correction, again.connected, again.smiles) == (True, False, "CCO")
    # one fragment but over-valent: not connected either (connected needs valid without correction)
    assert not decode_molecule_from_smiles("C(C)(C)(C)(C)C").connected
    # nothing generated
    empty = decode_molecules(torch.zeros(1, 3, 4), torch.zeros(1, 3, 3), QM9_ATOMS)[0]
    assert (empty.raw_smiles, empty.valid_without_correction, empty.smiles, empty.connected) == ("", False, "", False)
    assert decode_molecule_from_smiles("").connected is False
