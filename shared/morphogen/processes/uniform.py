"""Uniform discrete diffusion over K classes, and the categorical helpers every discrete process shares.

Forward marginal (t = 0 prior, t = 1 data): ``x_t = x1`` with probability alpha(t), otherwise a class drawn
uniformly from the K classes (it may coincide with ``x1``), so

    q(x_t = i | x1 = k) = alpha(t) [i = k] + (1 - alpha(t)) / K.

Between two times t < s the forward chain goes s -> t (towards the prior) with keep probability
beta = alpha(t) / alpha(s):  A_ij = q(x_t = i | x_s = j) = beta [i = j] + (1 - beta) / K. The reverse step uses the
exact posterior, marginalised over the denoiser's predicted data distribution p (D3PM with x0-parametrisation):

    p(x_s = j | x_t = i) = sum_k q(x_s = j | x_t = i, x1 = k) p_k,
    q(x_s = j | x_t = i, x1 = k) = A_ij B_jk / q(x_t = i | x1 = k),  B_jk = alpha(s) [j = k] + (1 - alpha(s)) / K.

:func:`uniform_posterior` implements it once; Bernoulli diffusion (K = 2) reuses it. At t = 0 (alpha = 0) the state
carries no information and the posterior is the forward marginal of p at s, as it should be.

The helpers at the top of this file (token checks, categorical sampling, log-probability guidance) are shared by
masked, uniform and Bernoulli diffusion.
"""
from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from morphogen.processes.base import Corrupted, FieldState, Process, ProcessError, expand_like, masked_mean
from morphogen.schedules.discrete import KeepSchedule, LinearKeep

# ---------------------------------------------------------------------------------------------------------------
# shared helpers of the discrete processes
# ---------------------------------------------------------------------------------------------------------------


def real_entries(mask: Tensor | None, like: Tensor) -> Tensor:
    """Bool tensor shaped like ``like`` (B, ...): True on real entries, False on padding (all True without mask)."""
    if mask is None:
        return torch.ones_like(like, dtype=torch.bool)
    return torch.broadcast_to(mask.to(like.device).bool(), like.shape)


def time_dtype(dtype: torch.dtype) -> torch.dtype:
    """The float dtype of t for a requested dtype (token processes ignore a non-float request)."""
    return dtype if dtype.is_floating_point else torch.float32


def check_tokens(name: str, x1: Tensor, num_classes: int, owner: str) -> None:
    """Raise :class:`ProcessError` unless ``x1`` is a long tensor of classes in [0, num_classes - 1]."""
    if x1.dtype != torch.long:
        raise ProcessError(f"field '{name}': {owner} needs class indices as a long tensor, got {x1.dtype}")
    if x1.numel() == 0:
        return
    bad = (x1 < 0) | (x1 >= num_classes)
    if bad.any():
        where = bad.nonzero()[0].tolist()
        value = int(x1[tuple(where)])
        raise ProcessError(
            f"field '{name}': class {value} at index {tuple(where)} is outside [0, {num_classes - 1}] "
            f"({owner} with num_classes={num_classes}; pad with a valid class and a padding mask)"
        )


def check_logits(prediction: Tensor, value: Tensor, num_classes: int, kind: str, owner: str) -> None:
    """Raise :class:`ProcessError` unless ``kind`` is "logits" and ``prediction`` is (*value.shape, num_classes)."""
    if kind != "logits":
        raise ProcessError(f"{owner} cannot use a '{kind}' prediction; it accepts ['logits']")
    expected = (*value.shape, num_classes)
    if tuple(prediction.shape) != expected:
        raise ProcessError(
            f"{owner}: logits of shape {tuple(prediction.shape)} do not fit the field; expected {expected} "
            f"(the field's shape plus a class dimension of size {num_classes})"
        )


