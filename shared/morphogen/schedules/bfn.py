"""Accuracy schedules of Bayesian flow networks (Graves et al. 2023; CrysBFN, Wu et al. 2025).

A Bayesian flow sends noisy "sender" samples of the data to a receiver, who updates a belief. The *accuracy* of a
sample is its precision (Gaussian), its scaled precision (categorical) or its concentration (von Mises). The
accumulated accuracy ``beta(t)`` grows from 0 at ``t = 0`` (prior) to ``beta(1)`` at the data end; one sampler step
from ``s`` to ``t`` sends one sample of accuracy ``alpha(s, t)``. Time runs as everywhere in Morphogen (t = 0 prior,
t = 1 data), which is also the BFN paper's convention, so its formulas apply unchanged.

==================  ========================================  =============================================
schedule            accumulated accuracy beta(t)              step accuracy alpha(s, t)
==================  ========================================  =============================================
continuous          sigma1^(-2t) - 1 (gamma = 1 - sigma1^2t)  beta(t) - beta(s)
discrete            beta1 t^2                                 beta1 (t^2 - s^2) = beta1 (2i - 1) / n^2
von Mises           see :class:`VonMisesAccuracy`              solved so that E[concentration] hits beta(t)
==================  ========================================  =============================================

All functions take tensors of any shape and return tensors of the same shape (and dtype, unless stated).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from morphogen.utils.config import Configurable


# -- von Mises helpers ----------------------------------------------------------------------------------------------
def log_i0(kappa: Tensor) -> Tensor:
    """log I0(kappa), stable for large kappa (through the exponentially scaled Bessel function)."""
    return torch.log(torch.special.i0e(kappa)) + kappa


def bessel_ratio(kappa: Tensor) -> Tensor:
    """A(kappa) = I1(kappa) / I0(kappa) = E[cos(y - mu)] for y ~ vM(mu, kappa); in [0, 1)."""
    return torch.special.i1e(kappa) / torch.special.i0e(kappa)


def von_mises_entropy(kappa: Tensor) -> Tensor:
    """Differential entropy of vM(mu, kappa) on the circle of length 2 pi: log(2 pi I0) - kappa A(kappa)."""
    return math.log(2.0 * math.pi) + log_i0(kappa) - kappa * bessel_ratio(kappa)


def expected_resultant(c: Tensor, alpha: Tensor, nodes: int = 96) -> Tensor:
    """E |c + alpha e^{i y}| for y ~ vM(0, alpha), by the trapezoid rule (float64).

    This is the expected concentration of a von Mises belief of concentration ``c`` after one update with a sender
    sample of accuracy ``alpha`` centred on the belief's own mean (CrysBFN's approximation that the mean is right).
    The integrand is periodic and smooth, so the rule converges spectrally; for a sharp sender the nodes cover
    +-12 standard deviations instead of the whole circle.
    """
    c, alpha = torch.broadcast_tensors(c.double(), alpha.double())
    half = torch.clamp(12.0 / torch.sqrt(alpha.clamp_min(1e-300)), max=math.pi)
    u = torch.arange(nodes, dtype=torch.float64, device=c.device) * (2.0 / nodes) - 1.0
    y = half.unsqueeze(-1) * u
    a = alpha.unsqueeze(-1)
    logw = a * (torch.cos(y) - 1.0)
    w = torch.softmax(logw, dim=-1)
    cc = c.unsqueeze(-1)
    r = torch.sqrt((cc * cc + a * a + 2.0 * cc * a * torch.cos(y)).clamp_min(0.0))
    return (w * r).sum(-1)


# -- schedules ------------------------------------------------------------------------------------------------------
class ContinuousAccuracy(Configurable):
    """Gaussian Bayesian flow: beta(t) = sigma1^(-2t) - 1, so the flow's mean has gamma(t) = 1 - sigma1^(2t).

    The receiver's precision is rho(t) = 1 + beta(t) = sigma1^(-2t) (prior N(0, 1)). With n equal steps the i-th
    sender accuracy is alpha_i = sigma1^(-2i/n) (1 - sigma1^(2/n)).

    Args:
        sigma1: standard deviation of the flow's belief at t = 1 (0.001 in the BFN paper for continuous data).
    """

    def __init__(self, sigma1: float = 0.001):
        if not 0.0 < sigma1 < 1.0:
            raise ValueError(f"sigma1 must lie in (0, 1), got {sigma1}")
        self.sigma1 = float(sigma1)
        self.log_sigma1 = math.log(self.sigma1)

    def gamma(self, t: Tensor) -> Tensor:
        """gamma(t) = beta / (1 + beta) = 1 - sigma1^(2t)."""
        return -torch.expm1(2.0 * t * self.log_sigma1)

    def rho(self, t: Tensor) -> Tensor:
        """Precision of the receiver's belief: 1 + beta(t) = sigma1^(-2t)."""
        return torch.exp(-2.0 * t * self.log_sigma1)

    def beta(self, t: Tensor) -> Tensor:
        return torch.expm1(-2.0 * t * self.log_sigma1)

    def d_beta(self, t: Tensor) -> Tensor:
        return -2.0 * self.log_sigma1 * self.rho(t)

    def alpha(self, s: Tensor, t: Tensor) -> Tensor:
        """Accuracy of the one sender sample that takes the belief from time ``s`` to ``t``: beta(t) - beta(s)."""
        return self.rho(t) - self.rho(s)


