"""Ordered unmasking (``morphogen.samplers.unmask``): oracle sampling, exact counts, domain rules, continuing a
partly revealed state, guidance and fixed fields, bad input.

Oracle: the exact posterior of a product of independent categoricals (L = 6 positions, K = 5 classes, N = 4000
samples); the bound on the mean total variation is 2 x the sampling noise of N exact draws (0.0211), as in
tests/core/test_discrete.py. With such a target every cell's posterior is its marginal, so an order that chooses
cells independently of their drawn tokens ("random") is exact, and the confidence order is biased towards the modes
unless its choice noise swamps the log-probabilities; the greedy order is checked to fail the bound.
"""
from __future__ import annotations

import pytest
import torch

from morphogen.guidance.cfg import ClassifierFreeGuidance
from morphogen.guidance.inpaint import Inpaint
from morphogen.metrics.categorical import categorical_tv, categorical_tv_noise
from morphogen.oracles.categorical import CategoricalProductOracle
from morphogen.processes.base import ProcessError
from morphogen.processes.joint import JointProcess
from morphogen.processes.masked import MaskedDiffusion
from morphogen.processes.uniform import UniformDiscrete
from morphogen.samplers import IncompatibleSamplerError, compatible_samplers, get_sampler
from morphogen.samplers.ancestral import Ancestral
from morphogen.samplers.unmask import ForcedCells, OrderedUnmasking, UnmaskRule
from morphogen.schedules.discrete import CosineKeep, LinearKeep
from morphogen.utils.config import build, spec_of

L, K, N = 6, 5, 4000


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def target_probs() -> torch.Tensor:
    """(L, K) class probabilities, uneven per position (the target of tests/core/test_discrete.py)."""
    p = torch.rand(L, K, generator=gen(123)) ** 2 + 0.02
    return p / p.sum(dim=-1, keepdim=True)


def bound(probs: torch.Tensor, n: int = N) -> float:
    return 2.0 * categorical_tv_noise(probs, n)


def run(sampler, proc, probs=None, n: int = N, seed: int = 0, oracle=None, **kwargs):
    probs = target_probs() if probs is None else probs
    oracle = CategoricalProductOracle("x", probs, proc) if oracle is None else oracle
    return sampler.sample(JointProcess({"x": proc}), oracle, {"x": (n, L)}, generator=gen(seed), **kwargs)


class Recorder:
    """Wraps a denoiser and records the state's tokens and times at each call."""

    def __init__(self, inner):
        self.inner, self.prediction_kinds = inner, inner.prediction_kinds
        self.values, self.times = [], []

    def __call__(self, state, condition=None, drop_condition=None):
        self.values.append(state["x"].value.clone())
        self.times.append(state["x"].t.clone())
        return self.inner(state, condition, drop_condition)


# ---------------------------------------------------------------------------------------------------------------
# oracle sampling and counts
# ---------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("schedule", [LinearKeep(), CosineKeep()], ids=repr)
def test_random_order_recovers_product_of_categoricals(schedule):
    probs = target_probs()
    proc = MaskedDiffusion(K, schedule)
    res = run(OrderedUnmasking(steps=10, order="random"), proc, probs)
    x = res.fields["x"]
    assert res.nfe == 10 and x.dtype == torch.long and x.shape == (N, L) and int(x.max()) < K
    assert categorical_tv(x, probs) < bound(probs)  # measured 0.0087 (linear), 0.0084 (cosine); bound 0.0211


def test_confidence_order_close_with_large_choice_noise_biased_when_greedy():
    probs = target_probs()
    proc = MaskedDiffusion(K)
    noisy = run(OrderedUnmasking(steps=10, order="confidence", choice_noise=50.0), proc, probs).fields["x"]
    assert categorical_tv(noisy, probs) < bound(probs)  # measured 0.0127
    greedy = run(OrderedUnmasking(steps=10, order="confidence"), proc, probs).fields["x"]
    assert categorical_tv(greedy, probs) > 5 * bound(probs)  # measured 0.30: the bound catches the mode bias


def test_temperature_divides_the_logits():
    probs = target_probs()
    res = run(OrderedUnmasking(steps=5, order="random", temperature=0.5), MaskedDiffusion(K), probs)
    sharp = probs ** 2 / (probs ** 2).sum(dim=-1, keepdim=True)
    assert categorical_tv(res.fields["x"], sharp) < bound(sharp)  # measured 0.0074; bound 0.0160
    assert categorical_tv(res.fields["x"], probs) > bound(probs)  # measured 0.18


