"""Discrete processes (masked, uniform, Bernoulli): forward marginals, losses, input checks and oracle sampling.

Oracle tests draw N samples with the ancestral sampler and the exact posterior denoiser of a product of independent
categoricals (or independent Bernoulli entries) and bound the distance of the empirical frequencies to the target.
Bounds are stated as multiples of the sampling noise of an exact sampler (``categorical_tv_noise``): about 0.0106
for N = 4000, L = 6, K = 5 (bound 0.0211). Each "wrong" variant (perturbed oracle, oracle of another schedule, a
posterior with a deliberate error) is checked to fail the same bound, so the bounds catch the mistakes they are
meant to.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import morphogen.processes.uniform as uniform_module
from morphogen.guidance.cfg import ClassifierFreeGuidance
from morphogen.guidance.inpaint import Inpaint
from morphogen.oracles.categorical import BernoulliOracle, CategoricalProductOracle
from morphogen.metrics.categorical import bernoulli_max_error, categorical_tv, categorical_tv_noise
from morphogen.processes.base import Corrupted, FieldState, ProcessError
from morphogen.processes.bernoulli import BernoulliDiffusion
from morphogen.processes.joint import JointProcess
from morphogen.processes.masked import MaskedDiffusion
from morphogen.processes.uniform import UniformDiscrete, uniform_posterior
from morphogen.samplers.ancestral import Ancestral
from morphogen.schedules.discrete import CosineKeep, KeepSchedule, LinearKeep, PolynomialKeep

L, K, N = 6, 5, 4000
#: oracle bound on the mean total variation: 2 x the expected TV of N exact draws (~0.011 here)
TV_FACTOR = 2.0


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def target_probs() -> torch.Tensor:
    """(L, K) class probabilities, uneven per position (smallest about 0.004)."""
    p = torch.rand(L, K, generator=gen(123)) ** 2 + 0.02
    return p / p.sum(dim=-1, keepdim=True)


def tv_bound(probs: torch.Tensor, n: int = N) -> float:
    return TV_FACTOR * categorical_tv_noise(probs, n)


def sample(proc, oracle, steps: int, seed: int = 0, n: int = N, shape: tuple[int, ...] | None = None, **kwargs):
    """Ancestral samples (n, *shape) of the field "x"; ``shape`` defaults to the oracle's target shape."""
    if shape is None:
        probs = oracle.probs
        shape = tuple(probs.shape[:-1]) if isinstance(oracle, CategoricalProductOracle) else tuple(probs.shape)
    joint = JointProcess({"x": proc})
    return Ancestral(steps=steps).sample(joint, oracle, shapes={"x": (n, *shape)}, generator=gen(seed), **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# schedules
# ---------------------------------------------------------------------------------------------------------------
SCHEDULES = [LinearKeep(), CosineKeep(), PolynomialKeep(2.0)]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=repr)
def test_keep_schedule_endpoints_derivative_dtype(schedule: KeepSchedule):
    t = torch.tensor([0.0, 1.0], dtype=torch.float64)
    assert torch.allclose(schedule.alpha(t), torch.tensor([0.0, 1.0], dtype=torch.float64))
    grid = torch.linspace(0.05, 0.95, 19, dtype=torch.float64)
    h = 1e-6
    fd = (schedule.alpha(grid + h) - schedule.alpha(grid - h)) / (2 * h)
    assert torch.allclose(schedule.d_alpha(grid), fd, atol=1e-6)
    assert (schedule.alpha(grid).diff() > 0).all()
    t32 = torch.rand(3, 4)
    assert schedule.alpha(t32).dtype == torch.float32 and schedule.alpha(t32).shape == (3, 4)
    assert schedule.d_alpha(t32).dtype == torch.float32


# ---------------------------------------------------------------------------------------------------------------
# forward marginals: 20 000 draws; tolerance 5 standard errors of a frequency (<= 0.018)
# ---------------------------------------------------------------------------------------------------------------
DRAWS = 20_000
FREQ_TOL = 5 * math.sqrt(0.25 / DRAWS)


