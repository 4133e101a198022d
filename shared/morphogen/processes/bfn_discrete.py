"""The Bayesian flow of categorical data (Graves et al. 2023, section 6), in Morphogen's (and the paper's) time.

The receiver holds a categorical belief theta over K classes per entry, starting uniform. A sender sample of
accuracy alpha is y ~ N(alpha (K e_x - 1), alpha K I); its likelihood as a function of the class x is proportional
to exp(y_x), so Bayes' rule is ``theta <- softmax(y + log theta)``. Independent samples add up, so after
accumulating beta(t) = beta1 t^2 the belief is theta = softmax(y) with y ~ N(beta (K e_x - 1), beta K I): the
*Bayesian flow distribution*.
"""
from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from morphogen.processes.base import (
    Corrupted, FieldState, Process, ProcessError, check_estimate, check_finite, expand_like, masked_mean,
)
from morphogen.schedules.bfn import DiscreteAccuracy


def _position_mask(mask: Tensor | None) -> Tensor | None:
    """A data-shaped mask (B, ...) as a bool tensor broadcastable to a class-shaped belief (B, ..., K)."""
    if mask is None:
        return None
    return mask.bool().unsqueeze(-1)


class DiscreteBFN(Process):
    """Bayesian flow of a categorical field.

    Data: long class ids (B, ...) in [0, K). State: ``value`` (B, ..., K) the belief's probabilities theta (a float
    dtype); ``mask`` is given in the *data* shape (B, ...) (1 = real entry) and padding keeps the uniform belief.
    Prediction (``"logits"``, (B, ..., K)): the output distribution p_hat = softmax(logits).
    Loss, as a masked mean over the entries of each sample (B,):
      continuous time (``steps=None``): K beta1 t ||e_x - p_hat||^2 (sum over classes; the paper's L^inf);
      discrete time (``steps=n``): the n-step loss L^n, whose term at t = (i - 1)/n is n times the KL of the next
      sender N(alpha_i (K e_x - 1), alpha_i K I) from the receiver sum_k p_hat_k N(alpha_i (K e_k - 1), alpha_i K I),
      alpha_i = beta1 (2i - 1) / n^2 (Graves et al., section 6). The KL has no closed form; it is estimated, as in
      the paper, with one sender sample y = alpha (K e_x - 1) + sqrt(alpha K) z per entry (z is drawn by
      ``corrupt``, in ``aux["sender_noise"]``, so the loss of a corrupted batch is deterministic). The log-ratio of
      the two densities at y reduces to ``y_x - logsumexp_k(log p_hat_k + y_k)`` (the component means have equal
      norms). From it we subtract its first-order term in the noise, sqrt(alpha K) (z_x - sum_k pi_k z_k) with
      pi = softmax(log p_hat + alpha K e_x): that term has mean zero for any network output (z is independent of
      it), so the estimate and its gradient stay unbiased, while its variance falls from O(alpha) to O(alpha^2)
      (the plain one-sample estimate of n KL has a standard deviation growing like sqrt(n beta1)). Off the grid
      the next step is read as t -> min(t + 1/n, 1). Training times are then drawn from {0, 1/n, ..., (n - 1)/n}
      (``training_steps``); as n grows L^n tends to L^inf.
    Reverse step from t to t_next: alpha = beta1 (t_next^2 - t^2) (= beta1 (2i - 1) / n^2 on the grid i/n),
    k ~ p_hat, y ~ N(alpha (K e_k - 1), alpha K I), theta <- softmax(y + log theta). Drawing k from p_hat first is
    an exact draw from the receiver distribution (the mixture over k).
    End-back step (``resample``): theta = softmax(y) drawn afresh with y ~ N(beta(t) (K e - 1), beta(t) K I) at the
    next time, e = p_hat (``estimate="mean"``: the expectation of the output distribution, as CrysBFN and MolCRAFT
    do) or e = e_k with k ~ p_hat (``estimate="sample"``: ``corrupt`` of a drawn class).
    ``final_step`` samples the class from p_hat (the generative model's last draw, exact when p_hat is the true
    posterior); ``estimate_x1`` returns its argmax.

    Args:
        num_classes: K >= 2.
        beta1: accumulated accuracy at t = 1.
        steps: None for continuous-time training, or n: train in discrete time with n steps (sample with the same
            n on the uniform grid).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"bayesian_flow", "end_back"})
    prediction_kinds: ClassVar[frozenset[str]] = frozenset({"logits"})
    logits_over_classes: ClassVar[bool] = True

    def __init__(self, num_classes: int, beta1: float = 3.0, steps: int | None = None):
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.num_classes = int(num_classes)
        self.schedule = DiscreteAccuracy(beta1)
        self.beta1 = float(beta1)
        if steps is not None and int(steps) < 1:
            raise ValueError(f"steps must be None (continuous time) or >= 1, got {steps}")
        self.steps = None if steps is None else int(steps)

    @property
    def training_steps(self) -> int | None:
        return self.steps

    # -- helpers ------------------------------------------------------------------------------------------------
    def _uniform_fill(self, theta: Tensor, mask: Tensor | None) -> Tensor:
        m = _position_mask(mask)
        if m is None:
            return theta
        return torch.where(m, theta, torch.full_like(theta, 1.0 / self.num_classes))

    def _check_logits(self, state: FieldState, prediction: Tensor, kind: str) -> None:
        if kind != "logits":
            raise ProcessError(f"DiscreteBFN cannot use a '{kind}' prediction; it accepts ['logits']")
        if prediction.shape[-1] != self.num_classes:
            raise ProcessError(
                f"DiscreteBFN with {self.num_classes} classes got logits with {prediction.shape[-1]} classes "
                f"(shape {tuple(prediction.shape)})"
            )

    def sender_sample(self, classes: Tensor, alpha: Tensor, dtype: torch.dtype, generator: torch.Generator | None) -> Tensor:
        """y ~ N(alpha (K e_k - 1), alpha K I) for class ids ``classes`` (B, ...) and accuracy ``alpha``
        broadcastable to (B, ..., K). Returns (B, ..., K)."""
        return self.sender_sample_of(F.one_hot(classes, self.num_classes).to(dtype), alpha, generator)

    def sender_sample_of(self, e: Tensor, alpha: Tensor, generator: torch.Generator | None) -> Tensor:
        """y ~ N(alpha (K e - 1), alpha K I) for vectors ``e`` (B, ..., K) (one-hot classes, or probabilities for
        the end-back step's expectation) and ``alpha`` broadcastable to them. Returns (B, ..., K) in e's dtype."""
        z = torch.randn(e.shape, device=e.device, dtype=e.dtype, generator=generator)
        return alpha * (self.num_classes * e - 1.0) + torch.sqrt(alpha * self.num_classes) * z

    @staticmethod
    def update(theta: Tensor, y: Tensor) -> Tensor:
        """Bayes' rule for one sender sample: theta' = softmax(y + log theta) over the last dimension."""
        return torch.softmax(y + torch.log(theta.clamp_min(torch.finfo(theta.dtype).tiny)), dim=-1)

    # -- Process API --------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        if x1.dim() < 1:
            raise ProcessError(f"field '{name}': expected a batched tensor (B, ...), got a scalar")
        if x1.is_floating_point() or x1.is_complex() or x1.dtype == torch.bool:
            raise ProcessError(f"field '{name}': the discrete Bayesian flow needs integer class ids, got {x1.dtype}")
        if mask is not None:
            x1 = torch.where(torch.broadcast_to(mask.bool(), x1.shape), x1, torch.zeros_like(x1))
        if x1.numel() and (int(x1.min()) < 0 or int(x1.max()) >= self.num_classes):
            raise ProcessError(
                f"field '{name}': class ids must lie in [0, {self.num_classes}), got values in "
                f"[{int(x1.min())}, {int(x1.max())}]"
            )

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        """theta = softmax(y), y ~ N(beta(t) (K e_x - 1), beta(t) K I); padding stays uniform."""
        dtype = t.dtype if t.is_floating_point() else torch.float32
        classes = x1.long().clamp(0, self.num_classes - 1)
        beta = expand_like(self.schedule.beta(t.to(dtype)), classes).unsqueeze(-1)
        y = self.sender_sample(classes, beta, dtype, generator)
        theta = self._uniform_fill(torch.softmax(y, dim=-1), mask)
        aux = {}
        if self.steps is not None:  # the noise of the next sender sample, for the discrete-time loss
            aux["sender_noise"] = torch.randn(y.shape, device=y.device, dtype=dtype, generator=generator)
        return Corrupted(FieldState(theta, t, mask), x1=x1, aux=aux)

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        """The uniform belief (B, ..., K) for data shape ``shape`` (B, ...)."""
        theta = torch.full((*shape, self.num_classes), 1.0 / self.num_classes, device=device, dtype=dtype)
        return FieldState(theta, torch.zeros(shape[0], device=device, dtype=dtype), mask)

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        self._check_logits(state, prediction, kind)
        dtype = state.value.dtype
        e = F.one_hot(corrupted.x1.long().clamp(0, self.num_classes - 1), self.num_classes).to(dtype)
        if self.steps is not None:
            return masked_mean(self.steps * self.step_kl(prediction.to(dtype), e, state.t, corrupted), state.mask)
        p_hat = torch.softmax(prediction.to(dtype), dim=-1)
        sq = ((e - p_hat) ** 2).sum(-1)
        weight = self.num_classes * self.beta1 * expand_like(state.t.to(sq.dtype), sq)
        return masked_mean(weight * sq, state.mask)

    def step_kl(self, logits: Tensor, e: Tensor, t: Tensor, corrupted: Corrupted) -> Tensor:
        """One-sample estimate (B, ...) of the KL of the sender of the step t -> min(t + 1/n, 1) from the receiver
        of output distribution softmax(logits), for the data ``e`` (one-hot, (B, ..., K)) and the sender noise
        ``corrupted.aux["sender_noise"]``, with the zero-mean control variate of the class docstring."""
        z = corrupted.aux.get("sender_noise")
        if z is None:
            raise ProcessError("the discrete-time loss of DiscreteBFN needs aux['sender_noise'] from its own corrupt "
                               "(this batch was corrupted by a process without steps)")
        k = self.num_classes
        z = z.to(e.dtype)
        t = t.to(e.dtype)
        alpha = self.schedule.alpha(t, (t + 1.0 / self.steps).clamp(max=1.0))
        alpha = expand_like(alpha, e[..., 0]).unsqueeze(-1)
        scale = torch.sqrt(alpha * k)
        log_p = torch.log_softmax(logits, dim=-1)
        y = alpha * (k * e - 1.0) + scale * z
        kl = (y * e).sum(-1) - torch.logsumexp(log_p + y, dim=-1)
        pi = torch.softmax(log_p + alpha * k * e, dim=-1)
        return kl - scale[..., 0] * ((z * e).sum(-1) - (z * pi).sum(-1))

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        """One receiver update: k ~ p_hat, y ~ N(alpha (K e_k - 1), alpha K I), theta <- softmax(y + log theta)."""
        self._check_logits(state, prediction, kind)
        theta = state.value
        k = self.sample_classes(prediction, generator)
        dt = theta.dtype
        alpha = expand_like(self.schedule.alpha(state.t.to(dt), t_next.to(dt)).clamp_min(0.0), k).unsqueeze(-1)
        y = self.sender_sample(k, alpha, dt, generator)
        return state.with_value(self._uniform_fill(self.update(theta, y), state.mask), t=t_next)

    def resample(self, state, prediction, kind, t, estimate: str = "mean", generator=None) -> FieldState:
        """End-back step: the belief at time ``t`` (B,) drawn afresh from the flow distribution, theta = softmax(y),
        y ~ N(beta(t) (K e - 1), beta(t) K I), with e = p_hat = softmax(prediction) (``"mean"``) or the one-hot of
        a class drawn from p_hat (``"sample"``). Padding keeps the uniform belief."""
        check_estimate(estimate)
        self._check_logits(state, prediction, kind)
        if estimate == "sample":
            return self.corrupt(self.sample_classes(prediction, generator), t, state.mask, generator).state
        dtype = state.value.dtype
        p_hat = torch.softmax(prediction.to(dtype), dim=-1)
        beta = expand_like(self.schedule.beta(t.to(dtype)), p_hat[..., 0]).unsqueeze(-1)
        theta = torch.softmax(self.sender_sample_of(p_hat, beta, generator), dim=-1)
        return FieldState(self._uniform_fill(theta, state.mask), t, state.mask)

    @staticmethod
    def sample_classes(logits: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One class id per entry (B, ...) drawn from softmax(logits) (B, ..., K) by the Gumbel-max trick."""
        check_finite("logits", logits)
        u = torch.rand(logits.shape, device=logits.device, dtype=torch.float64, generator=generator)
        gumbel = -torch.log(-torch.log(u.clamp(1e-300, 1.0 - 1e-16)))
        return (torch.log_softmax(logits.double(), dim=-1) + gumbel).argmax(dim=-1)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        self._check_logits(state, prediction, kind)
        out = prediction.argmax(dim=-1)
        return out if state.mask is None else torch.where(state.mask.bool(), out, torch.zeros_like(out))

    def final_step(self, state, prediction, kind, generator=None) -> Tensor:
        """A class drawn from p_hat = softmax(logits) at the end of the flow (padding: class 0)."""
        self._check_logits(state, prediction, kind)
        out = self.sample_classes(prediction, generator)
        return out if state.mask is None else torch.where(state.mask.bool(), out, torch.zeros_like(out))

    def guidance_combine(self, cond: Tensor, uncond: Tensor, kind: str, scale: float) -> Tensor:
        """Mix on log-probabilities: log p_u + scale (log p_c - log p_u) (renormalised by the softmax later)."""
        lc, lu = torch.log_softmax(cond, dim=-1), torch.log_softmax(uncond, dim=-1)
        return lu + scale * (lc - lu)

    def clean_state(self, x1, t, mask=None) -> FieldState:
        """The one-hot belief on the given classes (padding uniform)."""
        dtype = t.dtype if t.is_floating_point() else torch.float32
        theta = F.one_hot(x1.long().clamp(0, self.num_classes - 1), self.num_classes).to(dtype)
        return FieldState(self._uniform_fill(theta, mask), t, mask)
