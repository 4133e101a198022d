"""Periodic diffusion and flow matching on the flat torus: wrapped-normal (VE) diffusion and geodesic flow matching.

Both processes act on a field whose every entry lives on a circle of length ``period`` (1.0 for fractional
coordinates, the crystals domain's torus [0, 1)^3); values are read modulo the period and every state and sample
is returned in [0, period), like :class:`morphogen.processes.bfn_periodic.PeriodicBFN`. Time runs from t = 0
(prior, uniform on the torus) to t = 1 (data).

Two helpers name the periodic arithmetic used throughout:

* ``wrap(x)`` = x mod period, in [0, period);
* ``wrap_diff(x)`` = the shortest signed representative of x modulo the period, in [-period/2, period/2).

:class:`WrappedGaussian` is DiffCSP's coordinate diffusion (Jiao et al., NeurIPS 2023), a variance-exploding
score SDE wrapped onto the torus (the score-SDE's time is flipped: our t = 1 - t_SDE).
:class:`TorusFlowMatching` is Riemannian flow matching on the flat torus (Chen & Lipman 2024; FlowMM, Miller et
al. 2024) with a uniform source and geodesic (shortest-arc) interpolants.
"""
from __future__ import annotations

import math
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

WRAPPED_KINDS = frozenset({"score", "noise"})
TORUS_FM_KINDS = frozenset({"velocity", "x1"})
LOSS_WEIGHTINGS = ("kernel_norm", "sigma2")


# ---------------------------------------------------------------------------------------------------------------------
# periodic arithmetic
# ---------------------------------------------------------------------------------------------------------------------
def wrap(x: Tensor, period: float = 1.0) -> Tensor:
    """x modulo ``period`` in [0, period), also where floating-point rounding of ``remainder`` gives ``period``
    (e.g. remainder(-1e-9, 1.0) rounds to 1.0 in float32; that is mapped to 0)."""
    r = torch.remainder(x, period)
    return torch.where(r >= period, r - period, r)


def wrap_diff(x: Tensor, period: float = 1.0) -> Tensor:
    """The representative of x modulo ``period`` closest to 0, in [-period/2, period/2): the signed length of the
    shortest arc (for x = b - a, the geodesic displacement from a to b)."""
    half = 0.5 * period
    r = torch.remainder(x + half, period) - half
    return torch.where(r >= half, r - period, r)


def images_for(std: float, period: float, tol: float = 1e-12) -> int:
    """The number n of images on each side that a wrapped normal of standard deviation ``std`` needs.

    For a displacement d in [-P/2, P/2) the nearest left-out image, |k| = n + 1, lies at distance >= (n + 1/2) P,
    while the dominant one lies within P/2, so the left-out terms are smaller than the kept ones by a factor
    <= exp(-(n^2 + n) P^2 / (2 std^2)) (times a geometric tail factor close to 1). Returns the smallest n >= 1
    with that bound below ``tol``.
    """
    if std <= 0 or period <= 0:
        raise ValueError(f"std and period must be > 0, got std={std}, period={period}")
    need = 2.0 * (std / period) ** 2 * math.log(1.0 / tol)  # n^2 + n >= need
    return max(1, math.ceil(0.5 * (-1.0 + math.sqrt(1.0 + 4.0 * need))))


def wrapped_normal_score(d: Tensor, sigma: Tensor, period: float = 1.0, n_images: int = 3) -> Tensor:
    """d/dx log WN(x; x1, sigma^2) at d = x - x1: the score of the wrapped normal kernel.

    WN(x; x1, sigma^2) = sum_{k=-n..n} N(x; x1 + k P, sigma^2), so with e_k = wrap_diff(d) + k P and weights
    w_k = softmax_k(-e_k^2 / (2 sigma^2)), the score is -sum_k w_k e_k / sigma^2. Computed in float64 (log-sum-exp
    weights); returned in d's dtype.

    Args:
        d: (...) displacement x - x1 (any real; reduced modulo the period here).
        sigma: standard deviation, broadcastable to ``d``, > 0.
        period: circle length P.
        n_images: images on each side of the truncated sum (see :func:`images_for`).
    """
    dd = wrap_diff(d.double(), period)
    s2 = (torch.as_tensor(sigma, dtype=torch.float64, device=d.device) ** 2).expand_as(dd)
    k = torch.arange(-n_images, n_images + 1, dtype=torch.float64, device=d.device) * period
    e = dd[..., None] + k  # (..., 2n+1)
    w = torch.softmax(-(e * e) / (2.0 * s2[..., None]), dim=-1)
    return (-(w * e).sum(-1) / s2).to(d.dtype)


