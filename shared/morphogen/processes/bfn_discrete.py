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

from morphogen.processes.base import Corrupted, FieldState, Process, ProcessError, check_finite, expand_like, masked_mean
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
    Loss: the continuous-time loss K beta1 t ||e_x - p_hat||^2 (sum over classes), as a masked mean over the
    entries of each sample (B,).
    Reverse step from t to t_next: alpha = beta1 (t_next^2 - t^2) (= beta1 (2i - 1) / n^2 on the grid i/n),
    k ~ p_hat, y ~ N(alpha (K e_k - 1), alpha K I), theta <- softmax(y + log theta). Drawing k from p_hat first is
    an exact draw from the receiver distribution (the mixture over k).
    ``final_step`` samples the class from p_hat (the generative model's last draw, exact when p_hat is the true
    posterior); ``estimate_x1`` returns its argmax.

    Args:
        num_classes: K >= 2.
        beta1: accumulated accuracy at t = 1.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"bayesian_flow"})
    prediction_kinds: ClassVar[frozenset[str]] = frozenset({"logits"})
    logits_over_classes: ClassVar[bool] = True

    def __init__(self, num_classes: int, beta1: float = 3.0):
        if int(num_classes) < 2:
            raise ValueError(f"num_classes must be >= 2, got {num_classes}")
        self.num_classes = int(num_classes)
        self.schedule = DiscreteAccuracy(beta1)
        self.beta1 = float(beta1)

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
        k = self.num_classes
        e = F.one_hot(classes, k).to(dtype)
        z = torch.randn(e.shape, device=e.device, dtype=dtype, generator=generator)
        return alpha * (k * e - 1.0) + torch.sqrt(alpha * k) * z

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
        return Corrupted(FieldState(theta, t, mask), x1=x1)

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        """The uniform belief (B, ..., K) for data shape ``shape`` (B, ...)."""
        theta = torch.full((*shape, self.num_classes), 1.0 / self.num_classes, device=device, dtype=dtype)
        return FieldState(theta, torch.zeros(shape[0], device=device, dtype=dtype), mask)

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        self._check_logits(state, prediction, kind)
        p_hat = torch.softmax(prediction.to(state.value.dtype), dim=-1)
        e = F.one_hot(corrupted.x1.long().clamp(0, self.num_classes - 1), self.num_classes).to(p_hat.dtype)
        sq = ((e - p_hat) ** 2).sum(-1)
        weight = self.num_classes * self.beta1 * expand_like(state.t.to(sq.dtype), sq)
        return masked_mean(weight * sq, state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        """One receiver update: k ~ p_hat, y ~ N(alpha (K e_k - 1), alpha K I), theta <- softmax(y + log theta)."""
        self._check_logits(state, prediction, kind)
        theta = state.value
        k = self.sample_classes(prediction, generator)
        dt = theta.dtype
        alpha = expand_like(self.schedule.alpha(state.t.to(dt), t_next.to(dt)).clamp_min(0.0), k).unsqueeze(-1)
        y = self.sender_sample(k, alpha, dt, generator)
        return state.with_value(self._uniform_fill(self.update(theta, y), state.mask), t=t_next)

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
