"""Symmetries of the molecule denoiser (through morphogen.testing.assert_equivariant): relabelling the atoms
permutes its atom, bond and coordinate outputs; rotations and reflections rotate the coordinates' estimate and leave
atoms and bonds unchanged (E(3)); a translation changes nothing (the estimate is centred, like the zero centre-of-mass
process it serves); trimmed padding changes nothing either."""
from __future__ import annotations

import pytest
import torch

from morphogen.processes.base import FieldState
from morphogen.processes.zero_com import center
from morphogen.spectra.models.egnn import MoleculeDenoiser, pair_index, pairs_to_dense
from morphogen.testing import Euclidean, Permutation, assert_equivariant

B, N = 3, 7


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return MoleculeDenoiser(d_model=32, d_edge=8, layers=2, heads=2,
                            encoder={"layers": 1, "heads": 2, "patch": 64}).double().eval()


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[1, 5:] = False
    atoms = torch.randint(0, 6, (B, N), generator=g) * mask  # 5 = the mask token
    bonds = pairs_to_dense(torch.randint(0, 5, (B, N * (N - 1) // 2), generator=g), N, 0)
    bonds = bonds * (mask[:, :, None] & mask[:, None, :])
    pos = center(torch.randn(B, N, 3, generator=g, dtype=torch.float64) * 2, mask[..., None])
    t = torch.rand(B, generator=g, dtype=torch.float64)
    c13 = torch.rand(B, 5, generator=g, dtype=torch.float64) * 200
    return {"atoms": atoms, "bonds": bonds, "pos": pos, "mask": mask, "t": t, "c13": c13}


def _fn(net):
    def fn(atoms, bonds, pos, mask, t, c13):
        n = atoms.shape[1]
        i, j = pair_index(n)
        pm = mask[:, i] & mask[:, j]
        state = {"atoms": FieldState(atoms, t, mask), "bonds": FieldState(bonds[:, i, j], t, pm),
                 "pos": FieldState(pos, t, mask[..., None])}
        cond = {"c13": c13, "c13_mask": torch.ones_like(c13, dtype=torch.bool)}
        with torch.no_grad():
            out = net(state, cond)
        logits = out["bonds"]  # (B, P, K) -> (B, n, n, K), symmetric
        k = logits.shape[-1]
        dense = torch.zeros(B, n, n, k, dtype=logits.dtype)
        dense[:, i, j] = logits
        dense[:, j, i] = logits
        keep = mask[..., None]  # outputs at padding are never read
        pair_keep = (mask[:, :, None] & mask[:, None, :])[..., None]
        return {"atoms": out["atoms"] * keep, "bonds": dense * pair_keep, "pos": out["pos"] * keep}
    return fn


def test_atom_permutations(net):
    group = Permutation({"atoms": (1,), "bonds": (1, 2), "pos": (1,), "mask": (1,)},
                        outputs={"atoms": (1,), "bonds": (1, 2), "pos": (1,)}, mask="mask")
    assert_equivariant(_fn(net), _inputs(), group, atol=1e-9, rtol=1e-7, trials=3)


def test_rotations_and_reflections(net):
    group = Euclidean({"pos": "point"}, outputs={"pos": "vector"}, kinds=("rotation", "reflection"), mask="mask")
    assert_equivariant(_fn(net), _inputs(1), group, atol=1e-9, rtol=1e-7, trials=3)


def test_translations_change_nothing(net):
    group = Euclidean({"pos": "point"}, kinds=("translation",), mask="mask")
    assert_equivariant(_fn(net), _inputs(2), group, atol=1e-9, rtol=1e-7, trials=3)


def test_trimmed_padding_changes_nothing(net):
    from morphogen.spectra.data.molecules import trim_padding

    x = _inputs(3)
    x["mask"][:, 5:] = False  # no row uses atoms 5 and 6
    x["atoms"] = x["atoms"] * x["mask"]
    x["pos"] = center(x["pos"], x["mask"][..., None])
    full = _fn(net)(**x)
    i, j = pair_index(N)
    batch = {"fields": {"atoms": x["atoms"], "bonds": x["bonds"][:, i, j], "pos": x["pos"]},
             "masks": {"atoms": x["mask"], "bonds": x["mask"][:, i] & x["mask"][:, j], "pos": x["mask"][..., None]}}
    cut = trim_padding(batch)
    assert cut["fields"]["atoms"].shape == (B, 5) and cut["fields"]["bonds"].shape == (B, 10)
    a, b = pair_index(5)
    assert torch.equal(cut["fields"]["bonds"], x["bonds"][:, a, b])
    small = {**x, "atoms": cut["fields"]["atoms"], "pos": cut["fields"]["pos"], "mask": cut["masks"]["atoms"],
             "bonds": x["bonds"][:, :5, :5]}
    out = _fn(net)(**small)
    for k in ("atoms", "pos"):
        assert torch.allclose(out[k], full[k][:, :5], atol=1e-10)
    assert torch.allclose(out["bonds"], full["bonds"][:, :5, :5], atol=1e-10)