@pytest.mark.parametrize("schedule", [LinearKeep(), CosineKeep()], ids=repr)
@pytest.mark.parametrize("t", [0.1, 0.5, 0.9])
def test_masked_forward_marginal(schedule, t):
    proc = MaskedDiffusion(K, schedule)
    x1 = torch.randint(0, K, (DRAWS, 1), generator=gen(1))
    c = proc.corrupt(x1, torch.full((DRAWS,), t), generator=gen(2))
    shown = c.state.value != proc.mask_id
    alpha = float(schedule.alpha(torch.tensor(t)))
    assert abs(shown.double().mean().item() - alpha) < FREQ_TOL
    assert torch.equal(c.state.value[shown], x1[shown])  # a token is either its data value or the mask
    assert set(c.state.value.unique().tolist()) <= set(range(K)) | {proc.mask_id}


@pytest.mark.parametrize("schedule", [LinearKeep(), CosineKeep()], ids=repr)
@pytest.mark.parametrize("t", [0.0, 0.3, 0.8])
def test_uniform_forward_marginal(schedule, t):
    proc = UniformDiscrete(K, schedule)
    x1 = torch.full((DRAWS, 1), 2, dtype=torch.long)
    c = proc.corrupt(x1, torch.full((DRAWS,), t), generator=gen(3))
    freq = F.one_hot(c.state.value[:, 0], K).double().mean(0)
    alpha = float(schedule.alpha(torch.tensor(t, dtype=torch.float64)))
    exact = torch.full((K,), (1 - alpha) / K, dtype=torch.float64)
    exact[2] += alpha
    assert (freq - exact).abs().max() < FREQ_TOL


@pytest.mark.parametrize("t", [0.0, 0.4, 0.9])
def test_bernoulli_forward_marginal(t):
    proc = BernoulliDiffusion(CosineKeep())
    x1 = (torch.arange(2 * DRAWS) % 2).float().reshape(DRAWS, 1, 2)  # entry 0 is 0., entry 1 is 1.
    c = proc.corrupt(x1, torch.full((DRAWS,), t), generator=gen(4))
    alpha = float(CosineKeep().alpha(torch.tensor(t)))
    freq = c.state.value.mean(0).flatten()
    exact = torch.tensor([(1 - alpha) / 2, alpha + (1 - alpha) / 2])
    assert (freq - exact).abs().max() < FREQ_TOL
    assert set(c.state.value.unique().tolist()) <= {0.0, 1.0}


# ---------------------------------------------------------------------------------------------------------------
# padding, prior, dtypes
# ---------------------------------------------------------------------------------------------------------------
def test_padding_never_corrupted_nor_sampled():
    b = 64
    mask = torch.ones(b, 8, dtype=torch.bool)
    mask[:, 5:] = False
    t0 = torch.zeros(b)
    tokens = torch.randint(0, K, (b, 8), generator=gen(5))
    for proc in (MaskedDiffusion(K), UniformDiscrete(K)):
        c = proc.corrupt(tokens, t0, mask, generator=gen(6))
        assert torch.equal(c.state.value[:, 5:], tokens[:, 5:])
        prior = proc.prior((b, 8), mask, dtype=torch.float32, generator=gen(7))
        assert prior.value.dtype == torch.long and prior.t.dtype == torch.float32
        assert (prior.value[:, 5:] == 0).all()
        logits = torch.randn(b, 8, K, generator=gen(8))
        nxt = proc.reverse_step(prior, logits, "logits", torch.full((b,), 0.5), generator=gen(9))
        assert (nxt.value[:, 5:] == 0).all()
        assert (proc.final_step(nxt, logits, "logits", gen(10))[:, 5:] == 0).all()
    masked = MaskedDiffusion(K).prior((b, 8), mask)
    assert (masked.value[:, :5] == K).all()
    bits = (torch.rand(b, 1, 4, 4, generator=gen(11)) < 0.5).float()
    pix_mask = torch.ones(b, 1, 4, 4)
    pix_mask[..., 2:] = 0
    proc = BernoulliDiffusion()
    c = proc.corrupt(bits, t0, pix_mask, generator=gen(12))
    assert torch.equal(c.state.value[..., 2:], bits[..., 2:])
    prior = proc.prior((b, 1, 4, 4), pix_mask, generator=gen(13))
    assert (prior.value[..., 2:] == 0).all()
    nxt = proc.reverse_step(prior, torch.randn(b, 1, 4, 4, generator=gen(14)), "logits", torch.full((b,), 0.5), gen(15))
    assert (nxt.value[..., 2:] == 0).all()


