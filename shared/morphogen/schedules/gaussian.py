"""Schedules of Gaussian processes: t -> alpha(t), sigma(t) and their time derivatives.

Marginal of every Gaussian process: ``x_t = alpha(t) x1 + sigma(t) eps``, ``eps ~ N(0, I)``, with ``t = 0`` the prior
and ``t = 1`` the data. Score-SDE papers (Song et al. 2021, GDSS) run their time ``s`` from data (s = 0) to noise
(s = 1); here ``s = 1 - t``, so every ``d/ds`` of the paper is ``-d/dt`` in this file.

All functions accept a tensor ``t`` of any shape and return a tensor of the same shape and dtype.
"""
from __future__ import annotations

import math
from abc import ABC, abstractmethod

import torch
from torch import Tensor

from morphogen.utils.config import Configurable


class GaussianSchedule(Configurable, ABC):
    """alpha(t), sigma(t) with derivatives; the SDE coefficients follow from them (see ``GaussianProcess``)."""

    #: last time a sampler integrates to (processes singular at t = 1 stop just before it)
    t_end: float = 1.0
    #: largest time drawn during training
    t_train_max: float = 1.0

    @abstractmethod
    def alpha(self, t: Tensor) -> Tensor: ...

    @abstractmethod
    def sigma(self, t: Tensor) -> Tensor: ...

    @abstractmethod
    def d_alpha(self, t: Tensor) -> Tensor: ...

    @abstractmethod
    def d_sigma(self, t: Tensor) -> Tensor: ...

    def log_snr(self, t: Tensor) -> Tensor:
        """lambda(t) = log(alpha / sigma), increasing in t."""
        return torch.log(self.alpha(t)) - torch.log(self.sigma(t))

    def prior_std(self) -> float:
        """Standard deviation of the prior N(0, sigma(0)^2 I) (the data term alpha(0) x1 is neglected)."""
        return float(self.sigma(torch.tensor(0.0, dtype=torch.float64)))



class VPLinear(GaussianSchedule):
    """Variance preserving, linear beta(s) = beta_min + s (beta_max - beta_min) in the paper's time s = 1 - t.

    alpha(t) = exp(-s^2 (beta_max - beta_min) / 4 - s beta_min / 2), sigma = sqrt(1 - alpha^2).
    """

    def __init__(self, beta_min: float = 0.1, beta_max: float = 20.0, eps: float = 1e-3, train_eps: float = 1e-5):
        if not 0 <= beta_min < beta_max:
            raise ValueError(f"VPLinear needs 0 <= beta_min < beta_max, got {beta_min}, {beta_max}")
        self.beta_min, self.beta_max = float(beta_min), float(beta_max)
        self.t_end = 1.0 - eps
        self.t_train_max = 1.0 - train_eps

    def _log_alpha(self, t: Tensor) -> Tensor:
        s = 1.0 - t
        return -0.25 * s**2 * (self.beta_max - self.beta_min) - 0.5 * s * self.beta_min

    def beta(self, t: Tensor) -> Tensor:
        """beta at paper time s = 1 - t."""
        return self.beta_min + (1.0 - t) * (self.beta_max - self.beta_min)

    def alpha(self, t: Tensor) -> Tensor:
        return torch.exp(self._log_alpha(t))

    def sigma(self, t: Tensor) -> Tensor:
        return torch.sqrt(-torch.expm1(2.0 * self._log_alpha(t)))

    def d_alpha(self, t: Tensor) -> Tensor:
        return self.alpha(t) * 0.5 * self.beta(t)

    def d_sigma(self, t: Tensor) -> Tensor:
        a = self.alpha(t)
        return -a * self.d_alpha(t) / self.sigma(t)