def _check_time(t: Tensor, b: int) -> None:
    if t.shape != (b,):
        raise ProcessError(f"t must have shape ({b},), got {tuple(t.shape)}")
    if not t.is_floating_point() or not torch.isfinite(t).all() or (t < 0).any() or (t > 1).any():
        raise ProcessError("t must be finite floating times in [0, 1]")


def _check_prediction(name: str, prediction: Tensor, value: Tensor) -> None:
    if prediction.shape != value.shape:
        raise ProcessError(
            f"{name}: prediction of shape {tuple(prediction.shape)} does not match the state's {tuple(value.shape)}"
        )


class _TorusProcess(Process):
    """Shared pieces: the period, wrapping, input checks, uniform prior and the clean state."""

    def __init__(self, period: float):
        if not period > 0:
            raise ValueError(f"period must be > 0, got {period}")
        self.period = float(period)

    def wrap(self, x: Tensor) -> Tensor:
        """(B, ...) -> values in [0, period)."""
        return wrap(x, self.period)

    def wrap_diff(self, x: Tensor) -> Tensor:
        """(B, ...) -> shortest signed representatives in [-period/2, period/2)."""
        return wrap_diff(x, self.period)

    def project(self, value: Tensor) -> Tensor:
        """Wrap a sampler's update back into [0, period)."""
        return self.wrap(value)

    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        if not x1.is_floating_point():
            raise ProcessError(
                f"field '{name}': {type(self).__name__} needs a floating tensor of periodic values, got {x1.dtype}"
            )
        super().check_data(name, x1, mask)

    def _clean(self, x1: Tensor, mask: Tensor | None) -> Tensor:
        """Data wrapped into [0, period), 0 on padding (padding may hold any placeholder, NaN included)."""
        if not x1.is_floating_point():
            raise ProcessError(f"{type(self).__name__} needs a floating tensor, got {x1.dtype}")
        return apply_mask(self.wrap(apply_mask(x1, mask)), mask)

    def _check_kind(self, kind: str) -> None:
        if kind not in self.prediction_kinds:
            raise ProcessError(
                f"{type(self).__name__} cannot use a '{kind}' prediction; it accepts {sorted(self.prediction_kinds)}"
            )

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        """Uniform values on [0, period) (0 on padding), t = 0."""
        x = torch.rand(shape, device=device, dtype=dtype, generator=generator) * self.period
        t = torch.zeros(shape[0], device=device, dtype=dtype)
        return FieldState(apply_mask(self.wrap(x), mask), t, mask)

    def clean_state(self, x1: Tensor, t: Tensor, mask: Tensor | None = None) -> FieldState:
        """The data itself, wrapped (0 on padding)."""
        return FieldState(self._clean(x1, mask), t, mask)