def test_prior_time_dtype_follows_request():
    st = UniformDiscrete(K).prior((3, 2), dtype=torch.float64, generator=gen(0))
    assert st.value.dtype == torch.long and st.t.dtype == torch.float64 and (st.t == 0).all()
    st = BernoulliDiffusion().prior((3, 1, 2, 2), dtype=torch.float64, generator=gen(0))
    assert st.value.dtype == torch.float64


def test_capabilities_and_sampler_compatibility():
    assert MaskedDiffusion(K).capabilities == {"ancestral", "unmask", "renoise"}
    for proc in (MaskedDiffusion(K), UniformDiscrete(K), BernoulliDiffusion()):
        assert Ancestral.compatible_with(proc)


# ---------------------------------------------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------------------------------------------
def test_masked_loss_hand_case():
    """t = 0.5, linear: w = alpha' / (1 - alpha) = 2. Two of three real tokens masked, uniform logits (CE log 3)."""
    proc = MaskedDiffusion(3)
    x1 = torch.tensor([[0, 1, 2, 0]])
    xt = torch.tensor([[3, 1, 3, 0]])
    pad = torch.tensor([[True, True, True, False]])
    corrupted = Corrupted(FieldState(xt, torch.tensor([0.5]), pad), x1=x1)
    logits = torch.zeros(1, 4, 3)
    elbo = proc.loss(logits, "logits", corrupted)
    assert torch.allclose(elbo, torch.tensor([2.0 * 2 * math.log(3) / 3]))  # w * sum CE / real tokens
    uniform = MaskedDiffusion(3, loss_weighting="uniform").loss(logits, "logits", corrupted)
    assert torch.allclose(uniform, torch.tensor([math.log(3)]))
    # a perfect prediction on the masked positions costs nothing, a wrong one on a shown token costs nothing too
    sharp = torch.full((1, 4, 3), -30.0)
    sharp[0, 0, 0] = sharp[0, 2, 2] = 30.0
    sharp[0, 1, 0] = 30.0
    assert proc.loss(sharp, "logits", corrupted).item() < 1e-6


@pytest.mark.parametrize("schedule", [LinearKeep(), CosineKeep()], ids=repr)
@pytest.mark.parametrize("t", [0.2, 0.7, 0.95])
def test_masked_elbo_weight_expectation(schedule, t):
    """With uniform logits the expected ELBO at t is alpha'(t) log K per token (it integrates to log K over t)."""
    proc = MaskedDiffusion(K, schedule)
    b, n = 8, 4000
    x1 = torch.randint(0, K, (b, n), generator=gen(16))
    c = proc.corrupt(x1, torch.full((b,), t), generator=gen(17))
    loss = proc.loss(torch.zeros(b, n, K), "logits", c).mean().item()
    expected = float(schedule.d_alpha(torch.tensor(t))) * math.log(K)
    assert abs(loss - expected) < 0.05 * expected


