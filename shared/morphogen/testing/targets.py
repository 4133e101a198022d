"""Known target distributions of the process examples that have no class of their own in :mod:`morphogen.oracles`.

(Gaussian mixtures and wrapped-normal mixtures are :class:`morphogen.oracles.gaussian_mixture.GaussianMixture` and
:class:`morphogen.oracles.torus.WrappedNormalMixture`.) Each is a typed record of its parameters with a ``sample``
method; the oracle of a process example is the exact denoiser for it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class CategoricalProduct:
    """Independent categoricals, one per position: ``probs`` (*S, K), rows summing to 1."""

    probs: Tensor

    def sample(self, n: int, generator: torch.Generator | None = None) -> Tensor:
        """(n, *S) long class ids."""
        k = self.probs.shape[-1]
        flat = torch.multinomial(self.probs.reshape(-1, k).repeat(n, 1), 1, generator=generator)
        return flat.view(n, *self.probs.shape[:-1])


@dataclass(frozen=True)
class IndependentBernoulli:
    """Independent {0, 1} entries: ``probs`` (*S) = P(x = 1) per entry."""

    probs: Tensor

    def sample(self, n: int, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> Tensor:
        """(n, *S) values in {0, 1} of ``dtype``."""
        return (torch.rand(n, *self.probs.shape, generator=generator) < self.probs).to(dtype)


@dataclass(frozen=True)
class VonMisesMixture:
    """sum_c w_c vM(loc_c, kappa_c) on a circle of length ``period``: weights, locs (data units) and kappas
    (radians^-2), each (C,)."""

    weights: Tensor
    locs: Tensor
    kappas: Tensor
    period: float = 1.0

    def sample(self, shape: tuple[int, ...], generator: torch.Generator | None = None) -> Tensor:
        """Draws of ``shape`` in [0, period) (float64)."""
        from morphogen.processes.bfn_periodic import sample_von_mises

        n = math.prod(shape)
        comp = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        ang = sample_von_mises(2 * math.pi * self.locs[comp].double() / self.period, self.kappas[comp].double(),
                               generator)
        return torch.remainder(ang * self.period / (2 * math.pi), self.period).reshape(shape)
