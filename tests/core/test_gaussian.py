"""Gaussian processes: conversions, marginals, SDE coefficients, and every compatible sampler against an oracle."""
from __future__ import annotations

import math

import pytest
import torch

from morphogen.guidance.cfg import ClassifierFreeGuidance
from morphogen.guidance.inpaint import Inpaint
from morphogen.metrics.mmd import mmd_rbf
from morphogen.oracles.gaussian_mixture import GaussianMixture, GaussianMixtureOracle
from morphogen.processes.base import ProcessError
from morphogen.processes.gaussian import GAUSSIAN_KINDS, FlowMatching, GaussianProcess
from morphogen.processes.joint import JointProcess
from morphogen.samplers.base import IncompatibleSamplerError
from morphogen.samplers.registry import compatible_samplers, get_sampler
from morphogen.schedules.gaussian import VE, LinearInterpolant, SubVP, VPCosine, VPLinear

SCHEDULES = {
    "vp": VPLinear(),
    "vp_cosine": VPCosine(),
    "vp_cosine_shifted": VPCosine(shift=0.0625),
    "ve": VE(sigma_max=10.0),
    "subvp": SubVP(),
    "interpolant": LinearInterpolant(),
    "interpolant_noisy": LinearInterpolant(extra_noise=0.5),
}