def test_losses_finite_at_time_ends_and_hand_values():
    x1 = torch.randint(0, K, (4, L), generator=gen(18))
    for t in (0.0, 1.0):
        tt = torch.full((4,), t)
        for proc in (MaskedDiffusion(K), MaskedDiffusion(K, CosineKeep()), UniformDiscrete(K)):
            c = proc.corrupt(x1, tt, generator=gen(19))
            loss = proc.loss(torch.randn(4, L, K, generator=gen(20)), "logits", c)
            assert loss.shape == (4,) and torch.isfinite(loss).all()
    c = UniformDiscrete(K).corrupt(x1, torch.full((4,), 0.3), generator=gen(21))
    assert torch.allclose(UniformDiscrete(K).loss(torch.zeros(4, L, K), "logits", c), torch.full((4,), math.log(K)))
    bits = (torch.rand(4, 1, 3, 3, generator=gen(22)) < 0.5).float()
    c = BernoulliDiffusion().corrupt(bits, torch.full((4,), 0.3), generator=gen(23))
    assert torch.allclose(BernoulliDiffusion().loss(torch.zeros_like(bits), "logits", c), torch.full((4,), math.log(2)))


# ---------------------------------------------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("proc", [MaskedDiffusion(K), UniformDiscrete(K)], ids=lambda p: type(p).__name__)
def test_token_processes_reject_bad_data(proc):
    joint = JointProcess({"tokens": proc})
    with pytest.raises(ProcessError, match=r"field 'tokens'.*long"):
        joint.corrupt({"tokens": torch.zeros(2, L)})
    with pytest.raises(ProcessError, match=r"field 'tokens'.*NaN"):
        joint.corrupt({"tokens": torch.full((2, L), float("nan"))})
    bad = torch.zeros(2, L, dtype=torch.long)
    bad[1, 3] = 7
    with pytest.raises(ProcessError, match=r"field 'tokens': class 7 at index \(1, 3\)"):
        joint.corrupt({"tokens": bad})
    bad[1, 3] = -1
    with pytest.raises(ProcessError, match=r"field 'tokens': class -1"):
        joint.corrupt({"tokens": bad})
    with pytest.raises(ProcessError, match="cannot use a 'x1' prediction"):
        joint.check_kinds({"tokens": "x1"})
    state = proc.prior((2, L))
    with pytest.raises(ProcessError, match=r"logits of shape \(2, 6, 4\)"):
        proc.reverse_step(state, torch.zeros(2, L, K - 1), "logits", torch.full((2,), 0.5))


def test_bernoulli_rejects_bad_data():
    joint = JointProcess({"seg": BernoulliDiffusion()})
    with pytest.raises(ProcessError, match=r"field 'seg'.*float"):
        joint.corrupt({"seg": torch.zeros(2, 1, 4, 4, dtype=torch.long)})
    x = torch.zeros(2, 1, 4, 4)
    x[0, 0, 1, 2] = 0.5
    with pytest.raises(ProcessError, match=r"field 'seg'.*0\.5 at index \(0, 0, 1, 2\)"):
        joint.corrupt({"seg": x})
    x[0, 0, 1, 2] = float("nan")
    with pytest.raises(ProcessError, match=r"field 'seg'.*NaN"):
        joint.corrupt({"seg": x})
    with pytest.raises(ProcessError, match="logit of shape"):
        BernoulliDiffusion().loss(torch.zeros(2, 4, 4), "logits", BernoulliDiffusion().corrupt(torch.zeros(2, 1, 4, 4),
                                                                                             torch.zeros(2)))


