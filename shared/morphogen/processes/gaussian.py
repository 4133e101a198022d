"""Gaussian diffusion of one continuous field: VP (linear, cosine), VE, sub-VP and the flow-matching interpolant.

Marginal: ``x_t = alpha(t) x1 + sigma(t) eps`` (t = 0 prior, t = 1 data). A denoiser may predict any of

==========  ======================================  ============================================
kind        quantity                                from (x1, eps)
==========  ======================================  ============================================
noise       eps                                     eps
x1          the clean data                          x1
score       grad log p_t(x_t)                       -eps / sigma
velocity    d x_t / dt of the probability flow      alpha' x1 + sigma' eps
==========  ======================================  ============================================

and every sampler works from whichever one the denoiser gives (see :meth:`GaussianProcess.convert`).

Reverse-time SDE, written with increasing t: ``dx = [v + g2/2 * score] dt + sqrt(g2) dW`` where ``v`` is the
probability-flow velocity and ``g2 = 2 sigma^2 alpha'/alpha - 2 sigma sigma'`` is the squared diffusion of the
forward score SDE (for VP it is beta(s) of Song et al., for VE d sigma^2/ds). ``g2 = 0`` is the probability-flow ODE.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import (
    Corrupted,
    FieldState,
    Process,
    ProcessError,
    apply_mask,
    expand_like,
    masked_mean,
)
from morphogen.schedules.gaussian import GaussianSchedule, LinearInterpolant

GAUSSIAN_KINDS = frozenset({"noise", "x1", "score", "velocity"})


class GaussianProcess(Process):
    """Gaussian noise on a real-valued field.

    Args:
        schedule: alpha(t), sigma(t) (``VPLinear``, ``VPCosine``, ``VE``, ``SubVP``, ``LinearInterpolant``).
        loss_kind: the space the training loss is measured in. ``"native"`` uses the denoiser's own prediction
            kind (a score is weighted by sigma^2, i.e. denoising score matching with lambda = sigma^2).
        symmetric: the last two dimensions form a symmetric matrix with zero diagonal (an adjacency matrix):
            noise is drawn on the strict upper triangle and mirrored.
        immiscible: before corruption, reassign the batch's noise draws to data points by a minimum-cost linear
            assignment (immiscible diffusion); the marginal of the noise is unchanged.
        sde_noise: scale of g2 used by SDE samplers (1 = the reverse SDE of the forward process).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"ancestral", "gaussian", "langevin", "renoise"})
    prediction_kinds: ClassVar[frozenset[str]] = GAUSSIAN_KINDS

    def __init__(
        self,
        schedule: GaussianSchedule,
        loss_kind: str = "native",
        symmetric: bool = False,
        immiscible: bool = False,
        sde_noise: float = 1.0,
    ):
        if loss_kind != "native" and loss_kind not in GAUSSIAN_KINDS:
            raise ValueError(f"loss_kind must be 'native' or one of {sorted(GAUSSIAN_KINDS)}, got '{loss_kind}'")
        self.schedule = schedule
        self.loss_kind = loss_kind
        self.symmetric = bool(symmetric)
        self.immiscible = bool(immiscible)
        self.sde_noise = float(sde_noise)
        self.t_end = schedule.t_end
        self.t_train_max = schedule.t_train_max

    # -- coefficients -------------------------------------------------------------------------------------------
    def coefficients(self, t: Tensor, like: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """alpha, sigma, alpha', sigma' at ``t`` (B,), shaped to broadcast against ``like`` (B, ...)."""
        t = t.to(like.dtype)
        s = self.schedule
        return tuple(expand_like(f(t), like) for f in (s.alpha, s.sigma, s.d_alpha, s.d_sigma))  # type: ignore

    def diffusion_sq(self, t: Tensor) -> Tensor:
        """g2(t) (B,) of the reverse-time SDE integrated by the SDE samplers."""
        s = self.schedule
        if isinstance(s, LinearInterpolant):
            # the interpolant's own forward SDE has g2 ~ 1/t at t = 0; any g2 >= 0 leaves the marginals exact,
            # so SDE samplers use the bounded choice g2 = 2 sigma^2 (vanishing at the data end).
            return 2.0 * self.sde_noise * s.sigma(t) ** 2
        a, sg, da, dsg = s.alpha(t), s.sigma(t), s.d_alpha(t), s.d_sigma(t)
        return self.sde_noise * (2.0 * sg * sg * da / a - 2.0 * sg * dsg).clamp_min(0.0)

    # -- prediction conversions ---------------------------------------------------------------------------------
    def to_x1_noise(self, x: Tensor, t: Tensor, prediction: Tensor, kind: str) -> tuple[Tensor, Tensor]:
        """(x1, eps) implied by a prediction of ``kind`` at state ``x`` (B, ...) and time ``t`` (B,)."""
        a, s, da, ds = self.coefficients(t, x)
        if kind == "noise":
            eps = prediction
            return (x - s * eps) / a, eps
        if kind == "x1":
            return prediction, (x - a * prediction) / s
        if kind == "score":
            eps = -s * prediction
            return (x - s * eps) / a, eps
        if kind == "velocity":
            det = a * ds - s * da
            return (ds * x - s * prediction) / det, (a * prediction - da * x) / det
        raise ProcessError(f"unknown Gaussian prediction kind '{kind}'; expected one of {sorted(GAUSSIAN_KINDS)}")

    def from_x1_noise(self, x1: Tensor, eps: Tensor, t: Tensor, kind: str) -> Tensor:
        """The prediction of ``kind`` that corresponds to (x1, eps) at time ``t``."""
        a, s, da, ds = self.coefficients(t, x1)
        if kind == "noise":
            return eps
        if kind == "x1":
            return x1
        if kind == "score":
            return -eps / s
        if kind == "velocity":
            return da * x1 + ds * eps
        raise ProcessError(f"unknown Gaussian prediction kind '{kind}'; expected one of {sorted(GAUSSIAN_KINDS)}")

    def convert(self, x: Tensor, t: Tensor, prediction: Tensor, kind: str, to: str) -> Tensor:
        """Convert a prediction of ``kind`` into one of kind ``to`` at state ``x`` and time ``t``."""
        if kind == to:
            return prediction
        if kind == "noise" and to == "score":  # exact also where alpha = 0
            return -prediction / self.coefficients(t, x)[1]
        if kind == "score" and to == "noise":
            return -prediction * self.coefficients(t, x)[1]
        x1, eps = self.to_x1_noise(x, t, prediction, kind)
        return self.from_x1_noise(x1, eps, t, to)

    def velocity_and_score(self, x: Tensor, t: Tensor, prediction: Tensor, kind: str) -> tuple[Tensor, Tensor]:
        """Probability-flow velocity and score (both (B, ...)) implied by a prediction."""
        return self.convert(x, t, prediction, kind, "velocity"), self.convert(x, t, prediction, kind, "score")

    # -- noise --------------------------------------------------------------------------------------------------
    def sample_noise(
        self, shape: tuple[int, ...], mask: Tensor | None, device, dtype, generator: torch.Generator | None = None
    ) -> Tensor:
        """Standard normal noise of ``shape``, symmetric in the last two dims if the field is, zero on padding."""
        z = torch.randn(shape, device=device, dtype=dtype, generator=generator)
        if self.symmetric:
            if len(shape) < 3 or shape[-1] != shape[-2]:
                raise ProcessError(f"symmetric field needs shape (B, ..., N, N), got {tuple(shape)}")
            z = torch.triu(z, diagonal=1)
            z = z + z.transpose(-1, -2)
        return apply_mask(z, mask)

    def _assign(self, x1: Tensor, eps: Tensor) -> Tensor:
        from scipy.optimize import linear_sum_assignment

        b = x1.shape[0]
        cost = torch.cdist(x1.reshape(b, -1).double(), eps.reshape(b, -1).double()).cpu().numpy()
        _, cols = linear_sum_assignment(cost)
        return eps[torch.as_tensor(cols, device=eps.device)]

    # -- Process API --------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        super().check_data(name, x1, mask)
        if not x1.is_floating_point():
            raise ProcessError(f"field '{name}': Gaussian diffusion needs a floating tensor, got {x1.dtype}")

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        eps = self.sample_noise(tuple(x1.shape), mask, x1.device, x1.dtype, generator)
        if self.immiscible and x1.shape[0] > 1:
            eps = apply_mask(self._assign(x1, eps), mask)
        a, s, _, _ = self.coefficients(t, x1)
        xt = apply_mask(a * x1 + s * eps, mask)
        return Corrupted(FieldState(xt, t, mask), x1=x1, aux={"noise": eps})

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        t = torch.zeros(shape[0], device=device, dtype=dtype)
        x = self.schedule.prior_std() * self.sample_noise(shape, mask, device, dtype, generator)
        return FieldState(x, t, mask)

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        eps = corrupted.aux["noise"]
        space = kind if self.loss_kind == "native" else self.loss_kind
        if space == "score":
            # denoising score matching with lambda = sigma^2: || sigma * s + eps ||^2
            score = self.convert(state.value, state.t, prediction, kind, "score")
            sig = self.coefficients(state.t, score)[1]
            err = (sig * score + eps) ** 2
        else:
            pred = self.convert(state.value, state.t, prediction, kind, space)
            target = self.from_x1_noise(corrupted.x1, eps, state.t, space)
            err = (pred - target) ** 2
        return masked_mean(err, state.mask)

    def transition(self, t: Tensor, t_next: Tensor, like: Tensor) -> tuple[Tensor, Tensor]:
        """The forward step from the cleaner time ``t_next`` to ``t`` (both (B,)): x_t = r x_{t_next} + sqrt(v) z with
        r = alpha_t / alpha_next and v = sigma_t^2 - r^2 sigma_next^2 (clamped at 0); (r, v) shaped like ``like``."""
        a_t, s_t, _, _ = self.coefficients(t, like)
        a_n, s_n, _, _ = self.coefficients(t_next, like)
        r = a_t / a_n
        return r, (s_t**2 - r**2 * s_n**2).clamp_min(0.0)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        """Ancestral step: sample the Gaussian posterior q(x_{t_next} | x_t, x1 = predicted x1)."""
        x = state.value
        x1, _ = self.to_x1_noise(x, state.t, prediction, kind)
        _, s_t, _, _ = self.coefficients(state.t, x)
        a_n, s_n, _, _ = self.coefficients(t_next, x)
        ratio, var_cond = self.transition(state.t, t_next, x)
        s_t2 = (s_t**2).clamp_min(torch.finfo(x.dtype).tiny)
        mean = ratio * s_n**2 / s_t2 * x + a_n * var_cond / s_t2 * x1
        std = torch.sqrt(var_cond * s_n**2 / s_t2)
        z = self.sample_noise(tuple(x.shape), state.mask, x.device, x.dtype, generator)
        return state.with_value(apply_mask(mean + std * z, state.mask), t=t_next)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        return apply_mask(self.to_x1_noise(state.value, state.t, prediction, kind)[0], state.mask)


class FlowMatching(GaussianProcess):
    """Flow matching as a stochastic interpolant with a Gaussian source: ``LinearInterpolant(extra_noise)``,
    trained on the velocity by default (loss_kind="velocity").
    """

    def __init__(
        self,
        extra_noise: float = 0.0,
        loss_kind: str = "velocity",
        symmetric: bool = False,
        immiscible: bool = False,
        eps: float = 0.0,
        sde_noise: float = 1.0,
    ):
        super().__init__(
            LinearInterpolant(extra_noise=extra_noise, eps=eps, train_eps=eps),
            loss_kind=loss_kind,
            symmetric=symmetric,
            immiscible=immiscible,
            sde_noise=sde_noise,
        )