def processes():
    return {k: GaussianProcess(s) for k, s in SCHEDULES.items()}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_conversions_round_trip_float64(name):
    proc = GaussianProcess(SCHEDULES[name])
    g = torch.Generator().manual_seed(0)
    t = torch.tensor([0.05, 0.3, 0.6, 0.9, 0.97], dtype=torch.float64)
    x1 = torch.randn(5, 7, dtype=torch.float64, generator=g)
    eps = torch.randn(5, 7, dtype=torch.float64, generator=g)
    a, s = SCHEDULES[name].alpha(t)[:, None], SCHEDULES[name].sigma(t)[:, None]
    x = a * x1 + s * eps
    for kind in GAUSSIAN_KINDS:
        pred = proc.from_x1_noise(x1, eps, t, kind)
        back_x1, back_eps = proc.to_x1_noise(x, t, pred, kind)
        torch.testing.assert_close(back_x1, x1, rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(back_eps, eps, rtol=1e-9, atol=1e-9)
        for other in GAUSSIAN_KINDS:
            there = proc.convert(x, t, pred, kind, other)
            torch.testing.assert_close(there, proc.from_x1_noise(x1, eps, t, other), rtol=1e-8, atol=1e-8)
            torch.testing.assert_close(proc.convert(x, t, there, other, kind), pred, rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_schedule_derivatives_and_velocity(name):
    sched = SCHEDULES[name]
    t = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    h = 1e-6
    torch.testing.assert_close(sched.d_alpha(t), (sched.alpha(t + h) - sched.alpha(t - h)) / (2 * h), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(sched.d_sigma(t), (sched.sigma(t + h) - sched.sigma(t - h)) / (2 * h), rtol=1e-5, atol=1e-7)
    assert torch.all(sched.log_snr(t[1:]) > sched.log_snr(t[:-1])), "log-SNR must increase towards the data"


def test_sde_diffusion_matches_papers():
    t = torch.linspace(0.0, 0.99, 12, dtype=torch.float64)
    vp = GaussianProcess(VPLinear(0.1, 20.0))
    torch.testing.assert_close(vp.diffusion_sq(t), 0.1 + (1 - t) * 19.9, rtol=1e-9, atol=1e-9)  # beta(s), s = 1 - t
    ve = GaussianProcess(VE(0.01, 50.0))
    sig = VE(0.01, 50.0).sigma(t)
    torch.testing.assert_close(ve.diffusion_sq(t), 2 * sig**2 * math.log(5000.0), rtol=1e-9, atol=1e-9)
    sub = GaussianProcess(SubVP(0.1, 20.0))
    a = SubVP(0.1, 20.0).alpha(t)
    beta = 0.1 + (1 - t) * 19.9
    torch.testing.assert_close(sub.diffusion_sq(t), beta * (1 - a**4), rtol=1e-8, atol=1e-9)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_forward_marginals(name):
    proc = GaussianProcess(SCHEDULES[name])
    g = torch.Generator().manual_seed(1)
    n = 40000
    for tv in (0.1, 0.5, 0.9):
        x1 = torch.full((n, 2), 1.5, dtype=torch.float64)
        t = torch.full((n,), tv, dtype=torch.float64)
        xt = proc.corrupt(x1, t, generator=g).state.value
        a = float(SCHEDULES[name].alpha(torch.tensor(tv, dtype=torch.float64)))
        s = float(SCHEDULES[name].sigma(torch.tensor(tv, dtype=torch.float64)))
        assert abs(xt.mean().item() - 1.5 * a) < 4 * s / math.sqrt(2 * n) + 1e-12
        assert abs(xt.std().item() / s - 1.0) < 0.02


def test_symmetric_noise_and_padding():
    proc = GaussianProcess(VPLinear(), symmetric=True)
    mask = torch.ones(3, 5, 5)
    mask[0, 3:, :] = 0
    mask[0, :, 3:] = 0
    x1 = torch.zeros(3, 5, 5)
    c = proc.corrupt(x1, torch.full((3,), 0.3), mask=mask, generator=torch.Generator().manual_seed(0))
    v = c.state.value
    torch.testing.assert_close(v, v.transpose(-1, -2))
    assert torch.all(torch.diagonal(v, dim1=-2, dim2=-1) == 0)
    assert torch.all(v[0, 3:, :] == 0) and torch.all(v[0, :, 3:] == 0)
    with pytest.raises(ProcessError, match="symmetric"):
        proc.corrupt(torch.zeros(3, 4, 5), torch.full((3,), 0.3))


def test_immiscible_assignment_reduces_transport_cost():
    g = torch.Generator().manual_seed(0)
    x1 = torch.randn(64, 4, generator=g) + 3.0
    plain = GaussianProcess(VPLinear()).corrupt(x1, torch.full((64,), 0.5), generator=torch.Generator().manual_seed(5))
    imm = GaussianProcess(VPLinear(), immiscible=True).corrupt(x1, torch.full((64,), 0.5), generator=torch.Generator().manual_seed(5))
    e0, e1 = plain.aux["noise"], imm.aux["noise"]
    # same set of noise draws, re-assigned to lower total distance
    torch.testing.assert_close(torch.sort(e0.sum(1)).values, torch.sort(e1.sum(1)).values)
    assert (x1 - e1).norm(dim=1).sum() < (x1 - e0).norm(dim=1).sum()


def test_bad_input_is_named():
    joint = JointProcess({"pos": GaussianProcess(VPLinear())})
    x = torch.randn(4, 3)
    x[2, 1] = float("nan")
    with pytest.raises(ProcessError, match=r"field 'pos'.*NaN.*\[2\]"):
        joint.corrupt({"pos": x})
    with pytest.raises(ProcessError, match="floating"):
        joint.corrupt({"pos": torch.ones(4, 3, dtype=torch.long)})
    with pytest.raises(ProcessError, match="lacks field"):
        joint.corrupt({"other": torch.randn(4, 3)})
    with pytest.raises(ProcessError, match="batch size"):
        JointProcess({"a": GaussianProcess(VE()), "b": GaussianProcess(VE())}).corrupt(
            {"a": torch.randn(4, 2), "b": torch.randn(5, 2)})
    with pytest.raises(ProcessError, match="cannot use a 'logits' prediction"):
        GaussianProcess(VE()).check_prediction_kind("pos", "logits")


class _FakeDiscrete(GaussianProcess):
    capabilities = frozenset({"unmask"})


def test_incompatible_sampler_is_refused_with_alternatives():
    joint = JointProcess({"tokens": _FakeDiscrete(VPLinear())})
    mix = GaussianMixture(torch.ones(1), torch.zeros(1, 2), torch.ones(1))
    oracle = GaussianMixtureOracle("tokens", mix, GaussianProcess(VPLinear()))
    with pytest.raises(IncompatibleSamplerError, match="dpm_solver.*field 'tokens'"):
        get_sampler("dpm_solver", steps=5).sample(joint, oracle, {"tokens": (4, 2)})
    with pytest.raises(KeyError, match="unknown sampler"):
        get_sampler("no_such_sampler")


# -- oracle tests -----------------------------------------------------------------------------------------------

def _mixture():
    ang = torch.arange(4) * math.pi / 2
    return GaussianMixture(torch.tensor([0.4, 0.3, 0.2, 0.1]), torch.stack([2 * torch.cos(ang), 2 * torch.sin(ang)], 1),
                           torch.tensor([0.3]))


N = 1500
#: squared MMD (sum of four RBF bandwidths) below which samples count as drawn from the target; two independent
#: draws of 1500 target samples give about 0.004, a mixture with the wrong weights (uniform) about 0.03
MMD_BOUND = 0.012
SAMPLER_SETTINGS = {
    "ancestral": dict(steps=100),
    "euler_maruyama": dict(steps=100),
    "pc": dict(steps=50, corrector_steps=1),
    "langevin": dict(steps=200),
    "ode_euler": dict(steps=100),
    "heun": dict(steps=50),
    "dpm_solver": dict(steps=25, grid="uniform"),
}


def test_every_gaussian_sampler_is_tested():
    from morphogen.samplers.registry import sampler_entries

    proc = GaussianProcess(VPLinear())
    core = {e.name for e in sampler_entries() if e.is_core and e.name in compatible_samplers(proc)}
    # domain packages add more through entry points (GDSS's s4, tested in tests/graphs); "renoise" concentrates
    # on the modes by design and is checked against what it promises in tests/core/test_renoise.py
    assert core == set(SAMPLER_SETTINGS) | {"renoise"}


def test_wrong_target_fails_the_bound():
    mix = _mixture()
    wrong = GaussianMixture(torch.ones(4), mix.means, mix.stds)
    ref = mix.sample(N, torch.Generator().manual_seed(99))
    assert mmd_rbf(wrong.sample(N, torch.Generator().manual_seed(3)), ref) > 2 * MMD_BOUND
    assert mmd_rbf(mix.sample(N, torch.Generator().manual_seed(3)), ref) < MMD_BOUND / 2


@pytest.mark.parametrize("sampler", list(SAMPLER_SETTINGS))
@pytest.mark.parametrize("name", ["vp", "vp_cosine", "ve", "subvp", "interpolant"])
def test_oracle_recovers_mixture(name, sampler):
    mix = _mixture()
    proc = GaussianProcess(SCHEDULES[name])
    joint = JointProcess({"x": proc})
    kind = "velocity" if name == "interpolant" else "score"
    oracle = GaussianMixtureOracle("x", mix, proc, kind)
    res = get_sampler(sampler, **SAMPLER_SETTINGS[sampler]).sample(
        joint, oracle, {"x": (N, 2)}, generator=torch.Generator().manual_seed(0))
    ref = mix.sample(N, torch.Generator().manual_seed(99))
    d = mmd_rbf(res.fields["x"], ref)
    assert d < MMD_BOUND, f"{name} x {sampler}: MMD {d:.4f} >= {MMD_BOUND}"


def test_flow_matching_few_steps_and_nfe_count():
    mix = _mixture()
    proc = FlowMatching()
    joint = JointProcess({"x": proc})
    oracle = GaussianMixtureOracle("x", mix, proc, "velocity")
    res = get_sampler("heun", steps=10).sample(joint, oracle, {"x": (N, 2)}, generator=torch.Generator().manual_seed(0))
    assert res.nfe == 19
    assert mmd_rbf(res.fields["x"], mix.sample(N, torch.Generator().manual_seed(99))) < MMD_BOUND


class _Conditional:
    """Oracle of two mixtures: condition 1 selects the shifted one; drop -> their average target is not exact but
    the conditional branch must be used unchanged at guidance scale 1."""

    prediction_kinds = {"x": "x1"}

    def __init__(self, proc):
        self.proc = proc
        self.a = GaussianMixtureOracle("x", _mixture(), proc)
        shifted = GaussianMixture(torch.ones(1), torch.tensor([[5.0, 5.0]]), torch.tensor([0.3]))
        self.b = GaussianMixtureOracle("x", shifted, proc)

    def __call__(self, state, condition=None, drop_condition=None):
        if drop_condition is not None and bool(drop_condition.all()):
            return self.a(state)
        return self.b(state)


def test_cfg_scale_one_is_conditional_and_scale_moves_samples():
    proc = GaussianProcess(VPLinear())
    joint = JointProcess({"x": proc})
    den = _Conditional(proc)
    s = get_sampler("dpm_solver", steps=20)
    plain = s.sample(joint, den, {"x": (200, 2)}, generator=torch.Generator().manual_seed(0))
    guided = s.sample(joint, den, {"x": (200, 2)}, guidance=ClassifierFreeGuidance(1.0),
                      generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(plain.fields["x"], guided.fields["x"])
    assert guided.nfe == 2 * plain.nfe
    strong = s.sample(joint, den, {"x": (200, 2)}, guidance=ClassifierFreeGuidance(2.0),
                      generator=torch.Generator().manual_seed(0))
    # extrapolating away from the unconditional mixture pushes the mean beyond the conditional mode (5, 5)
    assert strong.fields["x"].mean(0).min() > 5.5


@pytest.mark.parametrize("sampler", ["ancestral", "euler_maruyama", "dpm_solver", "heun", "pc"])
def test_inpainting_keeps_known_entries(sampler):
    proc = GaussianProcess(VPLinear())
    joint = JointProcess({"x": proc})
    oracle = GaussianMixtureOracle("x", _mixture(), proc, "score")
    known = torch.zeros(300, 2)
    known[:, 0] = 2.0
    mask = torch.tensor([True, False])
    res = get_sampler(sampler, steps=40).sample(joint, oracle, {"x": (300, 2)},
                                                fixed=Inpaint({"x": known}, {"x": mask}),
                                                generator=torch.Generator().manual_seed(0))
    x = res.fields["x"]
    assert torch.all(x[:, 0] == 2.0)
    # given x = 2 only the component at (2, 0) is plausible: the free coordinate concentrates near 0
    assert x[:, 1].abs().median() < 0.5


def test_prediction_of_the_wrong_shape_is_refused():
    from morphogen.objectives.weighted import WeightedObjective

    proc = GaussianProcess(VPLinear())
    joint = JointProcess({"x": proc})

    class Wrong:
        prediction_kinds = {"x": "noise"}

        def __call__(self, state, condition=None, drop_condition=None):
            return {"x": torch.zeros(state["x"].value.shape[0], 1)}  # would broadcast silently against (B, 2)

    c = joint.corrupt({"x": torch.randn(8, 2)})
    with pytest.raises(ProcessError, match=r"field 'x'.*shape \(8, 1\), expected \(8, 2\)"):
        WeightedObjective()(joint, Wrong()({k: v.state for k, v in c.items()}), {"x": "noise"}, c)
    with pytest.raises(ProcessError, match="expected"):
        get_sampler("ancestral", steps=3).sample(joint, Wrong(), {"x": (8, 2)})


def test_pc_scale_eps_shrinks_the_corrector_noise():
    """scale_eps = 1 is Langevin dynamics (the exact target, N(2, 0.5^2) here); GDSS's 0.7 narrows the samples."""
    from morphogen.schedules import VE

    mu, s = 2.0, 0.5
    sched = VE(sigma_min=0.01, sigma_max=5.0, eps=1e-4)
    joint = JointProcess({"x": GaussianProcess(sched)})

    class Oracle:
        prediction_kinds = {"x": "score"}

        def __call__(self, state, condition=None, drop_condition=None):
            st = state["x"]
            return {"x": -(st.value - mu) / (s * s + sched.sigma(st.t)[:, None] ** 2)}

    def run(scale_eps):
        return get_sampler("pc", steps=100, predictor="euler_maruyama", snr=0.2, scale_eps=scale_eps).sample(
            joint, Oracle(), {"x": (4000, 1)}, generator=torch.Generator().manual_seed(0)).fields["x"]

    x = run(1.0)
    assert abs(float(x.mean()) - mu) < 0.05 and abs(float(x.std()) - s) < 0.04
    assert float(run(0.5).std()) < 0.9 * float(x.std())
    with pytest.raises(ValueError, match="scale_eps"):
        get_sampler("pc", scale_eps=-1.0)


@pytest.mark.parametrize("corrector_steps", [0, 1])
@pytest.mark.parametrize("name", ["vp", "vp_cosine", "ve", "subvp"])
def test_reverse_diffusion_predictor_recovers_mixture(name, corrector_steps):
    """Song et al.'s reverse-diffusion predictor (GDSS's "Reverse"), alone and with a Langevin corrector, on the
    oracle score of the mixture."""
    mix = _mixture()
    proc = GaussianProcess(SCHEDULES[name])
    oracle = GaussianMixtureOracle("x", mix, proc, "score")
    s = get_sampler("pc", steps=100, predictor="reverse_diffusion", corrector_steps=corrector_steps, snr=0.16)
    res = s.sample(JointProcess({"x": proc}), oracle, {"x": (N, 2)}, generator=torch.Generator().manual_seed(0))
    assert res.nfe == 100 * (1 + corrector_steps)
    d = mmd_rbf(res.fields["x"], mix.sample(N, torch.Generator().manual_seed(99)))
    assert d < MMD_BOUND, f"{name}, {corrector_steps} corrector steps: MMD {d:.4f} >= {MMD_BOUND}"


def test_reverse_diffusion_step_is_songs_formula():
    """VE: x' = x + (sigma_t^2 - sigma_next^2) score + sqrt(sigma_t^2 - sigma_next^2) z (Song et al., eq. 47 of
    their appendix); VP: x' = (2 - r) x + G^2 score + G z with r = alpha_t / alpha_next."""
    from morphogen.processes.base import FieldState
    from morphogen.samplers.predictor_corrector import reverse_diffusion_step
    from morphogen.schedules import VE

    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(1))
    score = torch.randn(5, 3, generator=torch.Generator().manual_seed(2))
    t, tn = torch.full((5,), 0.3), torch.full((5,), 0.31)
    for sched in (VE(sigma_min=0.1, sigma_max=5.0), VPLinear()):
        proc = GaussianProcess(sched)
        got = reverse_diffusion_step(proc, FieldState(x, t), score, "score", tn, torch.Generator().manual_seed(3))
        z = proc.sample_noise((5, 3), None, x.device, x.dtype, torch.Generator().manual_seed(3))
        r = sched.alpha(t)[:, None] / sched.alpha(tn)[:, None]
        g2 = sched.sigma(t)[:, None] ** 2 - r ** 2 * sched.sigma(tn)[:, None] ** 2
        if isinstance(sched, VE):
            torch.testing.assert_close(r, torch.ones_like(r))
        torch.testing.assert_close(got.value, (2 - r) * x + g2 * score + g2.sqrt() * z)
        torch.testing.assert_close(got.t, tn)