@pytest.mark.parametrize("order", ["random", "confidence"])
def test_counts_per_row_follow_the_keep_schedule(order):
    """After step i a row with n real cells shows round(n alpha(t_{i+1})) of them; padding is never touched."""
    schedule = CosineKeep()
    proc = MaskedDiffusion(K, schedule)
    n_real = torch.tensor([6, 5, 3, 1, 0])
    pad = torch.arange(L)[None] < n_real[:, None]
    steps = 7
    oracle = CategoricalProductOracle("x", target_probs(), proc)
    res = OrderedUnmasking(steps=steps, order=order).sample(JointProcess({"x": proc}), oracle, {"x": (5, L)},
                                                            masks={"x": pad}, generator=gen(1), keep_trajectory=True)
    assert res.nfe == steps and len(res.trajectory) == steps - 1
    for i, snap in enumerate(res.trajectory):
        shown = ((snap["x"] != K) & pad).sum(dim=1)
        want = torch.round(n_real * schedule.alpha(torch.tensor((i + 1) / steps, dtype=torch.float64))).long()
        assert torch.equal(shown, want), (i, shown, want)
        assert (snap["x"][~pad] == 0).all()
    assert (res.fields["x"][pad] < K).all() and (res.fields["x"][~pad] == 0).all()


# ---------------------------------------------------------------------------------------------------------------
# rules
# ---------------------------------------------------------------------------------------------------------------
class CopyRule(UnmaskRule):
    """Position 1 copies position 0 (forced once position 0 shows, never eligible before); class 0 is forbidden at
    positions 2 .. L-1."""

    def forced(self, field, x, masked):
        cells = torch.zeros_like(masked)
        cells[:, 1] = masked[:, 1] & ~masked[:, 0]
        return ForcedCells(cells, x[:, 0:1].expand_as(x))

    def eligible(self, field, x, masked):
        out = masked.clone()
        out[:, 1] = False
        return out

    def restrict(self, field, x, masked, logits):
        out = logits.clone()
        out[:, 2:, 0] = -1.0e9
        return out


@pytest.mark.parametrize("steps", [1, 8])
def test_rule_restricts_forces_and_orders_cells(steps):
    probs = target_probs()
    proc = MaskedDiffusion(K)
    rec = Recorder(CategoricalProductOracle("x", probs, proc))
    res = run(OrderedUnmasking(steps=steps, order="random", rule=CopyRule()), proc, probs, oracle=rec,
              keep_trajectory=True)
    x = res.fields["x"]
    assert res.nfe == steps == len(rec.values)  # the passes of the last step cost no evaluation
    assert torch.equal(x[:, 1], x[:, 0])  # forced, also where both were filled in the last step
    assert (x[:, 2:] != 0).all()
    renorm = probs[2:].clone()
    renorm[:, 0] = 0
    renorm /= renorm.sum(dim=-1, keepdim=True)
    assert categorical_tv(x[:, 2:], renorm) < bound(renorm)  # the other classes keep their relative weights
    assert categorical_tv(x[:, :1], probs[:1]) < bound(probs[:1])
    for i, snap in enumerate(res.trajectory):
        assert not ((snap["x"][:, 1] != K) & (snap["x"][:, 0] == K)).any()  # never a copy before its source
        # forced cells count against the quota: a copy forced at the start of a step can put a row one cell ahead
        shown = (snap["x"] != K).sum(dim=1)
        want = int(torch.round(torch.tensor(L * (i + 1) / steps, dtype=torch.float64)))
        assert ((shown >= want) & (shown <= want + 1)).all()


# ---------------------------------------------------------------------------------------------------------------
# continuing a partly revealed state
# ---------------------------------------------------------------------------------------------------------------
def test_start_keeps_revealed_cells_fills_the_rest_from_its_time():
    probs = target_probs()
    schedule = CosineKeep()
    proc = MaskedDiffusion(K, schedule)
    start = torch.randint(0, K, (N, L), generator=gen(5))
    hidden = torch.zeros(N, L, dtype=torch.bool)
    hidden[:, 3:] = True
    hidden[::2, 0] = True  # half of the rows: 4 of 6 masked, the other half 3 of 6
    start = torch.where(hidden, torch.full_like(start, K), start)
    rec = Recorder(CategoricalProductOracle("x", probs, proc))
    res = run(OrderedUnmasking(steps=4, order="random"), proc, probs, oracle=rec, start={"x": start})
    x = res.fields["x"]
    assert res.nfe == 4 and torch.equal(x[~hidden], start[~hidden]) and (x < K).all()
    assert categorical_tv(x[:, 3:], probs[3:]) < bound(probs[3:])
    t0 = rec.times[0].double()
    share = torch.where(hidden[:, 0], 2 / 6, 3 / 6).double()
    assert torch.allclose(schedule.alpha(t0), share, atol=1e-6)  # alpha(t0) = share of cells shown
    torch.testing.assert_close(rec.times[2].double(), t0 + (1 - t0) * 0.5, atol=1e-6, rtol=0)
    # a fully revealed start changes nothing
    done = run(OrderedUnmasking(steps=2, order="random"), proc, probs, n=8, start={"x": start[:8].clamp_max(K - 1)})
    assert torch.equal(done.fields["x"], start[:8].clamp_max(K - 1))