class VPCosine(GaussianSchedule):
    """Variance preserving with the cosine schedule of Nichol & Dhariwal (2021):
    alpha(t) = cos(phi(s)) / cos(phi(0)), phi(s) = (s * s_max + offset) / (1 + offset) * pi / 2, s = 1 - t.

    ``s_max < 1`` keeps alpha(0) above zero (about 0.016 for the defaults) so that SDE drifts stay finite.

    ``shift`` multiplies the signal-to-noise ratio alpha^2 / sigma^2 by ``shift ** 2`` at every t (the "shifted"
    cosine schedule of Hoogeboom et al. 2023, simple diffusion: log-SNR + 2 log shift), staying variance
    preserving: alpha_k = k a / D, sigma_k = s / D with D = sqrt(k^2 a^2 + s^2). ``shift < 1`` adds noise at every
    t: large, smooth, redundant fields (high-resolution images, segmentation masks) otherwise reveal themselves
    through spatial averaging long before t = 1.
    """

    def __init__(self, offset: float = 0.008, s_max: float = 0.99, eps: float = 1e-3, train_eps: float = 1e-5,
                 shift: float = 1.0):
        if not shift > 0:
            raise ValueError(f"VPCosine shift must be positive, got {shift}")
        self.offset, self.s_max, self.shift = float(offset), float(s_max), float(shift)
        self.t_end = 1.0 - eps
        self.t_train_max = 1.0 - train_eps

    def _phi(self, t: Tensor) -> Tensor:
        return ((1.0 - t) * self.s_max + self.offset) / (1.0 + self.offset) * (math.pi / 2)

    def _base(self, t: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The unshifted a, s, a', s'."""
        c0 = math.cos(self.offset / (1.0 + self.offset) * math.pi / 2)
        dphi_dt = -self.s_max / (1.0 + self.offset) * (math.pi / 2)
        a = torch.cos(self._phi(t)) / c0
        da = -torch.sin(self._phi(t)) * dphi_dt / c0
        s = torch.sqrt((1.0 - a * a).clamp_min(0.0))
        ds = -a * da / s
        return a, s, da, ds

    def _shifted(self, t: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        a, s, da, ds = self._base(t)
        k = self.shift
        d = torch.sqrt(k * k * a * a + s * s)
        dd = (k * k * a * da + s * ds) / d
        return k * a / d, s / d, k * (da * d - a * dd) / (d * d), (ds * d - s * dd) / (d * d)

    def alpha(self, t: Tensor) -> Tensor:
        if self.shift == 1.0:
            c0 = math.cos(self.offset / (1.0 + self.offset) * math.pi / 2)
            return torch.cos(self._phi(t)) / c0
        return self._shifted(t)[0]

    def sigma(self, t: Tensor) -> Tensor:
        if self.shift == 1.0:
            a = self.alpha(t)
            return torch.sqrt((1.0 - a * a).clamp_min(0.0))
        return self._shifted(t)[1]

    def d_alpha(self, t: Tensor) -> Tensor:
        if self.shift == 1.0:
            return self._base(t)[2]
        return self._shifted(t)[2]

    def d_sigma(self, t: Tensor) -> Tensor:
        if self.shift == 1.0:
            return -self.alpha(t) * self.d_alpha(t) / self.sigma(t)
        return self._shifted(t)[3]


class VE(GaussianSchedule):
    """Variance exploding: alpha = 1, sigma(t) = sigma_min (sigma_max / sigma_min)^(1 - t)."""

    def __init__(self, sigma_min: float = 0.01, sigma_max: float = 50.0, eps: float = 1e-5, train_eps: float = 1e-5):
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"VE needs 0 < sigma_min < sigma_max, got {sigma_min}, {sigma_max}")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.t_end = 1.0 - eps
        self.t_train_max = 1.0 - train_eps

    def alpha(self, t: Tensor) -> Tensor:
        return torch.ones_like(t)

    def sigma(self, t: Tensor) -> Tensor:
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** (1.0 - t)

    def d_alpha(self, t: Tensor) -> Tensor:
        return torch.zeros_like(t)

    def d_sigma(self, t: Tensor) -> Tensor:
        return -self.sigma(t) * math.log(self.sigma_max / self.sigma_min)


class SubVP(VPLinear):
    """sub-VP (Song et al. 2021): alpha as in ``VPLinear``, sigma(t) = 1 - alpha(t)^2."""

    def sigma(self, t: Tensor) -> Tensor:
        return -torch.expm1(2.0 * self._log_alpha(t))

    def d_sigma(self, t: Tensor) -> Tensor:
        return -2.0 * self.alpha(t) * self.d_alpha(t)


class LinearInterpolant(GaussianSchedule):
    """The linear stochastic interpolant of flow matching: x_t = t x1 + (1 - t) x0 + extra_noise sqrt(t (1 - t)) z.

    With x0 and z standard normal this is the Gaussian marginal alpha = t, sigma^2 = (1 - t)^2 + extra_noise^2 t (1 - t);
    ``extra_noise = 0`` is rectified flow / conditional flow matching with a Gaussian source.
    """

    def __init__(self, extra_noise: float = 0.0, eps: float = 0.0, train_eps: float = 0.0):
        if extra_noise < 0:
            raise ValueError(f"extra_noise must be >= 0, got {extra_noise}")
        self.extra_noise = float(extra_noise)
        self.t_end = 1.0 - eps
        self.t_train_max = 1.0 - train_eps

    def alpha(self, t: Tensor) -> Tensor:
        return t.clone()

    def sigma(self, t: Tensor) -> Tensor:
        if self.extra_noise == 0.0:
            return 1.0 - t
        return torch.sqrt(((1.0 - t) ** 2 + self.extra_noise**2 * t * (1.0 - t)).clamp_min(0.0))

    def d_alpha(self, t: Tensor) -> Tensor:
        return torch.ones_like(t)

    def d_sigma(self, t: Tensor) -> Tensor:
        if self.extra_noise == 0.0:
            return -torch.ones_like(t)
        tc = t.clamp(max=1.0 - 1e-6)
        e2 = self.extra_noise**2
        return (-(1.0 - tc) + 0.5 * e2 * (1.0 - 2.0 * tc)) / self.sigma(tc)
