"""Bernoulli diffusion of binary maps (BerDiff, Chen et al. 2023; the Bernoulli branch of Echo-DND).

Values are float tensors of 0. and 1. (a segmentation mask (B, 1, H, W), a binary image). Forward marginal
(t = 0 prior, t = 1 data):

    x_t ~ Bernoulli(alpha(t) x1 + (1 - alpha(t)) / 2),

i.e. uniform discrete diffusion with K = 2 classes: the reverse step is the exact posterior of
:func:`morphogen.processes.uniform.uniform_posterior` with the predicted data distribution (1 - p_hat, p_hat).
BerDiff writes the same chain with time running from data to noise and a per-step flip rate; alpha here is the
product of its (1 - beta) terms.

A denoiser predicts ``"logits"``: one logit per entry (same shape as the field) of P(x1 = 1 | x_t).
"""
from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from morphogen.processes.base import Corrupted, FieldState, Process, ProcessError, expand_like, masked_mean
from morphogen.processes.uniform import real_entries, time_dtype, uniform_likelihood, uniform_posterior
from morphogen.schedules.discrete import KeepSchedule, LinearKeep

BERNOULLI_LOSSES = ("bce",)
BERNOULLI_FINALS = ("sample", "probability")


def _check_logit(prediction: Tensor, value: Tensor, kind: str) -> None:
    if kind != "logits":
        raise ProcessError(f"BernoulliDiffusion cannot use a '{kind}' prediction; it accepts ['logits']")
    if prediction.shape != value.shape:
        raise ProcessError(
            f"BernoulliDiffusion: logit of shape {tuple(prediction.shape)} does not fit the field "
            f"{tuple(value.shape)} (one logit per entry)"
        )


class BernoulliDiffusion(Process):
    """Bernoulli (two-class uniform) diffusion of a binary field.

    Values: (B, ...) float in {0., 1.}. Prediction: ``"logits"`` (B, ...) of P(x1 = 1 | x_t).
    Padding entries (mask == 0) keep their data value, are never flipped or sampled and never count in the loss.

    Args:
        schedule: the keep schedule alpha(t) (:mod:`morphogen.schedules.discrete`).
        loss: ``"bce"``: binary cross-entropy of the x1 prediction, mean over the real entries of each sample
            (minimised by the exact posterior P(x1 = 1 | x_t) at every t).
        final: what a sampler returns from its last prediction: ``"sample"`` a binary draw from it (a sample of
            the modelled distribution), ``"probability"`` the predicted P(x1 = 1) itself (a soft map in [0, 1],
            e.g. a segmentation probability that is thresholded or fused later).
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"ancestral", "renoise"})
    prediction_kinds: ClassVar[frozenset[str]] = frozenset({"logits"})

    def __init__(self, schedule: KeepSchedule | None = None, loss: str = "bce", final: str = "sample"):
        if loss not in BERNOULLI_LOSSES:
            raise ValueError(f"BernoulliDiffusion loss must be one of {BERNOULLI_LOSSES}, got '{loss}'")
        if final not in BERNOULLI_FINALS:
            raise ValueError(f"BernoulliDiffusion final must be one of {BERNOULLI_FINALS}, got '{final}'")
        self.final = final
        schedule = LinearKeep() if schedule is None else schedule
        if not isinstance(schedule, KeepSchedule):
            raise TypeError(f"BernoulliDiffusion needs a KeepSchedule, got {schedule!r}")
        self.schedule = schedule
        self.loss_kind = loss

    def _alpha(self, t: Tensor, like: Tensor) -> Tensor:
        """alpha(t) (B,) shaped (B, 1, ..., 1) against ``like``."""
        return expand_like(self.schedule.alpha(t.to(like.dtype)), like)

    def likelihood(self, value: Tensor, t: Tensor) -> Tensor:
        """q(x_t = value | x1 = k) for k = 0, 1: (B, ..., 2) for a binary state ``value`` (B, ...) at ``t`` (B,)."""
        return uniform_likelihood(value.long(), self._alpha(t, value), 2)

    # -- Process API --------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        super().check_data(name, x1, mask)
        if not x1.is_floating_point():
            raise ProcessError(f"field '{name}': BernoulliDiffusion needs a float tensor of 0. and 1., got {x1.dtype}")
        bad = (x1 != 0) & (x1 != 1)
        if mask is not None:
            bad = bad & torch.broadcast_to(mask.bool(), bad.shape)
        if bad.any():
            where = bad.nonzero()[0].tolist()
            raise ProcessError(
                f"field '{name}': BernoulliDiffusion needs binary values (0. or 1.), got {float(x1[tuple(where)])} "
                f"at index {tuple(where)}"
            )

    def corrupt(self, x1, t, mask=None, generator=None) -> Corrupted:
        a = self._alpha(t, x1)
        prob = a * x1 + (1.0 - a) * 0.5
        xt = (torch.rand(x1.shape, device=x1.device, dtype=x1.dtype, generator=generator) < prob).to(x1.dtype)
        xt = torch.where(real_entries(mask, x1), xt, x1)
        return Corrupted(FieldState(xt, t, mask), x1=x1)

    def prior(self, shape, mask=None, device=None, dtype=torch.float32, generator=None) -> FieldState:
        dt = time_dtype(dtype)
        t = torch.zeros(shape[0], device=device, dtype=dt)
        x = (torch.rand(tuple(shape), device=device, dtype=dt, generator=generator) < 0.5).to(dt)
        x = torch.where(real_entries(mask, x), x, torch.zeros_like(x))
        return FieldState(x, t, mask)

    def loss(self, prediction, kind, corrupted) -> Tensor:
        state = corrupted.state
        _check_logit(prediction, state.value, kind)
        bce = F.binary_cross_entropy_with_logits(prediction, corrupted.x1.to(prediction.dtype), reduction="none")
        return masked_mean(bce, state.mask)

    def reverse_step(self, state, prediction, kind, t_next, generator=None) -> FieldState:
        x = state.value
        _check_logit(prediction, x, kind)
        p1 = torch.sigmoid(prediction)
        p = torch.stack([1.0 - p1, p1], dim=-1)
        post = uniform_posterior(x.long(), p, self._alpha(state.t, p1), self._alpha(t_next, p1))
        u = torch.rand(x.shape, device=x.device, dtype=post.dtype, generator=generator)
        x_next = (u < post[..., 1]).to(x.dtype)
        x_next = torch.where(real_entries(state.mask, x), x_next, x)
        return state.with_value(x_next, t=t_next)

    def estimate_x1(self, state, prediction, kind) -> Tensor:
        x = state.value
        _check_logit(prediction, x, kind)
        return torch.where(real_entries(state.mask, x), (prediction > 0).to(x.dtype), x)

    def final_step(self, state, prediction, kind, generator=None) -> Tensor:
        x = state.value
        _check_logit(prediction, x, kind)
        if self.final == "probability":
            return torch.where(real_entries(state.mask, x), torch.sigmoid(prediction).to(x.dtype), x)
        u = torch.rand(x.shape, device=x.device, dtype=prediction.dtype, generator=generator)
        x1 = (u < torch.sigmoid(prediction)).to(x.dtype)
        return torch.where(real_entries(state.mask, x), x1, x)
