"""Masked (absorbing-state) discrete diffusion over K classes (D3PM-absorbing, MDLM, MD4).

Values are long tensors in [0, K]: 0 .. K-1 are the data classes and K is the mask token. Forward marginal
(t = 0 prior, t = 1 data): each real token keeps its data value with probability alpha(t), else it shows the mask,

    q(x_t = k | x1 = k) = alpha(t),  q(x_t = K | x1 = k) = 1 - alpha(t).

A denoiser predicts ``"logits"`` (B, ..., K) of the data class at each position (only masked positions matter).

Loss (per sample, normalised per real token, in nats): with w(t) = alpha'(t) / (1 - alpha(t)),

    "elbo":    w(t) * sum_{masked positions} -log p_theta(x1 | x_t)  /  (number of real positions)

which is the continuous-time negative ELBO of MDLM (Sahoo et al. 2024, eq. 10; their time runs from data to noise,
so their alpha'_t / (1 - alpha_t) is negative and carries a minus sign that disappears here). "uniform" is the plain
mean cross-entropy over the masked positions of each sample (0 for a sample with no masked position).

Reverse step t -> s: a masked position is revealed with probability (alpha(s) - alpha(t)) / (1 - alpha(t)) and takes
a class drawn from softmax(logits); revealed tokens never change.
"""
from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from morphogen.processes.base import Corrupted, FieldState, Process, expand_like, masked_mean
from morphogen.processes.uniform import (
    check_logits,
    check_tokens,
    log_prob_guidance,
    real_entries,
    sample_categorical,
    time_dtype,
)
from morphogen.schedules.discrete import KeepSchedule, LinearKeep

LOSS_WEIGHTINGS = ("elbo", "uniform")


