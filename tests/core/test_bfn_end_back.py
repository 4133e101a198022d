"""The end-back sampler of Bayesian flows ("bfn_end_back", CrysBFN's default) against closed-form oracles.

Two kinds of oracle, two kinds of check:

- a posterior *draw* (``mode="sample"`` oracles; for categorical data the exact posterior with ``estimate="sample"``)
  makes end-back sampling exact at any number of steps: the samples must match the target (moments, total
  variation) at 10, 20 and 100 steps, and a wrong oracle must miss the same bound;
- the posterior *mean* (what a network trained with the BFN losses gives) makes it a sharpening sampler, not an
  exact one: the samples must follow the law of end-back's own Markov chain, computed without the sampler (in
  closed form for a Gaussian target, by quadrature for the Gaussian mixture, by an independent simulation with
  torch.distributions.VonMises on the circle), and a wrong oracle must miss that bound.

Bounds are stated next to each assertion with the Monte-Carlo standard error (SE) they are measured against.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from morphogen.guidance.cfg import ClassifierFreeGuidance
from morphogen.guidance.inpaint import Inpaint
from morphogen.oracles.bfn import (
    BFNCategoricalOracle,
    BFNGaussianMixtureOracle,
    BFNVonMisesMixtureOracle,
    JointOracle,
)
from morphogen.processes.base import FieldState
from morphogen.processes.bfn_continuous import ContinuousBFN
from morphogen.processes.bfn_discrete import DiscreteBFN
from morphogen.processes.bfn_periodic import PeriodicBFN
from morphogen.processes.joint import JointProcess
from morphogen.samplers.base import IncompatibleSamplerError
from morphogen.samplers.bfn import BFNReceiver
from morphogen.samplers.bfn_end_back import BFNEndBack
from morphogen.samplers.registry import compatible_samplers, get_sampler, sampler_class
from morphogen.testing.denoisers import CountingDenoiser

from .test_bfn import (
    CAT_PROBS, GM_LOW, GM_MEAN, GM_MEANS, GM_STD, GM_STDS, GM_W, VM_KAPPAS, VM_LOCS, VM_W, _gm_ok, _gm_stats,
    _PriorMeanOracle, _tv, circular_moments, gen, max_moment_error, vm_mixture_moment,
)

F64 = torch.float64


# ---------------------------------------------------------------------------------------------------------------------
# name, capabilities, NFE
# ---------------------------------------------------------------------------------------------------------------------
def test_found_by_name_with_what_it_needs():
    assert sampler_class("bfn_end_back") is BFNEndBack
    smp = get_sampler("bfn_end_back", steps=7, estimate="sample", final="evaluate")
    assert (smp.steps, smp.estimate, smp.final) == (7, "sample", "evaluate")
    assert BFNEndBack.requires == {"bayesian_flow", "end_back"}
    for proc in (ContinuousBFN(), DiscreteBFN(3), PeriodicBFN(steps=5)):
        assert "end_back" in proc.capabilities and "bfn_end_back" in compatible_samplers(proc)
    from morphogen.processes.gaussian import GaussianProcess
    from morphogen.schedules.gaussian import VPLinear

    joint = JointProcess({"x": ContinuousBFN(), "y": GaussianProcess(VPLinear())})
    with pytest.raises(IncompatibleSamplerError, match="'y'"):
        BFNEndBack(steps=3).sample(joint, _PriorMeanOracle("x", 0.0, "x1"), shapes={"x": (2, 1), "y": (2, 1)})
    with pytest.raises(ValueError, match="estimate"):
        BFNEndBack(estimate="mode")
    with pytest.raises(ValueError, match="final"):
        BFNEndBack(final="update")


@pytest.mark.parametrize("final,per_run", [("jump", 6), ("evaluate", 7)])
def test_nfe_counts_network_evaluations_at_the_training_times(final, per_run):
    """jump: the network is evaluated at t_0 .. t_{n-1} = 0, 1/6, .., 5/6 (CrysBFN's loop, the discrete-time training
    grid); evaluate: also at t_n = 1. Guidance doubles the count."""
    proc = ContinuousBFN(sigma1=0.01)
    joint = JointProcess({"x": proc})
    seen = []

    class Recorder(BFNGaussianMixtureOracle):
        def __call__(self, state, condition=None, drop_condition=None):
            seen.append(round(float(state["x"].t[0]), 6))
            return super().__call__(state, condition, drop_condition)

    den = CountingDenoiser(Recorder("x", proc, GM_W, GM_MEANS, GM_STDS))
    smp = BFNEndBack(steps=6, final=final)
    res = smp.sample(joint, den, shapes={"x": (5, 1)}, generator=gen(0))
    assert res.nfe == den.calls == smp.expected_nfe() == per_run
    assert seen == [round(i / 6, 6) for i in range(per_run)]
    guided = smp.sample(joint, CountingDenoiser(Recorder("x", proc, GM_W, GM_MEANS, GM_STDS)), shapes={"x": (5, 1)},
                        guidance=ClassifierFreeGuidance(1.0), generator=gen(0))
    assert guided.nfe == smp.expected_nfe(guided=True) == 2 * per_run


# ---------------------------------------------------------------------------------------------------------------------
# the step: the flow distribution at the next time, given the network's estimate
# ---------------------------------------------------------------------------------------------------------------------
def test_resample_is_corrupt_of_the_estimate():
    """Continuous, periodic and (estimate="sample") categorical: ``resample`` is ``corrupt`` of the estimate, draw
    for draw with the same random stream."""
    t = torch.full((4,), 0.4, dtype=F64)
    cont = ContinuousBFN(sigma1=0.02, x_range=(-1.0, 1.0))
    st = cont.prior((4, 3), dtype=F64)
    pred = torch.randn(4, 3, generator=gen(1), dtype=F64) * 2
    a = cont.resample(st, pred, "x1", t, generator=gen(2))
    b = cont.corrupt(pred.clamp(-1, 1), t, generator=gen(2)).state  # x_hat is clipped to x_range first
    assert torch.equal(a.value, b.value) and torch.equal(a.t, t)
    per = PeriodicBFN(beta1=100.0, steps=10)
    st = per.prior((4, 3), dtype=F64, generator=gen(3))
    pred = torch.rand(4, 3, generator=gen(4), dtype=F64) * 3 - 1  # any real: read modulo the period
    a = per.resample(st, pred, "x1", t, generator=gen(5))
    b = per.corrupt(torch.remainder(pred, 1.0), t, generator=gen(5)).state
    assert torch.allclose(a.value, b.value) and torch.allclose(a.extra["kappa"], b.extra["kappa"])
    disc = DiscreteBFN(5, beta1=2.0)
    logits = torch.randn(4, 3, 5, generator=gen(6), dtype=F64)
    st = disc.prior((4, 3), dtype=F64)
    a = disc.resample(st, logits, "logits", t, estimate="sample", generator=gen(7))
    g = gen(7)
    b = disc.corrupt(DiscreteBFN.sample_classes(logits, g), t, generator=g).state
    assert torch.equal(a.value, b.value)


def test_categorical_resample_with_the_expectation():
    """estimate="mean": theta = softmax(y), y ~ N(beta (K p_hat - 1), beta K I). From theta, log theta minus its mean
    over classes is y minus its mean: its mean is beta K (p_hat - 1/K) and its covariance beta K (I - 11^T/K)."""
    k, n, t = 4, 40000, 0.6
    proc = DiscreteBFN(k, beta1=3.0)
    beta = 3.0 * t * t
    p_hat = torch.tensor([0.55, 0.25, 0.15, 0.05], dtype=F64)
    logits = torch.log(p_hat).expand(n, 1, k)
    st = proc.prior((n, 1), dtype=F64)
    theta = proc.resample(st, logits, "logits", torch.full((n,), t, dtype=F64), generator=gen(8)).value[:, 0]
    c = torch.log(theta) - torch.log(theta).mean(-1, keepdim=True)
    var = beta * k * (1 - 1 / k)
    assert torch.allclose(c.mean(0), beta * k * (p_hat - 1 / k), atol=5 * math.sqrt(var / n))  # 5 SE (0.019)
    assert torch.allclose(c.var(0), torch.full((k,), var, dtype=F64), rtol=0.04)  # SE of a variance ~0.7 %
    # padding keeps the uniform belief
    mask = torch.tensor([[True, False]])
    out = proc.resample(proc.prior((1, 2), mask, dtype=F64), torch.zeros(1, 2, k, dtype=F64), "logits",
                        torch.full((1,), t, dtype=F64), generator=gen(9))
    assert torch.allclose(out.value[0, 1], torch.full((k,), 1 / k, dtype=F64))


# ---------------------------------------------------------------------------------------------------------------------
# posterior-draw oracles: exact at any number of steps
# ---------------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("steps", [10, 20, 100])
def test_oracle_continuous_gaussian_mixture_posterior_draws(steps):
    n = 4000
    proc = ContinuousBFN(sigma1=0.001)
    joint = JointProcess({"x": proc})
    oracle = BFNGaussianMixtureOracle("x", proc, GM_W, GM_MEANS, GM_STDS, mode="sample", generator=gen(1))
    res = BFNEndBack(steps=steps).sample(joint, oracle, shapes={"x": (n, 1)}, generator=gen(0))
    assert res.nfe == steps and res.fields["x"].shape == (n, 1)
    # SE: mean 0.019, std ~0.014, P(x < 0.25) 0.007 (measured within 0.6 SE at 10, 20, 100 steps)
    assert _gm_ok(res.fields["x"], 0.08, 0.05, 0.03), _gm_stats(res.fields["x"])
    wrong = BFNEndBack(steps=steps).sample(joint, _PriorMeanOracle("x", GM_MEAN, "x1"), shapes={"x": (n, 1)},
                                           generator=gen(0))
    assert not _gm_ok(wrong.fields["x"], 0.08, 0.05, 0.03)


@pytest.mark.parametrize("steps,n", [(10, 3000), (20, 3000), (100, 1000)])
def test_oracle_periodic_von_mises_mixture_posterior_draws(steps, n):
    """n x 2 draws (the 100-step flow simulates 1 + 2 + ... + 99 sender samples per entry, so fewer draws there)."""
    proc = PeriodicBFN(beta1=1000.0, steps=steps)
    joint = JointProcess({"f": proc})
    oracle = BFNVonMisesMixtureOracle("f", proc, VM_W, VM_LOCS, VM_KAPPAS, mode="sample", generator=gen(1))
    res = BFNEndBack(steps=steps).sample(joint, oracle, shapes={"f": (n, 2)}, generator=gen(0))
    x = res.fields["f"]
    assert res.nfe == steps and x.shape == (n, 2) and x.min() >= 0 and x.max() < 1
    # E[cos kx], E[sin kx], k = 1, 2: SE <= 0.008 (6000 draws) / 0.014 (2000); bound 0.04 / 0.06; measured <= 0.01
    bound = 0.04 if n >= 3000 else 0.06
    assert max_moment_error(x) < bound, circular_moments(x)
    # the wrong oracle's samples are all 0.45: 200 of them show it (and spare simulating the flow for n)
    wrong = BFNEndBack(steps=steps).sample(joint, _PriorMeanOracle("f", 0.45, "x1"), shapes={"f": (200, 2)},
                                           generator=gen(0))
    assert max_moment_error(wrong.fields["f"]) > bound


@pytest.mark.parametrize("steps", [10, 20, 100])
def test_oracle_discrete_product_of_categoricals(steps):
    """The categorical oracle is the exact posterior, so drawing e_k from it (estimate="sample") is exact; the
    expectation (estimate="mean", CrysBFN's choice) sharpens: the most probable class gains."""
    n = 4000
    joint = JointProcess({"c": DiscreteBFN(4, beta1=3.0)})
    oracle = BFNCategoricalOracle("c", CAT_PROBS)
    res = BFNEndBack(steps=steps, estimate="sample").sample(joint, oracle, shapes={"c": (n, 3)}, generator=gen(0))
    assert res.fields["c"].dtype == torch.long and res.nfe == steps
    # TV per position < 0.04 (Monte-Carlo scale ~0.013 at n = 4000, K = 4; measured <= 0.016)
    assert (_tv(res.fields["c"], CAT_PROBS) < 0.04).all(), _tv(res.fields["c"], CAT_PROBS)

    class IgnoresTarget:  # wrong on purpose: the posterior without the prior over classes
        prediction_kinds = {"c": "logits"}

        def __call__(self, state, condition=None, drop_condition=None):
            return {"c": torch.log(state["c"].value)}

    wrong = BFNEndBack(steps=steps, estimate="sample").sample(joint, IgnoresTarget(), shapes={"c": (n, 3)},
                                                              generator=gen(0))
    assert not (_tv(wrong.fields["c"], CAT_PROBS) < 0.04).all()
    sharp = BFNEndBack(steps=steps).sample(joint, oracle, shapes={"c": (n, 3)}, generator=gen(0))
    freq = F.one_hot(sharp.fields["c"], 4).double().mean(0)
    # the modes of positions 0 and 1 (0.5 and 0.7) gain > 0.05 (measured 0.57 - 0.58 and 0.83 - 0.84 at 10, 20,
    # 100 steps; SE 0.008); the uniform position stays uniform
    assert freq[0, 0] > 0.55 and freq[1, 3] > 0.75, freq
    assert _tv(sharp.fields["c"][:, 2:], CAT_PROBS[2:]).item() < 0.04


# ---------------------------------------------------------------------------------------------------------------------
# posterior-mean oracles: the law of end-back's own chain
# ---------------------------------------------------------------------------------------------------------------------
def _gaussian_chain_variance(n: int, sigma1: float, s2: float, final: str) -> float:
    """End-back with the exact posterior mean of a N(m, s2) target is linear-Gaussian: x_hat_0 = m, then
    mu_i = gamma_i x_hat_{i-1} + sqrt(gamma_i (1 - gamma_i)) eps, x_hat_i = a_i + b_i mu_i with
    b_i = rho_i / (1/s2 + rho_i - 1). The output x_hat_{n-1} (or x_hat_n) is N(m, V): V by recursion."""
    var, last = 0.0, n - 1 if final == "jump" else n
    for i in range(1, last + 1):
        g, rho = 1.0 - sigma1 ** (2 * i / n), sigma1 ** (-2 * i / n)
        b = rho / (1.0 / s2 + rho - 1.0)
        var = b * b * (g * g * var + g * (1.0 - g))
    return var


@pytest.mark.parametrize("steps,final", [(10, "jump"), (20, "jump"), (100, "jump"), (10, "evaluate")])
def test_oracle_continuous_gaussian_posterior_mean_closed_form(steps, final):
    """Target N(0.4, 1.5^2): the samples are N(0.4, V) with V from the recursion (V / s2 = 0.14 at 10 steps, 0.32 at
    20, 0.48 at 100, tending to 1/2: half the target's variance), and an oracle of the wrong variance misses the
    bound."""
    n, m, s = 20000, 0.4, 1.5
    proc = ContinuousBFN(sigma1=0.001)
    joint = JointProcess({"x": proc})
    want = _gaussian_chain_variance(steps, 0.001, s * s, final)
    assert 0.1 * s * s < want < 0.5 * s * s
    sampler = BFNEndBack(steps=steps, final=final)

    def draw(std):
        oracle = BFNGaussianMixtureOracle("x", proc, [1.0], [[m]], [std], mode="mean")
        return sampler.sample(joint, oracle, shapes={"x": (n, 1)}, generator=gen(0), dtype=F64).fields["x"][:, 0]

    def ok(x):  # mean within 5 SE, variance within 5 SE (SE of a normal variance: V sqrt(2 / n) = 1 %)
        return abs(float(x.mean()) - m) < 5 * math.sqrt(want / n) and abs(float(x.var()) / want - 1) < 0.05

    x = draw(s)
    assert ok(x), (float(x.mean()), float(x.var()), want)
    assert not ok(draw(1.2 * s))


def _gm_chain_law(oracle, proc: ContinuousBFN, steps: int, bins: int = 8000, nodes: int = 48):
    """Mean, std and P(x < 0.25) of the end-back output with the posterior-mean oracle of a 1-D Gaussian mixture,
    by quadrature of the chain: the law of mu_i is kept as weights on a grid; each step maps the grid through
    x_hat = oracle(mu, t_{i-1}) and convolves with N(0, gamma_i (1 - gamma_i)) by Gauss-Hermite nodes, binning the
    result back onto a grid (linear split of each node's mass, which keeps the mean). Converged to 1e-3 here."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    z, w = torch.tensor(z, dtype=F64), torch.tensor(w / w.sum(), dtype=F64)

    def x_hat(mu, t):
        st = FieldState(mu[:, None], torch.full((mu.shape[0],), t, dtype=F64))
        return oracle({"x": st})["x"][:, 0].double()

    grid, mass = torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64)
    for i in range(1, steps):
        g = float(proc.schedule.gamma(torch.tensor(i / steps, dtype=F64)))
        pts = (g * x_hat(grid, (i - 1) / steps)[:, None] + math.sqrt(g * (1.0 - g)) * z).reshape(-1)
        pw = (mass[:, None] * w).reshape(-1)
        lo, h = float(pts.min()), float(pts.max() - pts.min()) / (bins - 1)
        pos = (pts - lo) / h
        j = pos.floor().long().clamp(0, bins - 2)
        frac = pos - j
        mass = torch.zeros(bins, dtype=F64).index_add_(0, j, pw * (1 - frac)).index_add_(0, j + 1, pw * frac)
        grid = lo + h * torch.arange(bins, dtype=F64)
    x = x_hat(grid, (steps - 1) / steps)
    mean = float((mass * x).sum())
    return mean, math.sqrt(float((mass * (x - mean) ** 2).sum())), float((mass * (x < 0.25)).sum())


@pytest.mark.parametrize("steps", [10, 20, 100])
def test_oracle_continuous_gaussian_mixture_posterior_mean(steps):
    """The posterior mean of the mixture 0.3 N(-1, 0.3^2) + 0.7 N(1.5, 0.5^2) (target: mean 0.75, std 1.23,
    P(x < 0.25) 0.304). End-back's law (quadrature): 10 steps 1.022 / 0.674 / 0.112, 20 steps 0.973 / 0.973 / 0.188,
    100 steps 0.971 / 1.070 / 0.211: the heavier mode gains weight and each mode narrows."""
    n = 20000
    proc = ContinuousBFN(sigma1=0.001)
    joint = JointProcess({"x": proc})
    oracle = BFNGaussianMixtureOracle("x", proc, GM_W, GM_MEANS, GM_STDS, mode="mean")
    mean, std, low = _gm_chain_law(oracle, proc, steps)
    assert abs(low - GM_LOW) > 0.08 and std < GM_STD - 0.1  # far from the target: a sharpening sampler

    def ok(x):  # SE: mean <= 0.008, std <= 0.006, P(x < 0.25) <= 0.003; bounds ~4 SE (measured <= 3 SE; the
        # wrong oracle, weights 0.35 / 0.65, moves P(x < 0.25) by 0.07)
        m, s, p = _gm_stats(x)
        return abs(m - mean) < 0.03 and abs(s - std) < 0.025 and abs(p - low) < 0.012

    res = BFNEndBack(steps=steps).sample(joint, oracle, shapes={"x": (n, 1)}, generator=gen(0), dtype=F64)
    assert ok(res.fields["x"]), (_gm_stats(res.fields["x"]), (mean, std, low))
    wrong = BFNGaussianMixtureOracle("x", proc, [0.35, 0.65], GM_MEANS, GM_STDS, mode="mean")
    assert not ok(BFNEndBack(steps=steps).sample(joint, wrong, shapes={"x": (n, 1)}, generator=gen(0),
                                                 dtype=F64).fields["x"])


def _periodic_chain(oracle, proc: PeriodicBFN, steps: int, shape, seed: int) -> torch.Tensor:
    """End-back's chain on the circle written out with torch.distributions.VonMises (not the core's sampler): at
    step i the belief is i sender samples vM(x_hat, alpha_j) summed, c e^{im} = sum_j alpha_j e^{i y_j}."""
    torch.manual_seed(seed)
    alphas = proc.schedule.alphas()
    x_hat = oracle({"f": proc.prior(shape, dtype=F64, generator=gen(seed))})["f"].double()
    for i in range(1, steps):
        loc = proc.to_angle(x_hat)[..., None].expand(*shape, i)
        y = torch.distributions.VonMises(loc, alphas[:i].expand(*shape, i)).sample()
        s = (alphas[:i] * torch.exp(1j * y)).sum(-1)
        st = FieldState(proc.from_angle(torch.angle(s)), torch.full((shape[0],), i / steps, dtype=F64), None,
                        {"kappa": s.abs()})
        x_hat = oracle({"f": st})["f"].double()
    return proc.wrap(x_hat)


def _moments(x) -> np.ndarray:
    m = circular_moments(x)
    return np.array([m[1][0], m[1][1], m[2][0], m[2][1]])


@pytest.mark.parametrize("steps", [10, 20])
def test_oracle_periodic_von_mises_mixture_posterior_mean(steps):
    """Posterior mean direction of the von Mises mixture: end-back's circular moments (measured max error to the
    target 0.37 at 10 steps, 0.20 at 20) follow its own chain simulated independently; the receiver sampler ("bfn",
    another chain, 0.11 / 0.15 away) and the target miss the bound."""
    shape = (8000, 1)
    proc = PeriodicBFN(beta1=1000.0, steps=steps)
    oracle = BFNVonMisesMixtureOracle("f", proc, VM_W, VM_LOCS, VM_KAPPAS, mode="mean")
    ref = _moments(_periodic_chain(oracle, proc, steps, shape, seed=1))
    joint = JointProcess({"f": proc})
    got = _moments(BFNEndBack(steps=steps).sample(joint, oracle, shapes={"f": shape}, generator=gen(0),
                                                  dtype=F64).fields["f"])
    # each moment has SE <= 0.008 per run, 0.011 for the difference of two runs; bound 0.04 (measured 0.017 / 0.006)
    assert np.abs(got - ref).max() < 0.04, (got, ref)
    target = np.array([v for k in (1, 2) for v in vm_mixture_moment(k)])
    assert np.abs(target - ref).max() > 0.1
    other = _moments(BFNReceiver(steps=steps).sample(joint, oracle, shapes={"f": shape}, generator=gen(0),
                                                     dtype=F64).fields["f"])
    assert np.abs(other - ref).max() > 0.04


# ---------------------------------------------------------------------------------------------------------------------
# a crystal-like joint process, with a fixed field
# ---------------------------------------------------------------------------------------------------------------------
def test_joint_crystal_like_and_fixed_fields():
    """Lattice-like continuous (B, 2), periodic coordinates (B, 3) and atom types (B, 3) in one end-back run with
    posterior-draw oracles (exact), then the same with the types given (CSP: fixed composition)."""
    n, steps = 2000, 20
    lat = ContinuousBFN(sigma1=0.001)
    frac = PeriodicBFN(beta1=1000.0, steps=steps)
    types = DiscreteBFN(4, beta1=3.0)
    joint = JointProcess({"lattice": lat, "frac": frac, "types": types})
    oracle = JointOracle(
        BFNGaussianMixtureOracle("lattice", lat, GM_W, [[-1.0, 2.0], [1.5, 0.0]], GM_STDS, mode="sample",
                                 generator=gen(1)),
        BFNVonMisesMixtureOracle("frac", frac, VM_W, VM_LOCS, VM_KAPPAS, generator=gen(2)),
        BFNCategoricalOracle("types", CAT_PROBS),
    )
    shapes = {"lattice": (n, 2), "frac": (n, 3), "types": (n, 3)}
    res = BFNEndBack(steps=steps, estimate="sample").sample(joint, oracle, shapes=shapes, generator=gen(0))
    assert res.nfe == steps
    lat_x = res.fields["lattice"].double()
    assert abs(float(lat_x[:, 0].mean()) - GM_MEAN) < 0.1  # SE 0.028
    assert abs(float(lat_x[:, 1].mean()) - 0.6) < 0.1  # 0.3 * 2 + 0.7 * 0; SE 0.02
    assert abs(float(lat_x[:, 0].std()) - GM_STD) < 0.07
    assert max_moment_error(res.fields["frac"]) < 0.05  # SE <= 0.009
    assert (_tv(res.fields["types"], CAT_PROBS) < 0.05).all()  # MC scale ~0.018
    given = torch.randint(0, 4, (n, 3), generator=gen(3))
    for mode in ("replace", "clean"):
        fixed = BFNEndBack(steps=steps).sample(joint, oracle, shapes=shapes, fixed=Inpaint({"types": given}, mode=mode),
                                               generator=gen(0))
        assert torch.equal(fixed.fields["types"], given)
        assert torch.isfinite(fixed.fields["lattice"]).all() and fixed.fields["frac"].max() < 1