class DiscreteAccuracy(Configurable):
    """Categorical Bayesian flow: beta(t) = beta1 t^2; with n equal steps alpha_i = beta1 (2i - 1) / n^2.

    Args:
        beta1: the accumulated accuracy at t = 1 (3.0 in the BFN paper for binarised MNIST, 0.75 for text).
    """

    def __init__(self, beta1: float = 3.0):
        if beta1 <= 0:
            raise ValueError(f"beta1 must be > 0, got {beta1}")
        self.beta1 = float(beta1)

    def beta(self, t: Tensor) -> Tensor:
        return self.beta1 * t * t

    def d_beta(self, t: Tensor) -> Tensor:
        return 2.0 * self.beta1 * t

    def alpha(self, s: Tensor, t: Tensor) -> Tensor:
        return self.beta1 * (t * t - s * s)


class VonMisesAccuracy(Configurable):
    """Sender concentrations of the periodic (von Mises) Bayesian flow.

    The receiver's concentration after sender samples of concentrations alpha_j is ``c = |sum_j alpha_j e^{i y_j}|``:
    random and at most ``sum_j alpha_j``. The schedule therefore fixes a *target* concentration beta(t) and derives
    the step accuracies from it. Two kinds:

    ``"linear_entropy"`` (default; CrysBFN's choice): beta(t) is the concentration whose von Mises entropy falls
        linearly in t, from log(2 pi) (uniform, t = 0) to the entropy of vM(beta1) (t = 1). The accuracy of the step
        from s to t is the alpha that solves ``E|beta(s) + alpha e^{i y}| = beta(t)`` with ``y ~ vM(0, alpha)``:
        the expected concentration after the step hits the target if the belief's mean were right. CrysBFN solves
        this by Monte Carlo; here the expectation is a deterministic quadrature (:func:`expected_resultant`) and
        the root is found by bisection, so the schedule is exactly reproducible.
    ``"power"``: beta(t) = beta1 t^p and alpha(s, t) = beta(t) - beta(s) (the nominal, additive accumulation).

    The flow of the training process consists of ``steps`` sender samples on the grid t_i = i / steps; ``alphas()``
    (steps,) is that table and a sampler with the same number of steps reproduces it exactly. A sampler with another
    grid gets ``alpha(s, t)`` for its own steps (its flow then differs from the trained one, as for any discrete-time
    BFN sampled with a different n).

    Args:
        beta1: target concentration at t = 1 (in radians^-2: 1000 gives a circular standard deviation of about
            0.032 rad, 0.5 % of the period).
        steps: number n of sender samples of the training flow.
        kind: ``"linear_entropy"`` or ``"power"``.
        power: exponent p of the ``"power"`` kind.
    """

    KINDS = ("linear_entropy", "power")

    def __init__(self, beta1: float = 1000.0, steps: int = 100, kind: str = "linear_entropy", power: float = 2.0):
        if beta1 <= 0:
            raise ValueError(f"beta1 must be > 0, got {beta1}")
        if int(steps) < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got '{kind}'")
        self.beta1 = float(beta1)
        self.steps = int(steps)
        self.kind = kind
        self.power = float(power)
        self._cache: dict[tuple[float, float], float] = {}
        grid = torch.arange(self.steps + 1, dtype=torch.float64) / self.steps
        self._alphas = self._solve_alpha(grid[:-1], grid[1:])
        for i in range(self.steps):
            self._cache[(float(grid[i]), float(grid[i + 1]))] = float(self._alphas[i])

    # -- target concentration -------------------------------------------------------------------------------------
    def beta(self, t: Tensor) -> Tensor:
        """Target concentration beta(t) (float64), 0 at t = 0 and beta1 at t = 1."""
        t = t.double().clamp(0.0, 1.0)
        if self.kind == "power":
            return self.beta1 * t**self.power
        h0 = math.log(2.0 * math.pi)
        h1 = float(von_mises_entropy(torch.tensor(self.beta1, dtype=torch.float64)))
        target = h0 + t * (h1 - h0)
        lo = torch.zeros_like(t)
        hi = torch.full_like(t, self.beta1)
        for _ in range(80):  # entropy decreases in kappa
            mid = 0.5 * (lo + hi)
            above = von_mises_entropy(mid) > target
            lo = torch.where(above, mid, lo)
            hi = torch.where(above, hi, mid)
        out = 0.5 * (lo + hi)
        out = torch.where(t <= 0.0, torch.zeros_like(out), out)
        return torch.where(t >= 1.0, torch.full_like(out, self.beta1), out)

    def _solve_alpha(self, s: Tensor, t: Tensor) -> Tensor:
        b_s, b_t = self.beta(s), self.beta(t)
        if self.kind == "power":
            return (b_t - b_s).clamp_min(0.0)
        need = (b_t - b_s).clamp_min(0.0)
        lo = need.clone()  # E|c + alpha e^{iy}| <= c + alpha
        hi = torch.maximum(2.0 * need, torch.ones_like(need))
        for _ in range(200):
            short = expected_resultant(b_s, hi) < b_t
            if not short.any():
                break
            hi = torch.where(short, 2.0 * hi, hi)
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            below = expected_resultant(b_s, mid) < b_t
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        return torch.where(need > 0, 0.5 * (lo + hi), torch.zeros_like(need))

    # -- step accuracies ----------------------------------------------------------------------------------------------
    def alphas(self) -> Tensor:
        """(steps,) float64 sender concentrations alpha_1..alpha_n of the training flow."""
        return self._alphas.clone()

    def alpha(self, s: Tensor, t: Tensor) -> Tensor:
        """Sender concentration of the step from ``s`` to ``t`` (same shape as ``s``; float64); cached per pair."""
        s64, t64 = torch.broadcast_tensors(s.detach().double().cpu(), t.detach().double().cpu())
        pairs = torch.stack([s64.reshape(-1), t64.reshape(-1)], dim=1)
        if pairs.shape[0] > 0 and bool((pairs == pairs[0]).all()):  # the usual case: one time for the whole batch
            uniq, inverse = pairs[:1], torch.zeros(pairs.shape[0], dtype=torch.long)
        else:
            uniq, inverse = torch.unique(pairs, dim=0, return_inverse=True)
        vals = torch.empty(uniq.shape[0], dtype=torch.float64)
        todo = []
        for j, (a, b) in enumerate(uniq.tolist()):
            key = self._snap(a), self._snap(b)
            if key in self._cache:
                vals[j] = self._cache[key]
            else:
                todo.append(j)
        if todo:
            idx = torch.tensor(todo)
            solved = self._solve_alpha(uniq[idx, 0], uniq[idx, 1])
            vals[idx] = solved
            for j, v in zip(todo, solved.tolist()):
                self._cache[(float(uniq[j, 0]), float(uniq[j, 1]))] = v
        return vals[inverse].reshape(s64.shape).to(s.device)

    def _snap(self, t: float) -> float:
        """Times within 1e-4 of a step of the training grid (float32 round-off) are read as grid points."""
        k = round(t * self.steps)
        return k / self.steps if abs(t * self.steps - k) < 1e-4 else t

    def step_index(self, t: Tensor) -> Tensor:
        """Number of sender samples the training flow has received at time ``t``: floor(t n) (long, in [0, n])."""
        i = torch.floor(t.double() * self.steps + 1e-4).long()
        return i.clamp(0, self.steps)
