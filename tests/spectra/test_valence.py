"""The valence mask on bond logits: free valences of a hand-made molecule, the orders it forbids, and sampling with a
denoiser that wants triple bonds everywhere."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from morphogen.processes.joint import JointProcess
from morphogen.processes.masked import MaskedDiffusion
from morphogen.processes.zero_com import ZeroCoMGaussian
from morphogen.samplers.ancestral import Ancestral
from morphogen.schedules.gaussian import VPCosine
from morphogen.spectra.models.egnn import pair_index
from morphogen.spectra.valence import (FORBIDDEN, ValenceMaskedDenoiser, free_valence, mask_bond_logits,
                                       valence_table)

ELEMENTS = ("H", "C", "N", "O", "F")
MASK = 4  # the bonds field's mask token (4 classes)
# ethanol: C0 C1 O2 H3..H8 (H=0, C=1, O=3); bonds (0,3) and (1,2) still masked
ATOMS = torch.tensor([[1, 1, 3, 0, 0, 0, 0, 0, 0]])
BONDS = {(0, 1): 1, (0, 4): 1, (0, 5): 1, (1, 6): 1, (1, 7): 1, (2, 8): 1, (0, 3): MASK, (1, 2): MASK}


def _bonds(n: int, bonds: dict, fill: int = 0) -> torch.Tensor:
    i, j = pair_index(n)
    return torch.tensor([[bonds.get((int(a), int(b)), fill) for a, b in zip(i, j)]])


def _pair(n: int, a: int, b: int) -> int:
    i, j = pair_index(n)
    return int(((i == a) & (j == b)).nonzero()[0, 0])


def test_free_valence_of_a_partly_revealed_ethanol():
    table = valence_table(ELEMENTS)
    assert table.tolist() == [1, 4, 4, 2, 1, 4]  # the mask token takes the largest
    free = free_valence(ATOMS, _bonds(9, BONDS), table, MASK)
    assert free.tolist() == [[1, 1, 1, 1, 0, 0, 0, 0, 0]]


def test_mask_forbids_orders_past_either_atoms_free_valence():
    table = valence_table(ELEMENTS)
    logits = torch.zeros(1, 36, 4)
    out = mask_bond_logits(logits, ATOMS, _bonds(9, BONDS), table, MASK)
    for pair, allowed in [((0, 3), [0, 1]), ((1, 2), [0, 1]), ((3, 4), [0]), ((0, 2), [0, 1])]:
        row = out[0, _pair(9, *pair)]
        assert [k for k in range(4) if row[k] > FORBIDDEN / 2] == allowed, pair
    # two carbons with nothing revealed may take a triple bond; an unknown element is not constrained
    out = mask_bond_logits(logits[:, :1], torch.tensor([[1, 5]]), torch.tensor([[MASK]]), table, MASK)
    assert (out > FORBIDDEN / 2).all()
    with pytest.raises(ValueError, match="bond pairs"):
        free_valence(ATOMS, torch.zeros(1, 28, dtype=torch.long), table, MASK)
    with pytest.raises(ValueError, match="'Cl'"):
        valence_table(("H", "Cl"))


class _WantsTriples(nn.Module):
    """A stand-in denoiser: uniform atoms, bonds strongly triple, coordinates at zero."""

    prediction_kinds = {"atoms": "logits", "bonds": "logits", "pos": "x1"}

    def forward(self, state, condition=None):
        b, n = state["atoms"].value.shape
        p = state["bonds"].value.shape[1]
        bonds = torch.zeros(b, p, 4)
        bonds[..., 3] = 6.0
        return {"atoms": torch.zeros(b, n, 5), "bonds": bonds, "pos": torch.zeros(b, n, 3)}


def _over_valence(atoms: torch.Tensor, bonds: torch.Tensor) -> torch.Tensor:
    """(B,) bool: some atom carries more than its valence."""
    free = free_valence(atoms, bonds, valence_table(ELEMENTS), MASK)
    return (free < 0).any(dim=1)


def test_sampling_under_the_mask_keeps_valences():
    from morphogen.guidance.inpaint import Inpaint

    joint = JointProcess({"atoms": MaskedDiffusion(5), "bonds": MaskedDiffusion(4),
                          "pos": ZeroCoMGaussian(VPCosine(), loss_kind="x1")})
    b, n = 64, 8  # ethane C2H6
    atoms = torch.tensor([1, 1, 0, 0, 0, 0, 0, 0]).repeat(b, 1)
    shapes = {"atoms": (b, n), "bonds": (b, n * (n - 1) // 2), "pos": (b, n, 3)}
    fixed = Inpaint({"atoms": atoms}, mode="clean")
    over = {}
    for name, den in [("plain", _WantsTriples()), ("masked", ValenceMaskedDenoiser(_WantsTriples(), ELEMENTS, MASK))]:
        res = Ancestral(steps=200).sample(joint, den, shapes, fixed=fixed,
                                          generator=torch.Generator().manual_seed(0))
        assert (res.fields["atoms"] == atoms).all()
        over[name] = _over_valence(res.fields["atoms"], res.fields["bonds"]).float().mean().item()
    assert over["plain"] == 1.0
    # only bonds revealed in the same step can overshoot together
    assert over["masked"] <= 0.1, over


def test_completion_closes_the_missing_bond_nearest_first():
    import numpy as np

    pytest.importorskip("rdkit")
    from morphogen.spectra.elucidation import assemble, canonical, plausible
    from morphogen.spectra.valence import complete_valences

    atoms = ATOMS[0].numpy()
    full = {k: (1 if v == MASK else v) for k, v in BONDS.items()}
    pos = np.random.default_rng(0).normal(size=(9, 3)) * 3
    done = _bonds(9, full)[0].numpy()
    assert (complete_valences(atoms, done, pos, 9) == done).all()  # nothing to fill: unchanged
    broken = dict(full)
    del broken[(1, 2)]  # C1 and O2 become radical centres
    b = _bonds(9, broken)[0].numpy()
    assert not plausible(assemble(atoms, b, pos, 9))
    fixed = complete_valences(atoms, b, pos, 9)
    assert fixed[_pair(9, 1, 2)] == 1 and canonical(assemble(atoms, fixed, pos, 9)) == "CCO"
    # H8 loose and O2 with two free valences: O2 bonds C1 (near) and H8 (far), not C1 twice
    loose = dict(broken)
    del loose[(2, 8)]
    pos[2], pos[1], pos[8] = [0, 0, 0], [1.4, 0, 0], [0, 2.5, 0]
    fixed = complete_valences(atoms, _bonds(9, loose)[0].numpy(), pos, 9)
    assert fixed[_pair(9, 1, 2)] == 1 and fixed[_pair(9, 2, 8)] == 1
    assert canonical(assemble(atoms, fixed, pos, 9)) == "CCO"
    # with a distance cutoff the far hydrogen stays loose
    cut = complete_valences(atoms, _bonds(9, loose)[0].numpy(), pos, 9, factor=1.5)
    assert cut[_pair(9, 1, 2)] == 1 and cut[_pair(9, 2, 8)] == 0
