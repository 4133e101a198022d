"""CSPNet (models/csp_network.py) and the matrix lattice field: symmetries, padding, the codec, a tiny overfit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from morphogen.crystals.data import LatticeCodec, LatticeMatrixCodec
from morphogen.crystals.data.lattice import matrix_from_parameters, parameters_from_matrix
from morphogen.crystals.models.csp_network import CSPNet, periodic_features
from morphogen.processes.base import FieldState
from morphogen.testing import Euclidean, PeriodicTranslation, Permutation, assert_equivariant

B, N = 3, 6


def _inputs(lattice_form, seed=0):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, N, dtype=torch.bool)
    mask[1, 4:] = False
    coords = torch.rand(B, N, 3, generator=g, dtype=torch.float64) * mask.unsqueeze(-1)
    shape = (B, 3, 3) if lattice_form == "matrix" else (B, 6)
    lattice = torch.randn(shape, generator=g, dtype=torch.float64) + (torch.eye(3, dtype=torch.float64)
                                                                       if lattice_form == "matrix" else 0.0)
    types = torch.randint(0, 100, (B, N), generator=g)
    kappa = torch.rand(B, N, 3, generator=g, dtype=torch.float64) * 100 * mask.unsqueeze(-1)
    t = torch.rand(B, generator=g, dtype=torch.float64)
    return {"lattice": lattice, "coords": coords, "types": types, "mask": mask, "kappa": kappa, "t": t}


VARIANTS = ["matrix_x1", "matrix_noise", "params_x1", "matrix_gen"]


def _net(variant):
    torch.manual_seed(0)
    form = variant.split("_")[0]
    kinds = {"frac_coords": "noise", "lattice": "noise"} if variant.endswith("noise") else None
    task = "gen" if variant.endswith("gen") else "csp"
    return CSPNet(task=task, kinds=kinds, lattice=form, hidden=32, layers=2, num_freqs=4, time_dim=16).double().eval()


def _fn(net, variant):
    def fn(lattice, coords, types, mask, kappa, t):
        st = {"lattice": FieldState(lattice, t),
              "frac_coords": FieldState(coords, t, mask.unsqueeze(-1), {"kappa": kappa})}
        if variant.endswith("gen"):  # a Bayesian flow's belief over 100 classes, peaked on each atom's type
            st["atom_types"] = FieldState(torch.softmax(3.0 * torch.nn.functional.one_hot(types, 100).double(), -1), t,
                                          mask)
        with torch.no_grad():
            out = net(st, {"node_mask": mask, "atom_types": types})
        return {k: v for k, v in out.items()}
    return fn


@pytest.mark.parametrize("variant", VARIANTS)
def test_permutation_equivariance(variant):
    """Per-atom outputs move with the atoms; the lattice output is unchanged; padding stays out."""
    group = Permutation({"coords": (1,), "types": (1,), "mask": (1,), "kappa": (1,)},
                        outputs={"frac_coords": (1,), **({"atom_types": (1,)} if variant.endswith("gen") else {})},
                        mask="mask")
    assert_equivariant(_fn(_net(variant), variant), _inputs(variant.split("_")[0]), group, atol=1e-10, rtol=1e-7,
                       trials=3)


@pytest.mark.parametrize("variant", VARIANTS)
def test_integer_shifts_and_common_translation(variant):
    """f -> f + n for single atoms changes nothing; a common shift of all atoms moves an endpoint (x1) prediction
    with the atoms modulo 1 and leaves a noise prediction and the lattice output unchanged."""
    moving = () if variant.endswith("noise") else ("frac_coords",)
    group = PeriodicTranslation(("coords",), outputs=moving, period=1.0, mask="mask")
    assert_equivariant(_fn(_net(variant), variant), _inputs(variant.split("_")[0], 1), group, atol=1e-9, rtol=1e-7)


@pytest.mark.parametrize("variant", ["matrix_x1", "matrix_noise", "matrix_gen"])
def test_lattice_output_rotates_with_the_lattice(variant):
    """Z -> Z R^T (every row rotated, R in O(3), reflections included): the lattice output becomes Y Z R^T, the
    coordinate and type outputs are unchanged."""
    group = Euclidean({"lattice": "vector"}, outputs={"lattice": "vector"}, kinds=("rotation", "reflection"))
    assert_equivariant(_fn(_net(variant), variant), _inputs("matrix", 2), group, atol=1e-9, rtol=1e-7, trials=3)


def test_padding_does_not_leak():
    net = _net("matrix_x1")
    x = _inputs("matrix", 3)
    out = _fn(net, "matrix_x1")(**x)
    y = {k: v.clone() for k, v in x.items()}
    y["coords"][1, 4:] = 0.77
    y["types"][1, 4:] = 5
    out2 = _fn(net, "matrix_x1")(**y)
    torch.testing.assert_close(out2["lattice"][1], out["lattice"][1])
    torch.testing.assert_close(out2["frac_coords"][1, :4], out["frac_coords"][1, :4])
    assert torch.all(out2["frac_coords"][1, 4:] == 0)


def test_periodic_features_include_the_zero_frequency():
    d = torch.tensor([[0.3, -0.2, 0.9]], dtype=torch.float64)
    f = periodic_features(d, 3).reshape(1, 3, 6)  # per coordinate: sin k=0..2, cos k=0..2
    assert torch.all(f[..., 0] == 0) and torch.all(f[..., 3] == 1)
    torch.testing.assert_close(periodic_features(d + torch.tensor([[1.0, -2.0, 3.0]], dtype=torch.float64), 3),
                               periodic_features(d, 3))


def test_options_are_checked():
    with pytest.raises(ValueError, match="lattice must be"):
        CSPNet(lattice="cholesky")
    with pytest.raises(ValueError, match="conditioning"):
        CSPNet(conditioning="kappa")
    with pytest.raises(ValueError, match="unknown fields"):
        CSPNet(kinds={"coords": "x1"})
    net = CSPNet(lattice="matrix", hidden=8, layers=1, num_freqs=2)
    st = {"lattice": FieldState(torch.zeros(1, 6), torch.zeros(1)),
          "frac_coords": FieldState(torch.zeros(1, 2, 3), torch.zeros(1))}
    with pytest.raises(ValueError, match=r"\(B, 3, 3\)"):
        net(st, {"atom_types": torch.zeros(1, 2, dtype=torch.long)})


def test_conditioning_ablations_read_what_they_say():
    """'time' ignores kappa, 'entropy' ignores t, 'time+entropy' reads both."""
    x = _inputs("matrix", 4)
    outs = {}
    for cond in ("time", "entropy", "time+entropy"):
        torch.manual_seed(0)
        net = CSPNet(lattice="matrix", hidden=16, layers=1, num_freqs=2, time_dim=8, conditioning=cond).double().eval()
        fn = _fn(net, "matrix_x1")
        base = fn(**x)["frac_coords"]
        other_t = fn(**{**x, "t": x["t"] * 0.5})["frac_coords"]
        other_k = fn(**{**x, "kappa": x["kappa"] * 3.0})["frac_coords"]
        outs[cond] = (torch.allclose(base, other_t), torch.allclose(base, other_k))
    assert outs == {"time": (False, True), "entropy": (True, False), "time+entropy": (False, False)}


# -- the matrix lattice field ----------------------------------------------------------------------------------------
PARAMS = np.array([[4.0, 4.0, 4.0, 90.0, 90.0, 90.0], [5.1, 6.2, 7.3, 80.0, 100.0, 110.0],
                   [3.2, 3.2, 8.9, 90.0, 90.0, 120.0]])


def test_matrix_codec_round_trip_and_rotation():
    codec = LatticeMatrixCodec.fit(PARAMS, [5, 5, 4])
    z = codec.encode(PARAMS, [5, 5, 4])
    assert z.shape == (3, 3, 3)
    np.testing.assert_allclose(np.mean(np.sum(z**2, -1)), 1.0, rtol=1e-12)  # unit RMS row length on the fit set
    np.testing.assert_allclose(codec.decode(z, [5, 5, 4]), PARAMS, atol=1e-9)
    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))  # any orthogonal matrix, det +-1
    np.testing.assert_allclose(codec.decode(z @ q.T, [5, 5, 4]), PARAMS, atol=1e-9)
    np.testing.assert_allclose(parameters_from_matrix(matrix_from_parameters(PARAMS)), PARAMS, atol=1e-9)
    from pymatgen.core import Lattice

    np.testing.assert_allclose(matrix_from_parameters(PARAMS),
                               np.stack([Lattice.from_parameters(*p).matrix for p in PARAMS.tolist()]), atol=1e-12)
    assert LatticeMatrixCodec.shape == (3, 3) and LatticeCodec.shape == (6,)


def test_matrix_codec_refuses_a_bad_scale_and_a_vanished_row_is_no_cell():
    from morphogen.crystals.data import CrystalRecord, record_to_structure

    with pytest.raises(ValueError, match="scale > 0"):
        LatticeMatrixCodec(0.0)
    z = np.zeros((1, 3, 3))
    z[0, 0, 0] = z[0, 1, 1] = 1.0
    p = LatticeMatrixCodec(2.0).decode(z, [1])[0]
    assert p[2] == 0 and np.isnan(p[3]) and np.isnan(p[4])
    with pytest.raises(ValueError, match="impossible lattice"):
        record_to_structure(CrystalRecord(p, np.zeros((1, 3)), np.array([6])))


# -- learning ---------------------------------------------------------------------------------------------------------
def test_tiny_overfit_reaches_the_translation_floor():
    """Denoising four perovskites at sigma = 0.03: a translation-invariant network cannot see the mean of the
    noise over a cell's N atoms, so the best mean squared error of a unit-noise prediction is 1/N (= 0.2 for N = 5)
    and the zero prediction scores 1. 300 Adam steps must reach below 0.30 (a learned structure) and cannot go
    below 0.2 by more than the sampling error."""
    from morphogen.crystals.data import record_from_structure

    from tests.crystals.crystal_helpers import perovskite

    structs = [perovskite("Sr", "Ti", "O", 3.9), perovskite("Ba", "Zr", "O", 4.2), perovskite("K", "Nb", "O", 4.0),
               perovskite("Cs", "Pb", "I", 6.3)]
    recs = [record_from_structure(s, niggli=False) for s in structs]
    codec = LatticeMatrixCodec.fit(np.stack([r.lattice for r in recs]), [5] * 4)
    z1 = torch.as_tensor(codec.encode(np.stack([r.lattice for r in recs]), [5] * 4), dtype=torch.float32)
    f1 = torch.as_tensor(np.stack([r.frac_coords for r in recs]), dtype=torch.float32)
    types = torch.as_tensor(np.stack([r.atomic_numbers for r in recs]) - 1)
    torch.manual_seed(0)
    net = CSPNet(lattice="matrix", kinds={"frac_coords": "noise"}, hidden=48, layers=2, num_freqs=4, time_dim=8)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    reps, sigma = 32, 0.03
    zz, ff, tt = z1.repeat(reps, 1, 1), f1.repeat(reps, 1, 1), types.repeat(reps, 1)
    cond = {"atom_types": tt, "node_mask": torch.ones(tt.shape, dtype=torch.bool)}

    def loss_of(eps):
        xt = torch.remainder(ff + sigma * eps, 1.0)
        st = {"lattice": FieldState(zz, torch.ones(len(zz))), "frac_coords": FieldState(xt, torch.ones(len(zz)))}
        return ((net(st, cond)["frac_coords"] - eps) ** 2).mean()

    for _ in range(300):
        loss = loss_of(torch.randn(ff.shape, generator=g))
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        final = float(np.mean([float(loss_of(torch.randn(ff.shape, generator=g))) for _ in range(8)]))
    assert 0.2 - 0.02 < final < 0.30, final


def test_decoding_the_matrix_field_and_the_volume_floor():
    """A decoded (B, 3, 3) field gives the cell its rows span; a cell under 0.1 A^3 is no cell (None), as in
    CDVAE's evaluation."""
    from morphogen.crystals.experiment import build_model, load_preset

    model = build_model(load_preset("perov_5"), "csp", "flow", LatticeMatrixCodec(2.0))
    z = torch.stack([torch.eye(3, dtype=torch.float64), 0.01 * torch.eye(3, dtype=torch.float64)])
    coords = torch.rand(2, 5, 3, dtype=torch.float64)
    types = torch.tensor([[37, 21, 7, 7, 7]] * 2)
    big, tiny = model.decode(z, coords, types, torch.ones(2, 5, dtype=torch.bool))
    assert tiny is None
    np.testing.assert_allclose(big.lattice.abc, [2.0 * 5 ** (1 / 3)] * 3, rtol=1e-9)
    np.testing.assert_allclose(big.lattice.angles, [90.0] * 3, atol=1e-9)
    assert big.composition.reduced_formula == "SrTiO3"
