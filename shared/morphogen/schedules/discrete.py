"""Keep schedules of discrete processes: t -> alpha(t), the probability that a token still shows its data value.

Masked (absorbing), uniform and Bernoulli diffusion all corrupt a token independently: with probability alpha(t)
it keeps its data value, otherwise it is replaced (by the mask token, or by a uniformly drawn class). With the
Morphogen time convention (t = 0 prior, t = 1 data) every schedule has alpha(0) = 0 and alpha(1) = 1 and is
non-decreasing. Papers that run time from data to noise (MDLM, D3PM) write alpha_paper(s) with s = 1 - t, so
their d/ds is -d/dt here.

All functions accept a tensor ``t`` of any shape and return a tensor of the same shape and dtype.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor

from morphogen.utils.config import Configurable


class KeepSchedule(Configurable, ABC):
    """alpha(t) in [0, 1] with alpha(0) = 0, alpha(1) = 1, and its time derivative d_alpha(t) >= 0."""

    @abstractmethod
    def alpha(self, t: Tensor) -> Tensor:
        """Probability that a token still shows its data value at time ``t`` (any shape)."""

    @abstractmethod
    def d_alpha(self, t: Tensor) -> Tensor:
        """d alpha / dt at ``t`` (any shape)."""

    @torch.no_grad()
    def time_of(self, alpha: Tensor, iters: int = 60) -> Tensor:
        """The time t in [0, 1] with alpha(t) = ``alpha`` (any shape, same dtype; the smallest such t where alpha is
        flat), by bisection: alpha <= 0 gives 0, alpha >= 1 gives 1."""
        lo, hi = torch.zeros_like(alpha), torch.ones_like(alpha)
        for _ in range(iters):
            mid = 0.5 * (lo + hi)
            below = self.alpha(mid) < alpha
            lo, hi = torch.where(below, mid, lo), torch.where(below, hi, mid)
        return torch.where(alpha <= 0, torch.zeros_like(alpha), torch.where(alpha >= 1, torch.ones_like(alpha), hi))


class LinearKeep(KeepSchedule):
    """alpha(t) = t (the linear schedule of MDLM / SEDD-absorb written in data-at-one time)."""

    def alpha(self, t: Tensor) -> Tensor:
        return t.clone()

    def d_alpha(self, t: Tensor) -> Tensor:
        return torch.ones_like(t)


class CosineKeep(KeepSchedule):
    """alpha(t) = 1 - cos(pi t / 2): few tokens are revealed early, most near the data end."""

    def alpha(self, t: Tensor) -> Tensor:
        return 1.0 - torch.cos(0.5 * math.pi * t)

    def d_alpha(self, t: Tensor) -> Tensor:
        return 0.5 * math.pi * torch.sin(0.5 * math.pi * t)


class PolynomialKeep(KeepSchedule):
    """alpha(t) = t ** power, power > 0 (power = 1 is :class:`LinearKeep`; power > 1 reveals tokens later).

    For power < 1 the derivative is infinite at t = 0 (so is the masked-diffusion ELBO weight there).
    """

    def __init__(self, power: float = 2.0):
        if not power > 0:
            raise ValueError(f"PolynomialKeep needs power > 0, got {power}")
        self.power = float(power)

    def alpha(self, t: Tensor) -> Tensor:
        return t**self.power

    def d_alpha(self, t: Tensor) -> Tensor:
        return self.power * t ** (self.power - 1.0)
