"""Symmetries of the crystal denoiser: atom permutations, rotations of the crystal, lattice-unit translations."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from morphogen.crystals.data import LatticeCodec, record_from_structure
from morphogen.crystals.models.cspnet import CrystalDenoiser
from morphogen.processes.base import FieldState

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


def test_permutation_equivariance(setup):
    net, variant = setup
    lattice, coords, types, mask, kappa, t = _inputs()
    out = _run(net, variant, lattice, coords, types, mask, kappa, t)
    perm = torch.tensor([3, 0, 5, 1, 2, 4])
    keep = {0, 2}  # rows without padding (row 1 has padding at the end, permuting it would move padding)
    st_p = [c[:, perm] for c in (coords, types, mask, kappa)]
    out_p = _run(net, variant, lattice, st_p[0], st_p[1], st_p[2], st_p[3], t)
    for b in keep:
        torch.testing.assert_close(out_p["frac_coords"][b], out["frac_coords"][b, perm])
        torch.testing.assert_close(out_p["lattice"][b], out["lattice"][b])


def test_translation_integer_shift_and_common_translation(setup):
    net, variant = setup
    lattice, coords, types, mask, kappa, t = _inputs(1)
    out = _run(net, variant, lattice, coords, types, mask, kappa, t)
    shift = torch.tensor([0.31, -0.72, 0.05], dtype=torch.float64)
    ints = torch.randint(-3, 4, coords.shape, generator=torch.Generator().manual_seed(2)).double()
    moved = (coords + shift + ints) * mask.unsqueeze(-1)
    out_m = _run(net, variant, lattice, moved, types, mask, kappa, t)
    torch.testing.assert_close(out_m["lattice"], out["lattice"])
    if variant == "csp_noise":  # an invariant displacement
        torch.testing.assert_close(out_m["frac_coords"], out["frac_coords"])
    else:  # an endpoint: moves with the atoms, modulo 1
        diff = (out_m["frac_coords"] - out["frac_coords"] - shift * mask.unsqueeze(-1))[mask]
        torch.testing.assert_close(torch.remainder(diff + 0.5, 1.0) - 0.5, torch.zeros_like(diff), atol=1e-9, rtol=0)


def test_rotation_invariance_through_the_lattice_representation():
    from pymatgen.core import Lattice, Structure
    from pymatgen.core.operations import SymmOp

    s = Structure(Lattice.from_parameters(4.1, 5.3, 6.2, 80, 95, 105), ["Sr", "Ti", "O", "O", "O"],
                  np.random.default_rng(0).random((5, 3)))
    rot = s.copy()
    rot.apply_operation(SymmOp.from_axis_angle_and_translation([1, 2, 3], 37.0), fractional=False)
    assert not np.allclose(rot.lattice.matrix, s.lattice.matrix)
    r0, r1 = record_from_structure(s, niggli=False), record_from_structure(rot, niggli=False)
    codec = LatticeCodec()
    z0, z1 = codec.encode(r0.lattice[None], [5]), codec.encode(r1.lattice[None], [5])
    np.testing.assert_allclose(z0, z1, atol=1e-10)
    np.testing.assert_allclose(r0.frac_coords, r1.frac_coords, atol=1e-10)
    net = CrystalDenoiser(hidden=32, layers=2, num_freqs=4).double().eval()
    outs = []
    for r, z in ((r0, z0), (r1, z1)):
        types = torch.as_tensor(r.atomic_numbers - 1)[None]
        mask = torch.ones(1, 5, dtype=torch.bool)
        st = _state(torch.as_tensor(z), torch.as_tensor(r.frac_coords)[None], torch.tensor([0.4], dtype=torch.float64), mask)
        with torch.no_grad():
            outs.append(net(st, {"node_mask": mask, "atom_types": types}))
    torch.testing.assert_close(outs[0]["lattice"], outs[1]["lattice"])
    torch.testing.assert_close(outs[0]["frac_coords"], outs[1]["frac_coords"])


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