class MaskedDiffusion(Process):
    """Absorbing-state diffusion of a field of class indices.

    Values: (B, ...) long; data in [0, K-1], the mask token is K (:attr:`mask_id`). Padding entries (mask == 0) keep
    their data value, are never masked or sampled, and never count in the loss.
    Prediction: ``"logits"`` (B, ..., K) over the K data classes.

    Args:
        num_classes: K, the number of data classes (the mask token is extra).
        schedule: the keep schedule alpha(t) (:mod:`morphogen.schedules.discrete`).
        loss_weighting: ``"elbo"`` (MDLM continuous-time ELBO, nats per real token) or ``"uniform"`` (mean
            cross-entropy over the masked positions).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"ancestral", "unmask", "renoise"})
    prediction_kinds: ClassVar[frozenset[str]] = frozenset({"logits"})
    logits_over_classes: ClassVar[bool] = True

    def __init__(self, num_classes: int, schedule: KeepSchedule | None = None, loss_weighting: str = "elbo"):
        if int(num_classes) < 1:
            raise ValueError(f"MaskedDiffusion needs num_classes >= 1, got {num_classes}")
        if loss_weighting not in LOSS_WEIGHTINGS:
            raise ValueError(f"loss_weighting must be one of {LOSS_WEIGHTINGS}, got '{loss_weighting}'")
        schedule = LinearKeep() if schedule is None else schedule
        if not isinstance(schedule, KeepSchedule):
            raise TypeError(f"MaskedDiffusion needs a KeepSchedule, got {schedule!r}")
        self.num_classes = int(num_classes)
        self.schedule = schedule
        self.loss_weighting = loss_weighting

    @property
    def mask_id(self) -> int:
        """The token id of the mask (absorbing state): K."""
        return self.num_classes

    def _alpha(self, t: Tensor, like: Tensor) -> Tensor:
        """alpha(t) (B,) shaped (B, 1, ..., 1) against ``like``, in t's float dtype."""
        return expand_like(self.schedule.alpha(t), like)

    def is_masked(self, state: FieldState) -> Tensor:
        """(B, ...) bool: real positions that still show the mask token."""
        return (state.value == self.mask_id) & real_entries(state.mask, state.value)

    def likelihood(self, value: Tensor, t: Tensor) -> Tensor:
        """q(x_t = value | x1 = k) for every data class k: (B, ..., K) for tokens ``value`` (B, ...) at ``t`` (B,).

        A masked position gives 1 - alpha(t) for every k, a shown token i gives alpha(t) [k = i].
        """
        a = self._alpha(t, value).unsqueeze(-1)
        masked = (value == self.mask_id).unsqueeze(-1)
        shown = torch.nn.functional.one_hot(value.clamp_max(self.num_classes - 1), self.num_classes).to(a.dtype)
        return torch.where(masked, (1.0 - a).expand_as(shown), a * shown)

    # -- Process API --------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        super().check_data(name, x1, mask)
        check_tokens(name, x1 if mask is None else torch.where(real_entries(mask, x1), x1, torch.zeros_like(x1)),
                     self.num_classes, type(self).__name__)

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        a = self._alpha(t, x1)
        keep = torch.rand(x1.shape, device=x1.device, dtype=a.dtype, generator=generator) < a
        keep = keep | ~real_entries(mask, x1)
        xt = torch.where(keep, x1, torch.full_like(x1, self.mask_id))
        return Corrupted(FieldState(xt, t, mask), x1=x1)

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        t = torch.zeros(shape[0], device=device, dtype=time_dtype(dtype))
        x = torch.full(tuple(shape), self.mask_id, dtype=torch.long, device=device)
        x = torch.where(real_entries(mask, x), x, torch.zeros_like(x))
        return FieldState(x, t, mask)

    def elbo_weight(self, t: Tensor) -> Tensor:
        """w(t) = alpha'(t) / (1 - alpha(t)) (B,), finite also at t = 1 (where no position is masked)."""
        one_minus = (1.0 - self.schedule.alpha(t)).clamp_min(torch.finfo(t.dtype).eps)
        return self.schedule.d_alpha(t) / one_minus

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        check_logits(prediction, state.value, self.num_classes, kind, type(self).__name__)
        logp = torch.log_softmax(prediction, dim=-1)
        nll = -logp.gather(-1, corrupted.x1.unsqueeze(-1)).squeeze(-1)
        masked = self.is_masked(state)
        nll = torch.where(masked, nll, torch.zeros_like(nll))
        if self.loss_weighting == "uniform":
            return masked_mean(nll, masked)
        per_token = masked_mean(nll, state.mask)  # sum over masked / number of real positions
        return self.elbo_weight(state.t.to(per_token.dtype)) * per_token

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        x = state.value
        check_logits(prediction, x, self.num_classes, kind, type(self).__name__)
        a_t = self._alpha(state.t, x)
        a_s = self._alpha(t_next, x)
        p_reveal = ((a_s - a_t) / (1.0 - a_t).clamp_min(torch.finfo(a_t.dtype).tiny)).clamp(0.0, 1.0)
        reveal = torch.rand(x.shape, device=x.device, dtype=a_t.dtype, generator=generator) < p_reveal
        drawn = sample_categorical(torch.softmax(prediction, dim=-1), generator)
        x_next = torch.where(self.is_masked(state) & reveal, drawn, x)
        return state.with_value(x_next, t=t_next)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        check_logits(prediction, state.value, self.num_classes, kind, type(self).__name__)
        return torch.where(self.is_masked(state), prediction.argmax(dim=-1), state.value)

    def final_step(self, state, prediction, kind, generator=None) -> Tensor:
        check_logits(prediction, state.value, self.num_classes, kind, type(self).__name__)
        drawn = sample_categorical(torch.softmax(prediction, dim=-1), generator)
        return torch.where(self.is_masked(state), drawn, state.value)

    def guidance_combine(self, cond, uncond, kind, scale) -> Tensor:
        return log_prob_guidance(cond, uncond, scale)

    def clean_state(self, x1, t, mask=None) -> FieldState:
        return FieldState(value=x1.long(), t=t, mask=mask)