def sample_categorical(probs: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """One class index per row of ``probs`` (..., K) (non-negative, normalised here), by inverse CDF.

    Draws exactly one uniform per row, so the random stream depends only on the shape. Returns long (...).
    """
    cdf = probs.cumsum(dim=-1)
    u = torch.rand((*probs.shape[:-1], 1), device=probs.device, dtype=probs.dtype, generator=generator)
    idx = (cdf < u * cdf[..., -1:]).sum(dim=-1)
    return idx.clamp_max(probs.shape[-1] - 1)


def log_prob_guidance(cond: Tensor, uncond: Tensor, scale: float) -> Tensor:
    """Classifier-free guidance of logits (..., K) in log-probability space: u + scale (c - u), u, c log-softmaxed."""
    lc = torch.log_softmax(cond, dim=-1)
    lu = torch.log_softmax(uncond, dim=-1)
    return lu + scale * (lc - lu)


def uniform_likelihood(x_t: Tensor, alpha_t: Tensor, num_classes: int) -> Tensor:
    """q(x_t | x1 = k) for every k: (..., K) for tokens ``x_t`` (...) long and ``alpha_t`` broadcastable to (...)."""
    a = alpha_t.unsqueeze(-1)
    onehot = F.one_hot(x_t, num_classes).to(a.dtype)
    return a * onehot + (1.0 - a) / num_classes


def uniform_posterior(x_t: Tensor, p: Tensor, alpha_t: Tensor, alpha_s: Tensor) -> Tensor:
    """Exact reverse kernel of uniform diffusion, marginalised over a predicted data distribution.

    Args:
        x_t: (...) long, the current tokens at time t.
        p: (..., K) the predicted distribution of x1 (rows sum to one).
        alpha_t: keep probability at t, broadcastable to (...).
        alpha_s: keep probability at the later time s (alpha_s >= alpha_t), broadcastable to (...).

    Returns:
        (..., K) the probabilities p(x_s = j | x_t) = sum_k q(x_s = j | x_t, x1 = k) p_k.

    With c = (1 - alpha_t) / K, q(x_t = i | x1 = k) is c for k != i and alpha_t + c for k = i, so
    r_k = p_k c / q(x_t = i | x1 = k) equals p_k except r_i = p_i c / (alpha_t + c); the kernel is
    A_ij (alpha_s r_j + (1 - alpha_s) / K sum_k r_k), normalised. Every division is by at least 1 / K. Where
    alpha_t = 1 (c = 0) the state already is the data and the kernel is a delta on ``x_t``.
    """
    k = p.shape[-1]
    a_t = alpha_t.to(p.dtype).unsqueeze(-1)
    a_s = alpha_s.to(p.dtype).unsqueeze(-1)
    onehot = F.one_hot(x_t, k).to(p.dtype)
    c = (1.0 - a_t) / k
    r = p * (1.0 - onehot * (a_t / (a_t + c)))
    b_r = a_s * r + (1.0 - a_s) / k * r.sum(dim=-1, keepdim=True)
    beta = (a_t / a_s.clamp_min(torch.finfo(p.dtype).tiny)).clamp(0.0, 1.0)
    w = (beta * onehot + (1.0 - beta) / k) * b_r
    post = w / w.sum(dim=-1, keepdim=True).clamp_min(torch.finfo(p.dtype).tiny)
    return torch.where(a_t >= 1.0, onehot, post)  # alpha_t = 1: the state is the data and stays


# ---------------------------------------------------------------------------------------------------------------
# the process
# ---------------------------------------------------------------------------------------------------------------


class UniformDiscrete(Process):
    """Uniform-noise discrete diffusion of a field of class indices.

    Values: (B, ...) long in [0, K-1]. Prediction: ``"logits"`` (B, ..., K) of the data distribution p(x1 | x_t).

    Args:
        num_classes: K.
        schedule: the keep schedule alpha(t) (:mod:`morphogen.schedules.discrete`).

    Loss: cross-entropy -log p_theta(x1 | x_t) averaged over the real (non-padding) positions of each sample, with
    no time weighting. It is a proper scoring rule, minimised by the exact posterior p(x1 | x_t) at every t, which is
    what the exact reverse step needs; it is not the (tighter-weighted) ELBO of uniform diffusion.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"ancestral", "renoise"})
    prediction_kinds: ClassVar[frozenset[str]] = frozenset({"logits"})
    logits_over_classes: ClassVar[bool] = True

    def __init__(self, num_classes: int, schedule: KeepSchedule | None = None):
        if int(num_classes) < 2:
            raise ValueError(f"UniformDiscrete needs num_classes >= 2, got {num_classes}")
        schedule = LinearKeep() if schedule is None else schedule
        if not isinstance(schedule, KeepSchedule):
            raise TypeError(f"UniformDiscrete needs a KeepSchedule, got {schedule!r}")
        self.num_classes = int(num_classes)
        self.schedule = schedule

    def _alpha(self, t: Tensor, like: Tensor) -> Tensor:
        """alpha(t) (B,) shaped (B, 1, ..., 1) against ``like``, in t's float dtype."""
        return expand_like(self.schedule.alpha(t), like)

    def likelihood(self, value: Tensor, t: Tensor) -> Tensor:
        """q(x_t = value | x1 = k) for every class k: (B, ..., K) for tokens ``value`` (B, ...) at times ``t`` (B,)."""
        return uniform_likelihood(value, self._alpha(t, value), self.num_classes)

    # -- Process API --------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        super().check_data(name, x1, mask)
        check_tokens(name, x1 if mask is None else torch.where(real_entries(mask, x1), x1, torch.zeros_like(x1)),
                     self.num_classes, type(self).__name__)

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        a = self._alpha(t, x1)
        keep = torch.rand(x1.shape, device=x1.device, dtype=a.dtype, generator=generator) < a
        noise = torch.randint(0, self.num_classes, x1.shape, device=x1.device, generator=generator)
        xt = torch.where(keep | ~real_entries(mask, x1), x1, noise)
        return Corrupted(FieldState(xt, t, mask), x1=x1)

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        t = torch.zeros(shape[0], device=device, dtype=time_dtype(dtype))
        x = torch.randint(0, self.num_classes, tuple(shape), device=device, generator=generator)
        x = torch.where(real_entries(mask, x), x, torch.zeros_like(x))
        return FieldState(x, t, mask)

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        check_logits(prediction, state.value, self.num_classes, kind, type(self).__name__)
        logp = torch.log_softmax(prediction, dim=-1)
        nll = -logp.gather(-1, corrupted.x1.unsqueeze(-1)).squeeze(-1)
        return masked_mean(nll, state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        x = state.value
        check_logits(prediction, x, self.num_classes, kind, type(self).__name__)
        p = torch.softmax(prediction, dim=-1)
        post = uniform_posterior(x, p, self._alpha(state.t, x).to(p.dtype), self._alpha(t_next, x).to(p.dtype))
        x_next = sample_categorical(post, generator)
        x_next = torch.where(real_entries(state.mask, x), x_next, x)
        return state.with_value(x_next, t=t_next)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        x = state.value
        check_logits(prediction, x, self.num_classes, kind, type(self).__name__)
        return torch.where(real_entries(state.mask, x), prediction.argmax(dim=-1), x)

    def final_step(self, state, prediction, kind, generator=None) -> Tensor:
        x = state.value
        check_logits(prediction, x, self.num_classes, kind, type(self).__name__)
        x1 = sample_categorical(torch.softmax(prediction, dim=-1), generator)
        return torch.where(real_entries(state.mask, x), x1, x)

    def guidance_combine(self, cond, uncond, kind, scale) -> Tensor:
        return log_prob_guidance(cond, uncond, scale)

    def clean_state(self, x1, t, mask=None) -> FieldState:
        return FieldState(value=x1.long(), t=t, mask=mask)