# ---------------------------------------------------------------------------------------------------------------------
# wrapped-normal diffusion
# ---------------------------------------------------------------------------------------------------------------------
class WrappedGaussian(_TorusProcess):
    """Variance-exploding diffusion wrapped onto the torus (DiffCSP's fractional-coordinate process).

    Shapes: the field is (B, ...) (typically (B, N, 3) fractional coordinates); ``t`` is (B,); every state value
    is in [0, period), with 0 on padding (mask == 0), which is never noised and never counts in the loss.

    Forward: ``x_t = wrap(x1 + sigma(t) eps)``, eps ~ N(0, I), with the geometric schedule
    ``sigma(t) = sigma_min (sigma_max / sigma_min)^(1 - t)`` (sigma(0) = sigma_max, sigma(1) = sigma_min), so
    p(x_t | x1) = WN(x_t; x1, sigma^2) = sum_k N(x_t; x1 + k P, sigma^2) per entry.

    Prior (t = 0): uniform on the torus, as in DiffCSP. It stands in for WN(x1, sigma_max^2), whose k-th circular
    moment is exp(-2 pi^2 k^2 sigma_max^2 / P^2) times the data's: 0.0072 for sigma_max = P/2 (the default), so the
    mismatch in total variation is below 1.5 %.

    Prediction kinds (the quantity the denoiser estimates, at state x and time t):

    ======  ==========================================  ==============================================
    kind    quantity                                     training target (from x1 and x_t)
    ======  ==========================================  ==============================================
    score   grad_x log p_t(x), the marginal score        s = grad log WN(x_t; x1, sigma^2) (image sum)
    noise   -sigma(t) * score (unit-scale network output)  -sigma s
    ======  ==========================================  ==============================================

    ``convert`` maps between them and to ``"x1"`` (the estimate below).

    Loss (per sample, (B,), masked mean over real entries), in score space with s_hat the predicted score:
        ``"kernel_norm"`` (default, DiffCSP): (s_hat - s)^2 / lambda(sigma) with lambda(sigma) = E[s^2] the expected
        squared kernel score of one entry under x_t ~ WN(x1, sigma^2), computed by the periodic trapezoid rule on
        ``quadrature`` points (the spacing is at most sigma_min / 4) on a table of 1025 log-spaced sigmas,
        interpolated in log-log. lambda -> 1/sigma^2 as sigma -> 0, and lambda < 1/sigma^2 where the kernel
        wraps; the expected loss of a zero prediction is 1 at every t.
        ``"sigma2"``: sigma^2 (s_hat - s)^2, denoising score matching with lambda = sigma^2.

    Reverse (ancestral) step from t to s = t_next (sigma_t > sigma_s), the VE reverse-diffusion predictor:
    ``x_s = wrap(x_t + (sigma_t^2 - sigma_s^2) score + sqrt((sigma_t^2 - sigma_s^2) sigma_s^2 / sigma_t^2) z)``.

    Data estimate (``estimate_x1``, ``final_step``): ``wrap(x + sigma^2 score)``: Tweedie's formula on the unwrapped
    line, i.e. the posterior mean of the lifted data point x1 + k P nearest in the image sum. It is first order in
    sigma (exact for the unwrapped Gaussian, and for sigma_min = 0.005 it removes the remaining noise up to
    O(sigma_min^2) in variance); it is not the circular mean of the posterior.

    Args:
        sigma_min: noise scale at t = 1 (in data units), > 0.
        sigma_max: noise scale at t = 0, > sigma_min.
        period: circle length P of every entry.
        n_images: images per side in the wrapped-normal sums; None picks the smallest n whose truncation error is
            below 1e-12 relative at sigma_max (3 for the defaults; see :func:`images_for`).
        loss_weighting: ``"kernel_norm"`` or ``"sigma2"`` (see above).
        quadrature: number of points of the trapezoid rule for lambda(sigma); None picks max(256, ceil(4 P /
            sigma_min)).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"ancestral", "langevin", "renoise"})
    prediction_kinds: ClassVar[frozenset[str]] = WRAPPED_KINDS

    def __init__(
        self,
        sigma_min: float = 0.005,
        sigma_max: float = 0.5,
        period: float = 1.0,
        n_images: int | None = None,
        loss_weighting: str = "kernel_norm",
        quadrature: int | None = None,
    ):
        super().__init__(period)
        if not 0 < sigma_min < sigma_max:
            raise ValueError(f"need 0 < sigma_min < sigma_max, got sigma_min={sigma_min}, sigma_max={sigma_max}")
        if loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(f"loss_weighting must be one of {LOSS_WEIGHTINGS}, got '{loss_weighting}'")
        if n_images is not None and int(n_images) < 0:
            raise ValueError(f"n_images must be >= 0, got {n_images}")
        self.sigma_min, self.sigma_max = float(sigma_min), float(sigma_max)
        self.n_images = images_for(self.sigma_max, self.period) if n_images is None else int(n_images)
        self.loss_weighting = loss_weighting
        self.quadrature = max(256, math.ceil(4.0 * self.period / self.sigma_min)) if quadrature is None else int(quadrature)
        if self.quadrature < 16:
            raise ValueError(f"quadrature must be >= 16 points, got {quadrature}")
        self._lambda_table: tuple[Tensor, Tensor] | None = None  # (log sigma grid, log lambda), built on first use

    # -- schedule -----------------------------------------------------------------------------------------------
    def sigma(self, t: Tensor) -> Tensor:
        """sigma(t) = sigma_min (sigma_max / sigma_min)^(1 - t), same shape as t."""
        return self.sigma_min * (self.sigma_max / self.sigma_min) ** (1.0 - t)

    def _sigma_like(self, t: Tensor, like: Tensor) -> Tensor:
        return expand_like(self.sigma(t.to(like.dtype)), like)

    def kernel_score(self, x: Tensor, x1: Tensor, sigma: Tensor) -> Tensor:
        """grad_x log WN(x; x1, sigma^2) for x, x1 (B, ...) and sigma broadcastable (the DSM target)."""
        return wrapped_normal_score(x - x1, sigma, self.period, self.n_images)

    def kernel_score_sq_exact(self, sigma: Tensor) -> Tensor:
        """lambda(sigma) = E_{d ~ WN(0, sigma^2)}[(d/dd log WN(d; 0, sigma^2))^2] for sigma (S,) (float64, (S,)).

        Periodic trapezoid rule over d in [-P/2, P/2) on ``quadrature`` points (spectrally accurate for this
        smooth periodic integrand once the spacing is below sigma / 2).
        """
        s = sigma.detach().double().reshape(-1, 1, 1)  # (S, 1, 1)
        m = self.quadrature
        d = (torch.arange(m, dtype=torch.float64, device=sigma.device) / m - 0.5) * self.period  # (M,)
        k = torch.arange(-self.n_images, self.n_images + 1, dtype=torch.float64, device=sigma.device) * self.period
        e = d[:, None] + k  # (M, K)
        logn = -(e * e) / (2.0 * s * s) - torch.log(s * math.sqrt(2.0 * math.pi))  # (S, M, K)
        density = torch.exp(torch.logsumexp(logn, dim=-1))  # (S, M)
        score = -(torch.softmax(logn, dim=-1) * e).sum(-1) / s[..., 0] ** 2  # (S, M)
        return (density * score**2).sum(-1) * (self.period / m)

    def expected_kernel_score_sq(self, sigma: Tensor) -> Tensor:
        """lambda(sigma) (same shape as sigma), interpolated linearly in (log sigma, log lambda) from a table of
        1025 exact values on [sigma_min, sigma_max] built on first use (relative error below 2e-4; sigma is
        clamped into that range)."""
        if self._lambda_table is None or self._lambda_table[0].device != sigma.device:
            log_grid = torch.linspace(
                math.log(self.sigma_min), math.log(self.sigma_max), 1025, dtype=torch.float64, device=sigma.device
            )
            lam = torch.cat([self.kernel_score_sq_exact(torch.exp(c)) for c in log_grid.split(64)])
            self._lambda_table = (log_grid, torch.log(lam))
        log_grid, log_lam = self._lambda_table
        ls = torch.log(sigma.detach().double()).clamp(float(log_grid[0]), float(log_grid[-1]))
        pos = (ls - log_grid[0]) / (log_grid[1] - log_grid[0])
        i = pos.floor().long().clamp(0, log_grid.numel() - 2)
        frac = pos - i.double()
        out = torch.exp(log_lam[i] * (1.0 - frac) + log_lam[i + 1] * frac)
        return out.to(sigma.dtype if sigma.is_floating_point() else torch.float64)

    # -- prediction conversions ---------------------------------------------------------------------------------
    def convert(self, x: Tensor, t: Tensor, prediction: Tensor, kind: str, to: str) -> Tensor:
        """Turn a prediction of ``kind`` at state x (B, ...) and time t (B,) into ``to`` ("score", "noise" or
        "x1"): score = -noise / sigma, x1 = wrap(x + sigma^2 score)."""
        self._check_kind(kind)
        if to not in WRAPPED_KINDS | {"x1"}:
            raise ProcessError(f"WrappedGaussian cannot convert to '{to}'; targets are ['noise', 'score', 'x1']")
        if kind == to:
            return prediction
        sig = self._sigma_like(t, prediction)
        score = prediction if kind == "score" else -prediction / sig
        if to == "score":
            return score
        if to == "noise":
            return -sig * score
        return self.wrap(x + sig * sig * score)

    # -- noise --------------------------------------------------------------------------------------------------
    def sample_noise(
        self, shape: tuple[int, ...], mask: Tensor | None, device, dtype, generator: torch.Generator | None = None
    ) -> Tensor:
        """Standard normal noise (B, ...) (in the tangent space, which is flat), zero on padding."""
        return apply_mask(torch.randn(shape, device=device, dtype=dtype, generator=generator), mask)

    # -- Process API --------------------------------------------------------------------------------------------
    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        """x_t = wrap(x1 + sigma(t) eps); aux: "noise" eps and "score" the kernel score target (both (B, ...))."""
        _check_time(t, x1.shape[0])
        clean = self._clean(x1, mask)
        eps = self.sample_noise(tuple(x1.shape), mask, x1.device, x1.dtype, generator)
        sig = self._sigma_like(t, clean)
        xt = apply_mask(self.wrap(clean + sig * eps), mask)
        target = apply_mask(self.kernel_score(xt, clean, sig), mask)
        return Corrupted(FieldState(xt, t, mask), x1=clean, aux={"noise": eps, "score": target})

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        _check_prediction("WrappedGaussian.loss", prediction, state.value)
        score = self.convert(state.value, state.t, prediction, kind, "score")
        sig = self._sigma_like(state.t, score)
        err = (score - corrupted.aux["score"]) ** 2
        if self.loss_weighting == "sigma2":
            err = err * sig * sig
        else:
            err = err / self.expected_kernel_score_sq(self.sigma(state.t.double())).to(err.dtype).reshape(sig.shape)
        return masked_mean(apply_mask(err, state.mask), state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        """VE reverse diffusion from sigma_t to sigma_s = sigma(t_next) with the predicted score, wrapped."""
        x = state.value
        _check_prediction("WrappedGaussian.reverse_step", prediction, x)
        score = self.convert(x, state.t, prediction, kind, "score")
        s_t, s_n = self._sigma_like(state.t, x), self._sigma_like(t_next, x)
        step = (s_t * s_t - s_n * s_n).clamp_min(0.0)
        std = torch.sqrt(step * s_n * s_n / (s_t * s_t))
        z = self.sample_noise(tuple(x.shape), state.mask, x.device, x.dtype, generator)
        return state.with_value(apply_mask(self.wrap(x + step * score + std * z), state.mask), t=t_next)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        """wrap(x + sigma^2 score) (first-order Tweedie estimate, see the class docstring), 0 on padding."""
        _check_prediction("WrappedGaussian.estimate_x1", prediction, state.value)
        return apply_mask(self.convert(state.value, state.t, prediction, kind, "x1"), state.mask)


# ---------------------------------------------------------------------------------------------------------------------
# flow matching on the flat torus
# ---------------------------------------------------------------------------------------------------------------------
class TorusFlowMatching(_TorusProcess):
    """Flow matching on the flat torus with a uniform source and geodesic paths (Riemannian FM / FlowMM).

    Shapes: the field is (B, ...) (typically (B, N, 3) fractional coordinates); ``t`` is (B,); state values are in
    [0, period), 0 on padding (never moved, never in the loss).

    Forward: x0 ~ Uniform[0, P)^shape, ``d = wrap_diff(x1 - x0)`` in [-P/2, P/2) (the shortest arc),
    ``x_t = wrap(x0 + t d)``; the conditional velocity d is constant along the path. Equivalently
    x_t = wrap(x1 - (1 - t) d) with d ~ Uniform[-P/2, P/2) independent of x1: given x1, x_t is uniform on the arc of
    half-width (1 - t) P / 2 centred at x1 (what the exact oracle in :mod:`morphogen.oracles.torus` uses).

    Prediction kinds:

    ========  ================================  ==================================================
    kind      quantity                          conversion at state x, time t
    ========  ================================  ==================================================
    velocity  E[d | x_t = x], the marginal       v = wrap_diff(x1_hat - x) / (1 - t)
              velocity field
    x1        an endpoint x1_hat (read mod P)    x1_hat = wrap(x + (1 - t) v)
    ========  ================================  ==================================================

    (|(1 - t) d| <= P / 2, so the two are inverse to each other per path; 1 - t is clamped at 1e-6.)

    Loss (per sample (B,), masked mean): ``"velocity"``: (v_hat - d)^2. ``"x1"``: the same velocity error weighted
    by (1 - t)^2, i.e. (wrap_diff(x1_hat - x_t) - (1 - t) d)^2, the squared geodesic error of the endpoint (free of
    the 1 / (1 - t) singularity).

    Sampling: the process has no stochastic reverse kernel; its ``reverse_step`` (what the "ancestral" sampler
    calls) is one explicit Euler step of the ODE on the torus, ``x <- wrap(x + (t_next - t) v)``, deterministic.
    ``final_step``: wrap(x1_hat) for an x1 prediction, wrap(x + (1 - t) v) for a velocity (an Euler step to t = 1).

    Args:
        period: circle length P of every entry.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"ancestral", "renoise"})
    prediction_kinds: ClassVar[frozenset[str]] = TORUS_FM_KINDS
    #: smallest 1 - t used in the x1 -> velocity conversion
    min_remaining: ClassVar[float] = 1e-6

    def __init__(self, period: float = 1.0):
        super().__init__(period)

    def _remaining(self, t: Tensor, like: Tensor) -> Tensor:
        return expand_like((1.0 - t.to(like.dtype)).clamp_min(self.min_remaining), like)

    def convert(self, x: Tensor, t: Tensor, prediction: Tensor, kind: str, to: str) -> Tensor:
        """Turn a ``kind`` prediction at state x (B, ...) and time t (B,) into ``to`` ("velocity" or "x1")."""
        self._check_kind(kind)
        if to not in TORUS_FM_KINDS:
            raise ProcessError(f"TorusFlowMatching cannot convert to '{to}'; targets are {sorted(TORUS_FM_KINDS)}")
        if kind == to:
            return prediction if to == "velocity" else self.wrap(prediction)
        rem = self._remaining(t, prediction)
        if to == "velocity":
            return self.wrap_diff(prediction - x) / rem
        return self.wrap(x + rem * prediction)

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        """x_t = wrap(x0 + t wrap_diff(x1 - x0)), x0 uniform; aux: "velocity" d and "x0" (both (B, ...))."""
        _check_time(t, x1.shape[0])
        clean = self._clean(x1, mask)
        x0 = apply_mask(torch.rand(x1.shape, device=x1.device, dtype=x1.dtype, generator=generator) * self.period, mask)
        d = apply_mask(self.wrap_diff(clean - x0), mask)
        xt = apply_mask(self.wrap(x0 + expand_like(t.to(clean.dtype), clean) * d), mask)
        return Corrupted(FieldState(xt, t, mask), x1=clean, aux={"velocity": d, "x0": x0})

    def loss(self, prediction, kind, corrupted) -> Tensor:
        self._check_kind(kind)
        state = corrupted.state
        _check_prediction("TorusFlowMatching.loss", prediction, state.value)
        d = corrupted.aux["velocity"]
        if kind == "velocity":
            err = (prediction - d) ** 2
        else:
            rem = expand_like(1.0 - state.t.to(d.dtype), d)
            err = (self.wrap_diff(prediction - state.value) - rem * d) ** 2
        return masked_mean(apply_mask(err, state.mask), state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        """One Euler step of the flow on the torus: x <- wrap(x + (t_next - t) v) (deterministic)."""
        x = state.value
        _check_prediction("TorusFlowMatching.reverse_step", prediction, x)
        v = self.convert(x, state.t, prediction, kind, "velocity")
        dt = expand_like((t_next - state.t).to(x.dtype), x)
        return state.with_value(apply_mask(self.wrap(x + dt * v), state.mask), t=t_next)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        """wrap(x1_hat) for kind "x1", wrap(x + (1 - t) v) for kind "velocity"; 0 on padding."""
        _check_prediction("TorusFlowMatching.estimate_x1", prediction, state.value)
        return apply_mask(self.convert(state.value, state.t, prediction, kind, "x1"), state.mask)

    def guidance_combine(self, cond: Tensor, uncond: Tensor, kind: str, scale: float) -> Tensor:
        """Velocities mix linearly; endpoints mix along the geodesic: wrap(uncond + scale wrap_diff(cond - uncond))."""
        if kind == "x1":
            return self.wrap(uncond + scale * self.wrap_diff(cond - uncond))
        return uncond + scale * (cond - uncond)