# ---------------------------------------------------------------------------------------------------------------
# reverse-step rules
# ---------------------------------------------------------------------------------------------------------------
def test_uniform_posterior_matches_bayes_with_transition_matrices():
    """Brute force in float64: q(x_s | x_t, x1) by Bayes from explicit transition matrices, marginalised over p."""
    k = 4
    eye = torch.eye(k, dtype=torch.float64)
    ones = torch.full((k, k), 1.0 / k, dtype=torch.float64)
    p = torch.softmax(torch.randn(k, generator=gen(24), dtype=torch.float64), dim=0)
    for a_t, a_s in [(0.0, 0.3), (0.2, 0.5), (0.6, 0.61), (0.9, 1.0)]:
        qs = a_s * eye + (1 - a_s) * ones  # [x1 = k, x_s = j]
        beta = a_t / a_s
        qts = beta * eye + (1 - beta) * ones  # [x_s = j, x_t = i]
        qt = a_t * eye + (1 - a_t) * ones  # [x1 = k, x_t = i]
        assert torch.allclose(qs @ qts, qt)
        for i in range(k):
            # q(x_s = j | x_t = i, x1 = k) = q(x_s = j | x1 = k) q(x_t = i | x_s = j) / q(x_t = i | x1 = k)
            bayes = qs * qts[:, i][None, :] / qt[:, i][:, None]  # [k, j]
            assert torch.allclose(bayes.sum(1), torch.ones(k, dtype=torch.float64))
            exact = (p[:, None] * bayes).sum(0)  # marginalised over the predicted x1 distribution p
            got = uniform_posterior(torch.tensor(i), p, torch.tensor(a_t, dtype=torch.float64),
                                    torch.tensor(a_s, dtype=torch.float64))
            assert torch.allclose(got, exact, atol=1e-12), (a_t, a_s, i)
    one = torch.tensor(1.0, dtype=torch.float64)
    assert torch.equal(uniform_posterior(torch.tensor(2), p, one, one), torch.eye(k, dtype=torch.float64)[2])


def test_masked_reverse_keeps_revealed_tokens_and_reveal_rate():
    proc = MaskedDiffusion(K)
    b = 20_000
    value = torch.full((b, 2), proc.mask_id)
    value[:, 1] = 3
    state = FieldState(value, torch.full((b,), 0.2))
    logits = torch.zeros(b, 2, K)
    logits[..., 0] = 5.0  # pulls every draw towards class 0
    nxt = proc.reverse_step(state, logits, "logits", torch.full((b,), 0.6), generator=gen(25))
    assert (nxt.value[:, 1] == 3).all()
    revealed = nxt.value[:, 0] != proc.mask_id
    assert abs(revealed.double().mean().item() - (0.6 - 0.2) / (1 - 0.2)) < FREQ_TOL
    assert torch.allclose(nxt.t, torch.full((b,), 0.6))


def test_masked_final_step_samples_and_estimate_takes_argmax():
    proc = MaskedDiffusion(2)
    b = 20_000
    value = torch.full((b, 2), proc.mask_id)
    value[:, 1] = 1
    state = FieldState(value, torch.full((b,), 0.9))
    logits = torch.log(torch.tensor([0.7, 0.3])).expand(b, 2, 2)
    final = proc.final_step(state, logits, "logits", gen(26))
    assert abs((final[:, 0] == 0).double().mean().item() - 0.7) < FREQ_TOL
    assert (final[:, 1] == 1).all()
    est = proc.estimate_x1(state, logits, "logits")
    assert (est[:, 0] == 0).all() and (est[:, 1] == 1).all()


# ---------------------------------------------------------------------------------------------------------------
# oracle sampling
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [LinearKeep(), CosineKeep()], ids=repr)
def test_masked_oracle_recovers_product_of_categoricals(schedule):
    probs = target_probs()
    proc = MaskedDiffusion(K, schedule)
    res = sample(proc, CategoricalProductOracle("x", probs, proc), steps=20)
    assert res.nfe == 20
    x = res.fields["x"]
    assert x.dtype == torch.long and x.shape == (N, L) and int(x.max()) < K
    assert categorical_tv(x, probs) < tv_bound(probs)  # measured 0.0100 (linear), 0.0113 (cosine); bound 0.0211