def test_start_is_checked_and_refused_by_other_samplers():
    proc = MaskedDiffusion(K)
    s = OrderedUnmasking(steps=2)
    with pytest.raises(ProcessError, match="shape"):
        run(s, proc, n=4, start={"x": torch.zeros(4, L + 1, dtype=torch.long)})
    with pytest.raises(ProcessError, match="long"):
        run(s, proc, n=4, start={"x": torch.zeros(4, L)})
    with pytest.raises(ProcessError, match=r"holds 9 at index \(1, 2\)"):
        bad = torch.zeros(4, L, dtype=torch.long)
        bad[1, 2] = 9
        run(s, proc, n=4, start={"x": bad})
    with pytest.raises(ProcessError, match="fields"):
        run(s, proc, n=4, start={"y": torch.zeros(4, L, dtype=torch.long)})
    with pytest.raises(TypeError, match="cannot continue"):
        run(Ancestral(steps=2), proc, n=4, start={"x": torch.zeros(4, L, dtype=torch.long)})


# ---------------------------------------------------------------------------------------------------------------
# guidance, fixed fields, configuration
# ---------------------------------------------------------------------------------------------------------------
class ConditionalOracle:
    """Condition c in {0, 1} (B,) selects one of two product targets; dropped rows (or no condition) a third."""

    def __init__(self, proc):
        tables = torch.softmax(2 * torch.randn(3, L, K, generator=gen(29), dtype=torch.float64), dim=-1)
        self.oracles = [CategoricalProductOracle("x", tables[i], proc) for i in range(3)]
        self.prediction_kinds = {"x": "logits"}

    def __call__(self, state, condition=None, drop_condition=None):
        outs = torch.stack([o(state)["x"] for o in self.oracles])
        b = outs.shape[1]
        pick = torch.full((b,), 2, dtype=torch.long) if condition is None else condition.clone()
        if drop_condition is not None:
            pick = torch.where(drop_condition, torch.full_like(pick, 2), pick)
        return {"x": outs[pick, torch.arange(b)]}


def test_guidance_passes_through_and_counts_two_evaluations_per_step():
    proc = MaskedDiffusion(K)
    oracle = ConditionalOracle(proc)
    cond = (torch.arange(500) % 2).long()
    s = OrderedUnmasking(steps=5, order="confidence", choice_noise=2.0)
    plain = run(s, proc, n=500, seed=3, oracle=oracle, condition=cond)
    guided = run(s, proc, n=500, seed=3, oracle=oracle, condition=cond, guidance=ClassifierFreeGuidance(1.0))
    assert plain.nfe == 5 and guided.nfe == 10 and torch.equal(plain.fields["x"], guided.fields["x"])
    uncond = run(s, proc, n=500, seed=3, oracle=oracle)
    zero = run(s, proc, n=500, seed=3, oracle=oracle, condition=cond, guidance=ClassifierFreeGuidance(0.0))
    assert torch.equal(uncond.fields["x"], zero.fields["x"]) and not torch.equal(plain.fields["x"], uncond.fields["x"])


def test_inpaint_keeps_known_cells_and_they_do_not_count_as_generated():
    probs = target_probs()
    proc = MaskedDiffusion(K)
    known_values = torch.randint(0, K, (N, L), generator=gen(28))
    known = torch.zeros(N, L, dtype=torch.bool)
    known[:, :2] = True
    fixed = Inpaint({"x": known_values}, {"x": known}, mode="clean")
    steps = 4
    res = run(OrderedUnmasking(steps=steps, order="random"), proc, probs, fixed=fixed, keep_trajectory=True)
    x = res.fields["x"]
    assert torch.equal(x[known], known_values[known])
    for i, snap in enumerate(res.trajectory):  # known cells shown at every step; the schedule counts the 4 others
        assert torch.equal(snap["x"][known], known_values[known])
        assert ((snap["x"][:, 2:] != K).sum(dim=1) == round(4 * (i + 1) / steps)).all()
    assert categorical_tv(x[:, 2:], probs[2:]) < bound(probs[2:])


def test_registry_configuration_and_bad_input():
    proc = MaskedDiffusion(K)
    assert "unmask" in compatible_samplers(proc) and "unmask" not in compatible_samplers(UniformDiscrete(K))
    s = get_sampler("unmask", steps=3, order="random")
    assert isinstance(s, OrderedUnmasking) and s.steps == 3
    again = build(spec_of(OrderedUnmasking(steps=7, order="confidence", choice_noise=4.5, rule=UnmaskRule())))
    assert (again.steps, again.order, again.choice_noise, type(again.rule)) == (7, "confidence", 4.5, UnmaskRule)
    with pytest.raises(IncompatibleSamplerError, match="unmask"):
        run(s, UniformDiscrete(K), n=4)
    for kwargs, match in ((dict(order="greedy"), "order"), (dict(temperature=0.0), "temperature"),
                          (dict(choice_noise=-1.0), "choice_noise"), (dict(steps=0), "steps"),
                          (dict(order="random", choice_noise=1.0), "confidence"), (dict(rule=lambda *a: a), "rule")):
        with pytest.raises((ValueError, TypeError), match=match):
            OrderedUnmasking(**kwargs)
