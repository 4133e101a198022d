"""The zero-centre-of-mass Gaussian: every state stays centred (with padding), bad data are refused, and ancestral
sampling with the exact oracle recovers a mixture of shapes on the subspace."""
from __future__ import annotations

import pytest
import torch

from morphogen.oracles.zero_com import ZeroCoMGaussianMixture, ZeroCoMGaussianMixtureOracle
from morphogen.processes import JointProcess, ProcessError, ZeroCoMGaussian
from morphogen.processes.zero_com import center
from morphogen.samplers.ancestral import Ancestral
from morphogen.schedules import VPCosine

TRI = torch.tensor([[1.0, 0.0], [-0.5, 0.866], [-0.5, -0.866]])


def _com(x, mask):
    m = torch.broadcast_to(mask.to(x.dtype), x.shape)
    return (x * m).sum(1) / m.sum(1)


def test_center_respects_padding():
    x = torch.randn(2, 4, 3, dtype=torch.float64)
    mask = torch.ones(2, 4, 1, dtype=torch.bool)
    mask[1, 3] = False
    c = center(x, mask)
    assert torch.allclose(_com(c, mask), torch.zeros(2, 3, dtype=torch.float64), atol=1e-12)
    assert (c[1, 3] == 0).all()
    assert torch.allclose(c[0], x[0] - x[0].mean(0))


def test_every_state_is_centred():
    proc = ZeroCoMGaussian(VPCosine())
    g = torch.Generator().manual_seed(0)
    mask = torch.ones(5, 6, 1, dtype=torch.bool)
    mask[2, 4:] = False
    x1 = center(torch.randn(5, 6, 3, generator=g), mask)
    for st in (proc.prior((5, 6, 3), mask, generator=g),
               proc.corrupt(x1, torch.full((5,), 0.4), mask, generator=g).state):
        assert _com(st.value, mask).abs().max() < 1e-5 and (st.value[2, 4:] == 0).all()
    st = proc.corrupt(x1, torch.full((5,), 0.4), mask, generator=g).state
    drift = torch.randn(5, 6, 3, generator=g) + 3.0  # an x1 prediction whose mean is off
    nxt = proc.reverse_step(st, drift, "x1", torch.full((5,), 0.6), generator=g)
    assert _com(nxt.value, mask).abs().max() < 1e-5 and (nxt.value[2, 4:] == 0).all()
    assert _com(proc.estimate_x1(nxt, drift, "x1"), mask).abs().max() < 1e-5
    assert proc.subspace_dim(mask, (5, 6, 3)).tolist() == [15.0, 15.0, 9.0, 15.0, 15.0]


def test_uncentred_or_misshaped_data_are_refused():
    proc = ZeroCoMGaussian(VPCosine())
    with pytest.raises(ProcessError, match="field 'pos'.*zero centre of mass.*rows \\[1\\]"):
        proc.check_data("pos", torch.cat([center(torch.randn(1, 4, 3)), torch.randn(1, 4, 3) + 1]))
    with pytest.raises(ProcessError, match="\\(B, N, D\\)"):
        proc.check_data("pos", torch.zeros(2, 3))


def test_ancestral_sampling_with_the_oracle_recovers_the_shape_mixture():
    mix = ZeroCoMGaussianMixture(torch.tensor([0.6, 0.4]), torch.stack([TRI, -TRI]), torch.tensor([0.15]))
    proc = ZeroCoMGaussian(VPCosine())
    oracle = ZeroCoMGaussianMixtureOracle("x", mix, proc, "noise")
    n = 4000
    res = Ancestral(steps=100).sample(JointProcess({"x": proc}), oracle, {"x": (n, 3, 2)},
                                      generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x = res.fields["x"]
    assert _com(x, torch.ones(n, 3, 1)).abs().max() < 1e-9
    d_pos = ((x - mix.means[0]) ** 2).sum((1, 2))
    d_neg = ((x - mix.means[1]) ** 2).sum((1, 2))
    first = d_pos < d_neg
    assert abs(first.double().mean().item() - 0.6) < 0.03  # mode weights
    # within a mode, the spread per subspace direction ((3 - 1) * 2 = 4 of them) is what the same sampler gives for
    # the isotropic Gaussian process in 4 dimensions (100 cosine steps shrink 0.15 to about 0.135 in both)
    spread = (torch.cat([d_pos[first], d_neg[~first]]).mean().item() / 4) ** 0.5
    from morphogen.oracles.gaussian_mixture import GaussianMixture, GaussianMixtureOracle
    from morphogen.processes import GaussianProcess

    iso_mix = GaussianMixture(torch.tensor([1.0]), torch.zeros(1, 4), torch.tensor([0.15]))
    iso = GaussianProcess(VPCosine())
    ref = Ancestral(steps=100).sample(JointProcess({"x": iso}), GaussianMixtureOracle("x", iso_mix, iso, "noise"),
                                      {"x": (n, 4)}, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    iso_spread = ref.fields["x"].std().item()
    assert abs(spread - iso_spread) < 0.005 and abs(spread - 0.15) < 0.03
    draws = mix.sample(n, torch.Generator().manual_seed(2), torch.float64)  # the target's own sampler is centred
    assert _com(draws, torch.ones(n, 3, 1)).abs().max() < 1e-9


def test_exact_x1_prediction_has_zero_loss():
    proc = ZeroCoMGaussian(VPCosine(), loss_kind="x1")
    x1 = center(torch.randn(3, 5, 3, generator=torch.Generator().manual_seed(3)))
    c = proc.corrupt(x1, torch.full((3,), 0.5), generator=torch.Generator().manual_seed(4))
    assert proc.loss(x1, "x1", c).abs().max() < 1e-12