def test_masked_oracle_bound_rejects_a_perturbed_target():
    probs = target_probs()
    proc = MaskedDiffusion(K)
    wrong = 0.85 * probs + 0.15 / K  # 15 % of the mass spread uniformly
    res = sample(proc, CategoricalProductOracle("x", wrong, proc), steps=20)
    assert categorical_tv(res.fields["x"], probs) > tv_bound(probs)  # measured 0.061


@pytest.mark.parametrize("schedule", [LinearKeep(), CosineKeep()], ids=repr)
def test_uniform_oracle_recovers_product_and_forward_marginals(schedule):
    probs = target_probs()
    proc = UniformDiscrete(K, schedule)
    steps = 50
    res = sample(proc, CategoricalProductOracle("x", probs, proc), steps=steps, keep_trajectory=True)
    assert categorical_tv(res.fields["x"], probs) < tv_bound(probs)  # measured 0.0099 (linear), 0.0105 (cosine)
    # the sampler's intermediate states follow the forward marginals alpha probs + (1 - alpha) / K
    for i in (9, 24, 39):
        alpha = schedule.alpha(torch.tensor((i + 1) / steps, dtype=torch.float64))
        marginal = alpha * probs.double() + (1 - alpha) / K
        assert categorical_tv(res.trajectory[i]["x"], marginal) < tv_bound(marginal)  # measured <= 0.013, bound ~0.024


def test_uniform_oracle_bound_rejects_wrong_oracle_and_wrong_posterior(monkeypatch):
    probs = target_probs()
    proc = UniformDiscrete(K)
    # an oracle computed for another schedule (alpha = t^3 instead of t): measured TV 0.046
    res = sample(proc, CategoricalProductOracle("x", probs, UniformDiscrete(K, PolynomialKeep(3.0))), steps=50)
    assert categorical_tv(res.fields["x"], probs) > tv_bound(probs)

    # a posterior evaluated at alpha(t) alpha(s) instead of alpha(t) (a wrong step kernel): measured TV 0.109
    def wrong_posterior(x_t, p, alpha_t, alpha_s):
        return uniform_posterior(x_t, p, alpha_t * alpha_s, alpha_s)

    monkeypatch.setattr(uniform_module, "uniform_posterior", wrong_posterior)
    res = sample(proc, CategoricalProductOracle("x", probs, proc), steps=50)
    assert categorical_tv(res.fields["x"], probs) > tv_bound(probs)


BERNOULLI_N = 4000
#: max over 64 pixels of |frequency - p|: 4.5 standard errors of a p = 1/2 frequency (0.036)
BERNOULLI_BOUND = 4.5 * math.sqrt(0.25 / BERNOULLI_N)


def bernoulli_target() -> torch.Tensor:
    """(1, 8, 8) pixel probabilities 0.02 .. 0.98 in a shuffled order."""
    return torch.linspace(0.02, 0.98, 64, dtype=torch.float64)[torch.randperm(64, generator=gen(27))].reshape(1, 8, 8)


def test_bernoulli_oracle_recovers_independent_pixels():
    probs = bernoulli_target()
    proc = BernoulliDiffusion()
    res = sample(proc, BernoulliOracle("x", probs, proc), steps=20, n=BERNOULLI_N)
    x = res.fields["x"]
    assert x.shape == (BERNOULLI_N, 1, 8, 8) and set(x.unique().tolist()) <= {0.0, 1.0}
    assert bernoulli_max_error(x, probs) < BERNOULLI_BOUND  # measured 0.015; bound 0.036


def test_bernoulli_oracle_bound_rejects_wrong_schedule():
    probs = bernoulli_target()
    proc = BernoulliDiffusion()
    wrong = BernoulliOracle("x", probs, BernoulliDiffusion(PolynomialKeep(3.0)))
    res = sample(proc, wrong, steps=20, n=BERNOULLI_N)
    assert bernoulli_max_error(res.fields["x"], probs) > BERNOULLI_BOUND  # measured 0.059


