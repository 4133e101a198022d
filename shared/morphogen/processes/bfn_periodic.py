"""The periodic Bayesian flow of angles and fractional coordinates (CrysBFN, Wu et al., ICLR 2025).

Representation: data live on a circle of length ``period`` (1.0 for fractional coordinates, 2 pi for angles in
radians); every value is read modulo the period and returned in [0, period). Internally a value x is the angle
2 pi x / period.

The receiver holds a von Mises belief vM(m, c) per entry, starting uniform (c = 0). A sender sample
y ~ vM(x, alpha) multiplies the belief by exp(alpha cos(y - x)), which gives the *circular-mean update*

    c' e^{i m'} = c e^{i m} + alpha e^{i y},

so after samples y_1..y_i the belief is vM(m, c) with c e^{i m} = sum_j alpha_j e^{i y_j}. Unlike the Gaussian and
categorical flows the concentration c is random, so it is part of the state (``extra["kappa"]``) and a denoiser
should be conditioned on it (CrysBFN's entropy conditioning). The flow is defined in discrete time by the ``steps``
sender accuracies of a :class:`morphogen.schedules.bfn.VonMisesAccuracy`.
"""
from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import (
    Corrupted, FieldState, Process, ProcessError, check_estimate, expand_like, masked_mean,
)
from morphogen.schedules.bfn import VonMisesAccuracy, bessel_ratio

TWO_PI = 2.0 * math.pi


