"""Symmetries of the crystal denoiser: atom permutations, rotations of the crystal, lattice-unit translations."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from morphogen.crystals.data import LatticeCodec, record_from_structure
from morphogen.crystals.models.cspnet import CrystalDenoiser
from morphogen.processes.base import FieldState
from morphogen.testing import Euclidean, PeriodicTranslation, Permutation, assert_equivariant, assert_invariant

B, N = 3, 6


def _state(lattice, coords, t, mask, kappa=None, types=None):
    st = {"lattice": FieldState(lattice, t), "frac_coords": FieldState(coords, t, mask.unsqueeze(-1),
                                                                       {} if kappa is None else {"kappa": kappa})}
    if types is not None:
        st["atom_types"] = FieldState(types, t, mask)
    return st


def _inputs(seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[1, 4:] = False
    coords = torch.rand(B, N, 3, generator=g, dtype=torch.float64) * mask.unsqueeze(-1)
    lattice = torch.randn(B, 6, generator=g, dtype=torch.float64)
    types = torch.randint(0, 100, (B, N), generator=g)
    kappa = torch.rand(B, N, 3, generator=g, dtype=torch.float64) * 100 * mask.unsqueeze(-1)
    t = torch.rand(B, generator=g, dtype=torch.float64)
    return lattice, coords, types, mask, kappa, t


@pytest.fixture(params=["csp_x1", "csp_noise", "gen_probs"])
def setup(request):
    torch.manual_seed(0)
    task = "gen" if request.param.startswith("gen") else "csp"
    kinds = {"frac_coords": "noise", "lattice": "noise"} if request.param == "csp_noise" else None
    net = CrystalDenoiser(task=task, kinds=kinds, hidden=32, layers=2, num_freqs=4).double().eval()
    return net, request.param


def _run(net, variant, lattice, coords, types, mask, kappa, t):
    cond = {"node_mask": mask, "atom_types": types}
    belief = None
    if variant == "gen_probs":  # a BFN belief over 100 classes, peaked on each atom's type
        belief = torch.softmax(3.0 * torch.nn.functional.one_hot(types, 100).double(), -1)
    st = _state(lattice, coords, t, mask, kappa, belief)
    with torch.no_grad():
        return net(st, cond)


def _fn(net, variant):
    """The denoiser as a function of named tensors (what morphogen.testing's symmetry assertions call)."""
    def fn(lattice, coords, types, mask, kappa, t):
        out = _run(net, variant, lattice, coords, types, mask, kappa, t)
        return {"lattice": out["lattice"], "frac_coords": out["frac_coords"]}
    return fn


def _named(lattice, coords, types, mask, kappa, t):
    return {"lattice": lattice, "coords": coords, "types": types, "mask": mask, "kappa": kappa, "t": t}


def test_permutation_equivariance(setup):
    """Atom outputs move with the atoms, the lattice is unchanged; the padded row permutes its real atoms only."""
    net, variant = setup
    group = Permutation({"coords": (1,), "types": (1,), "mask": (1,), "kappa": (1,)}, outputs={"frac_coords": (1,)},
                        mask="mask")
    assert_equivariant(_fn(net, variant), _named(*_inputs()), group, atol=1e-10, rtol=1e-7, trials=3)


def test_translation_integer_shift_and_common_translation(setup):
    """Whole-cell shifts of any atom change nothing; a common shift of all atoms leaves the lattice and a predicted
    noise unchanged and moves a predicted endpoint with the atoms (modulo 1)."""
    net, variant = setup
    moving = () if variant == "csp_noise" else ("frac_coords",)  # a noise is an invariant displacement
    group = PeriodicTranslation(("coords",), outputs=moving, period=1.0, mask="mask")
    assert_equivariant(_fn(net, variant), _named(*_inputs(1)), group, atol=1e-9, rtol=1e-7)


def test_rotation_invariance_through_the_lattice_representation():
    """Rotating or reflecting the Cartesian cell (its lattice vectors, with the fractional coordinates fixed)
    changes neither the lattice features (lengths and angles) nor the network's outputs."""
    from pymatgen.core import Lattice, Structure

    s = Structure(Lattice.from_parameters(4.1, 5.3, 6.2, 80, 95, 105), ["Sr", "Ti", "O", "O", "O"],
                  np.random.default_rng(0).random((5, 3)))
    net = CrystalDenoiser(hidden=32, layers=2, num_freqs=4).double().eval()
    codec = LatticeCodec()
    types = torch.as_tensor(np.array([site.specie.Z for site in s]) - 1)[None]
    mask = torch.ones(1, 5, dtype=torch.bool)

    def fn(cell):
        rotated = Structure(Lattice(cell[0].numpy()), s.species, s.frac_coords)
        r = record_from_structure(rotated, niggli=False)
        z = torch.as_tensor(codec.encode(r.lattice[None], [5]))
        st = _state(z, torch.as_tensor(r.frac_coords)[None], torch.tensor([0.4], dtype=torch.float64), mask)
        with torch.no_grad():
            out = net(st, {"node_mask": mask, "atom_types": types})
        return {"z": z, "frac": torch.as_tensor(r.frac_coords), **out}

    cell = torch.tensor(np.array(s.lattice.matrix))[None]  # (1, 3, 3): rows are the lattice vectors
    assert_invariant(fn, {"cell": cell}, Euclidean({"cell": "vector"}, kinds=("rotation", "reflection")),
                     atol=1e-9, rtol=1e-7)


def test_padding_does_not_leak():
    net = CrystalDenoiser(hidden=32, layers=2, num_freqs=4).double().eval()
    lattice, coords, types, mask, kappa, t = _inputs(3)
    out = _run(net, "csp_x1", lattice, coords, types, mask, kappa, t)
    coords2 = coords.clone()
    coords2[1, 4:] = 0.77  # garbage in padded atoms of row 1
    types2 = types.clone()
    types2[1, 4:] = 5
    out2 = _run(net, "csp_x1", lattice, coords2, types2, mask, kappa, t)
    torch.testing.assert_close(out2["lattice"][1], out["lattice"][1])
    torch.testing.assert_close(out2["frac_coords"][1, :4], out["frac_coords"][1, :4])
    assert torch.all(out2["frac_coords"][1, 4:] == 0)


def test_kinds_are_declared_and_checked():
    net = CrystalDenoiser(task="gen", kinds={"frac_coords": "velocity", "lattice": "velocity"})
    assert net.prediction_kinds == {"lattice": "velocity", "frac_coords": "velocity", "atom_types": "logits"}
    with pytest.raises(ValueError, match="unknown fields"):
        CrystalDenoiser(kinds={"coords": "x1"})