# ---------------------------------------------------------------------------------------------------------------
# guidance
# ---------------------------------------------------------------------------------------------------------------
def test_inpaint_clean_keeps_known_tokens_and_samples_the_rest():
    probs = target_probs()
    proc = MaskedDiffusion(K)
    known_values = torch.randint(0, K, (N, L), generator=gen(28))
    known = torch.zeros(N, L, dtype=torch.bool)
    known[:, :2] = True
    known[::2, 4] = True  # every other sample also fixes position 4
    fixed = Inpaint({"x": known_values}, {"x": known}, mode="clean")
    res = sample(proc, CategoricalProductOracle("x", probs, proc), steps=20, fixed=fixed, keep_trajectory=True)
    x = res.fields["x"]
    assert torch.equal(x[known], known_values[known])
    for step in res.trajectory:  # shown clean at every step
        assert torch.equal(step["x"][known], known_values[known])
    # the unknown positions follow the target (independent of the known ones under a product target)
    assert categorical_tv(x[:, 2:4], probs[2:4]) < tv_bound(probs[2:4])
    odd = x[1::2, 4:5]
    assert categorical_tv(odd, probs[4:5]) < tv_bound(probs[4:5], odd.shape[0])


class ConditionalOracle:
    """Condition c in {0, 1} (B,) selects a product target; dropped rows (or no condition) use a third one."""

    def __init__(self, proc, seed: int = 29):
        g = gen(seed)
        tables = torch.softmax(2 * torch.randn(3, L, K, generator=g, dtype=torch.float64), dim=-1)
        self.oracles = [CategoricalProductOracle("x", tables[i], proc) for i in range(3)]
        self.prediction_kinds = {"x": "logits"}

    def __call__(self, state, condition=None, drop_condition=None):
        outs = torch.stack([o(state)["x"] for o in self.oracles])  # (3, B, L, K)
        b = outs.shape[1]
        pick = torch.full((b,), 2, dtype=torch.long) if condition is None else condition.clone()
        if drop_condition is not None:
            pick = torch.where(drop_condition, torch.full_like(pick, 2), pick)
        return {"x": outs[pick, torch.arange(b)]}


@pytest.mark.parametrize("proc", [MaskedDiffusion(K), UniformDiscrete(K)], ids=lambda p: type(p).__name__)
def test_cfg_scale_one_is_conditional_and_zero_unconditional(proc):
    oracle = ConditionalOracle(proc)
    cond = (torch.arange(1000) % 2).long()
    steps = 20
    plain = sample(proc, oracle, steps, seed=3, n=1000, shape=(L,), condition=cond).fields["x"]
    guided = sample(proc, oracle, steps, seed=3, n=1000, shape=(L,), condition=cond,
                    guidance=ClassifierFreeGuidance(scale=1.0)).fields["x"]
    assert torch.equal(plain, guided)
    uncond = sample(proc, oracle, steps, seed=3, n=1000, shape=(L,)).fields["x"]
    zero = sample(proc, oracle, steps, seed=3, n=1000, shape=(L,), condition=cond,
                  guidance=ClassifierFreeGuidance(0.0)).fields["x"]
    assert torch.equal(uncond, zero)
    assert not torch.equal(plain, uncond)


def test_padding_may_hold_any_placeholder_but_real_entries_are_checked():
    """-100 (PyTorch's ignore index) on padded entries is fine; on a real entry it is an error naming the field."""
    from morphogen.processes.joint import JointProcess

    proc = MaskedDiffusion(5)
    joint = JointProcess({"tokens": proc})
    x = torch.tensor([[1, 2, -100, -100], [0, 4, 3, -100]])
    mask = x != -100
    c = joint.corrupt({"tokens": x}, {"tokens": mask}, generator=torch.Generator().manual_seed(0))
    assert torch.equal(c["tokens"].state.value[~mask], x[~mask])
    with pytest.raises(ProcessError, match="tokens"):
        joint.corrupt({"tokens": x}, {"tokens": torch.ones_like(mask)})