def sample_von_mises(loc: Tensor, concentration: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Draw y ~ vM(loc, concentration) (angles in radians, broadcast shapes), vectorised, with a torch.Generator.

    Best & Fisher's (1979) rejection sampler with a wrapped Cauchy envelope, computed in float64 and repeated on
    the rejected entries only (the acceptance rate is above 65 % for every concentration). Concentrations below
    1e-8 give uniform angles; above 1e4 the normal approximation N(loc, 1/kappa) is used (its circular moments
    differ from the von Mises ones by O(kappa^-2) < 1e-8). Returns angles in (-pi, pi] + loc, in loc's dtype.
    """
    loc, concentration = torch.broadcast_tensors(loc, concentration)
    out_dtype = loc.dtype if loc.is_floating_point() else torch.float32
    k = concentration.detach().double().clamp_min(0.0)
    shape, dev = k.shape, k.device
    tiny, huge = k < 1e-8, k > 1e4
    ks = torch.where(tiny | huge, torch.ones_like(k), k)
    tau = 1.0 + torch.sqrt(1.0 + 4.0 * ks * ks)
    rho = (tau - torch.sqrt(2.0 * tau)) / (2.0 * ks)
    r = torch.where(ks < 1e-5, 1.0 / ks + ks, (1.0 + rho * rho) / (2.0 * rho))
    theta = torch.zeros(shape, dtype=torch.float64, device=dev)
    if tiny.any():
        u = torch.rand(shape, dtype=torch.float64, device=dev, generator=generator)
        theta = torch.where(tiny, (2.0 * u - 1.0) * math.pi, theta)
    if huge.any():
        z = torch.randn(shape, dtype=torch.float64, device=dev, generator=generator)
        theta = torch.where(huge, z / torch.sqrt(k.clamp_min(1.0)), theta)
    flat = theta.reshape(-1).clone()
    pending = (~(tiny | huge)).reshape(-1).nonzero().flatten()
    kf, rf = ks.reshape(-1), r.reshape(-1)
    while pending.numel() > 0:  # redraw only the entries not yet accepted
        kp, rp = kf[pending], rf[pending]
        u1, u2, u3 = torch.rand((3, pending.numel()), dtype=torch.float64, device=dev, generator=generator).unbind(0)
        z = torch.cos(math.pi * u1)
        f = (1.0 + rp * z) / (rp + z)
        c = kp * (rp - f)
        u2 = u2.clamp_min(1e-300)
        accept = (c * (2.0 - c) - u2 > 0) | (torch.log(c.clamp_min(1e-300) / u2) + 1.0 - c >= 0)
        draw = torch.sign(u3 - 0.5) * torch.acos(f.clamp(-1.0, 1.0))
        flat[pending[accept]] = draw[accept]
        pending = pending[~accept]
    theta = flat.reshape(shape)
    return (theta + loc.double()).to(out_dtype)


class PeriodicBFN(Process):
    """Bayesian flow of a periodic field (fractional coordinates, angles).

    State: ``value`` (B, ...) the belief's circular mean m in [0, period); ``extra["kappa"]`` (B, ...) its
    concentration c >= 0 (random; 0 = uniform); ``t`` (B,). Padding entries hold m = 0, c = 0.
    Prediction (``"x1"``, (B, ...)): a point estimate x_hat of the data (any real; read modulo the period).
    Flow at training time (``corrupt``): the number of sender samples received at t is i = floor(t n) (n =
    ``steps``; t = 1 gives all n), and the i draws y_j ~ vM(x, alpha_j) are simulated exactly, all at once:
    c e^{i m} = sum_{j <= i} alpha_j e^{i y_j}. The prior (i = 0) has c = 0 and a uniformly drawn m.
    Loss (discrete time, n steps, Graves et al. eq. for L^n): the KL of the next step's sender from the receiver
    with point estimate x_hat, both vM of concentration alpha = alpha_{i+1}:
    ``n * alpha A(alpha) (1 - cos(x - x_hat))``, A = I1/I0, as a masked mean over entries (B,). At t = 1 (no next
    step) the last step's alpha_n is used.
    Reverse step from t to t_next: alpha = schedule.alpha(t, t_next) (the table alpha_i on the training grid),
    y ~ vM(x_hat, alpha), then the circular-mean update. ``final_step``: x_hat wrapped into [0, period).
    End-back step (``resample``, CrysBFN's default sampler): the belief at the next time drawn afresh as in
    training, ``corrupt`` with x_hat in place of the data (floor(t n) sender samples vM(x_hat, alpha_j)
    accumulated: c e^{i m} = sum_j alpha_j e^{i y_j}).
    Training times (``time_grid``): the flow is discrete, so by default the network is trained at the grid times
    t_i = i/n only, where the belief holds exactly i samples and where an n-step sampler evaluates it (CrysBFN);
    ``time_grid=False`` draws t uniformly on [0, 1] (the belief still holds floor(t n) samples).

    Args:
        beta1: target concentration at t = 1 (radians^-2; see :class:`VonMisesAccuracy`).
        steps: n, number of sender samples of the flow (sample with the same number of steps for the trained flow).
        schedule: ``"linear_entropy"`` (CrysBFN) or ``"power"``; ``power`` is the exponent of the latter.
        period: length of the circle in data units.
        loss_weighting: ``"elbo"`` (the discrete-time bound above, as CrysBFN trains) or ``"unit"``: the same
            ``1 - cos`` distance with weight 1 at every step (the analogue of Ho et al.'s simple loss: early steps,
            where the belief is still vague, weigh as much as late ones).
        time_grid: train at the grid times {0, 1/n, ..., (n - 1)/n} only (default) or, False, at uniform times.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"bayesian_flow", "end_back"})
    prediction_kinds: ClassVar[frozenset[str]] = frozenset({"x1"})

    def __init__(
        self,
        beta1: float = 1000.0,
        steps: int = 100,
        schedule: str = "linear_entropy",
        power: float = 2.0,
        period: float = 1.0,
        loss_weighting: str = "elbo",
        time_grid: bool = True,
    ):
        if period <= 0:
            raise ValueError(f"period must be > 0, got {period}")
        if loss_weighting not in ("elbo", "unit"):
            raise ValueError(f"loss_weighting must be 'elbo' or 'unit', got {loss_weighting!r}")
        self.loss_weighting = loss_weighting
        self.schedule = VonMisesAccuracy(beta1=beta1, steps=steps, kind=schedule, power=power)
        self.beta1 = float(beta1)
        self.steps = int(steps)
        self.period = float(period)
        self.time_grid = bool(time_grid)

    @property
    def training_steps(self) -> int | None:
        return self.steps if self.time_grid else None

    # -- units --------------------------------------------------------------------------------------------------
    def to_angle(self, x: Tensor) -> Tensor:
        """Data units -> radians."""
        return x * (TWO_PI / self.period)

    def from_angle(self, a: Tensor) -> Tensor:
        """Radians -> data units in [0, period)."""
        return torch.remainder(a * (self.period / TWO_PI), self.period)

    def wrap(self, x: Tensor) -> Tensor:
        """Data units -> [0, period)."""
        return torch.remainder(x, self.period)

    @staticmethod
    def update(m: Tensor, c: Tensor, y: Tensor, alpha: Tensor) -> tuple[Tensor, Tensor]:
        """Circular-mean update in radians: c' e^{i m'} = c e^{i m} + alpha e^{i y}. Returns (m' in (-pi, pi], c')."""
        re = c * torch.cos(m) + alpha * torch.cos(y)
        im = c * torch.sin(m) + alpha * torch.sin(y)
        return torch.atan2(im, re), torch.hypot(re, im)

    def _masked(self, state_value: Tensor, kappa: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        if mask is None:
            return state_value, kappa
        m = torch.broadcast_to(mask.bool(), state_value.shape)
        zero = torch.zeros_like(state_value)
        return torch.where(m, state_value, zero), torch.where(m, kappa, torch.zeros_like(kappa))

    def _check_kind(self, kind: str) -> None:
        if kind != "x1":
            raise ProcessError(f"PeriodicBFN cannot use a '{kind}' prediction; it accepts ['x1']")

    # -- Process API --------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        super().check_data(name, x1, mask)
        if not x1.is_floating_point():
            raise ProcessError(f"field '{name}': the periodic Bayesian flow needs a floating tensor, got {x1.dtype}")

    def accumulate(self, y: Tensor, alphas: Tensor, count: Tensor) -> tuple[Tensor, Tensor]:
        """Belief after the first ``count`` of the sender samples ``y`` (..., n) (radians) of accuracies ``alphas``
        (n,): c e^{i m} = sum_{j < count} alphas_j e^{i y_j}; ``count`` broadcasts against y[..., 0].
        Returns (m in (-pi, pi], c), each shaped like y[..., 0]."""
        j = torch.arange(y.shape[-1], device=y.device)
        w = torch.where(j < count.unsqueeze(-1), alphas.to(y.dtype), torch.zeros((), dtype=y.dtype, device=y.device))
        re = (w * torch.cos(y)).sum(-1)
        im = (w * torch.sin(y)).sum(-1)
        return torch.atan2(im, re), torch.hypot(re, im)

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        """Simulate the flow exactly: i = floor(t n) sender samples of accuracies alpha_1..alpha_i."""
        dtype = x1.dtype
        count = self.schedule.step_index(t).to(x1.device)  # (B,)
        n_draw = int(count.max()) if count.numel() else 0
        alphas = self.schedule.alphas().to(x1.device)
        angle = self.to_angle(x1.double())
        prior_m = (torch.rand(x1.shape, dtype=torch.float64, device=x1.device, generator=generator) * 2.0 - 1.0) * math.pi
        if n_draw > 0:
            loc = angle.unsqueeze(-1).expand(*x1.shape, n_draw)
            y = sample_von_mises(loc, alphas[:n_draw].expand(*x1.shape, n_draw), generator)
            m, c = self.accumulate(y, alphas[:n_draw], expand_like(count, x1))
        else:
            m, c = torch.zeros_like(angle), torch.zeros_like(angle)
        m = torch.where(c > 0, m, prior_m)
        value, kappa = self._masked(self.from_angle(m).to(dtype), c.to(dtype), mask)
        nxt = (count + 1).clamp(max=self.steps) - 1
        aux = {"alpha": alphas[nxt].to(dtype), "step": count}
        return Corrupted(FieldState(value, t, mask, {"kappa": kappa}), x1=x1, aux=aux)

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        """c = 0 (uniform belief) with a uniformly drawn (irrelevant) mean."""
        m = torch.rand(shape, device=device, dtype=dtype, generator=generator) * self.period
        value, kappa = self._masked(m, torch.zeros(shape, device=device, dtype=dtype), mask)
        return FieldState(value, torch.zeros(shape[0], device=device, dtype=dtype), mask, {"kappa": kappa})

    def loss(self, prediction, kind, corrupted) -> Tensor:
        self._check_kind(kind)
        state = corrupted.state
        alpha = expand_like(corrupted.aux["alpha"], prediction).to(prediction.dtype)
        diff = self.to_angle(corrupted.x1 - prediction)
        if self.loss_weighting == "unit":
            return masked_mean(1.0 - torch.cos(diff), state.mask)
        kl = self.steps * alpha * bessel_ratio(alpha) * (1.0 - torch.cos(diff))
        return masked_mean(kl, state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        """One receiver update: y ~ vM(x_hat, alpha(t, t_next)), then c' e^{i m'} = c e^{i m} + alpha e^{i y}."""
        self._check_kind(kind)
        value = state.value
        alpha = expand_like(self.schedule.alpha(state.t, t_next), value)
        y = sample_von_mises(self.to_angle(prediction.double()), alpha, generator)
        kappa = state.extra.get("kappa")
        if kappa is None:
            raise ProcessError("PeriodicBFN state lacks extra['kappa'] (the belief's concentration)")
        m, c = self.update(self.to_angle(value.double()), kappa.double(), y, alpha)
        new_value, new_kappa = self._masked(self.from_angle(m).to(value.dtype), c.to(value.dtype), state.mask)
        return state.with_value(new_value, t=t_next, kappa=new_kappa)

    def resample(self, state, prediction, kind, t, estimate: str = "mean", generator=None) -> FieldState:
        """End-back step: the belief at time ``t`` (B,) drawn afresh from the flow given x_hat, exactly as
        ``corrupt`` draws it from the data (floor(t n) sender samples of the training table). The output
        distribution is the point x_hat, so ``estimate`` ("mean" or "sample") makes no difference here."""
        check_estimate(estimate)
        self._check_kind(kind)
        return self.corrupt(self.wrap(prediction), t, state.mask, generator).state

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        self._check_kind(kind)
        out = self.wrap(prediction)
        return self._masked(out, out, state.mask)[0]

    def guidance_combine(self, cond: Tensor, uncond: Tensor, kind: str, scale: float) -> Tensor:
        """Mix on unit vectors: angle of u_u + scale (u_c - u_u), u = e^{i 2 pi x / period}."""
        ac, au = self.to_angle(cond), self.to_angle(uncond)
        re = torch.cos(au) + scale * (torch.cos(ac) - torch.cos(au))
        im = torch.sin(au) + scale * (torch.sin(ac) - torch.sin(au))
        return self.from_angle(torch.atan2(im, re))

    def clean_state(self, x1, t, mask=None) -> FieldState:
        """The belief centred on the data with the schedule's final concentration beta1."""
        value = self.wrap(x1)
        kappa = torch.full_like(value, self.beta1)
        value, kappa = self._masked(value, kappa, mask)
        return FieldState(value, t, mask, {"kappa": kappa})
