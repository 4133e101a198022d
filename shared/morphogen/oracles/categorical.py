"""Closed-form denoisers of discrete targets: a product of independent categoricals, independent Bernoulli entries.

For a target that factorises over positions, p(x1) = prod_l probs[l, x1_l], and a forward process that corrupts
positions independently, the exact posterior factorises too:

    p(x1_l = k | x_t) ∝ probs[l, k] q(x_t,l | x1_l = k).

Each discrete process exposes ``likelihood(value, t) -> (B, ..., K)``, the vector q(x_t | x1 = k) over k, so one
oracle serves masked diffusion (masked position -> probs, shown token -> a delta on it) and uniform diffusion
(probs_k (alpha [k = i] + (1 - alpha) / K)); the Bernoulli oracle is its K = 2 case written as one logit.
"""
from __future__ import annotations

import torch
from torch import Tensor

#: floor of the log-probabilities returned as logits: finite, so guidance differences and loss checks stay finite
LOG_FLOOR = -1.0e4


def _posterior(process, value: Tensor, t: Tensor, probs: Tensor) -> Tensor:
    """Exact p(x1 = k | x_t = value) (B, ..., K) in float64; rows of impossible states fall back to ``probs``."""
    lik = process.likelihood(value, t.to(torch.float64)).to(torch.float64)
    joint = probs.unsqueeze(0) * lik
    total = joint.sum(dim=-1, keepdim=True)
    prior = probs.unsqueeze(0).expand_as(joint)
    return torch.where(total > 0, joint / total.clamp_min(torch.finfo(torch.float64).tiny), prior)


class CategoricalProductOracle:
    """Denoiser protocol: exact logits of p(x1 | x_t) for a product of independent categoricals.

    Args:
        field: name of the field (values (B, *S) long).
        probs: (*S, K) the target's class probabilities at each position (rows are normalised here).
        process: the discrete process the samples are drawn with; it must expose ``likelihood(value, t)``
            (:class:`~morphogen.processes.masked.MaskedDiffusion`,
            :class:`~morphogen.processes.uniform.UniformDiscrete`).

    Returns on call: ``{field: logits (B, *S, K)}``, normalised log-probabilities floored at :data:`LOG_FLOOR`, in
    the float dtype of ``t``. The condition is ignored (the target is unconditional).
    """

    def __init__(self, field: str, probs: Tensor, process):
        probs = torch.as_tensor(probs, dtype=torch.float64)
        if probs.dim() < 2:
            raise ValueError(f"probs must be (*S, K) with at least one position dimension, got {tuple(probs.shape)}")
        if (probs < 0).any() or not torch.isfinite(probs).all():
            raise ValueError("probs must be finite and non-negative")
        if not callable(getattr(process, "likelihood", None)):
            raise TypeError(f"{type(process).__name__} exposes no likelihood(value, t); it cannot drive this oracle")
        k = getattr(process, "num_classes", None)
        if k is not None and k != probs.shape[-1]:
            raise ValueError(f"probs has {probs.shape[-1]} classes, the process {k}")
        self.field = field
        self.probs = probs / probs.sum(dim=-1, keepdim=True)
        self.process = process
        self.prediction_kinds = {field: "logits"}

    def __call__(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        st = state[self.field]
        if tuple(st.value.shape[1:]) != tuple(self.probs.shape[:-1]):
            raise ValueError(
                f"field '{self.field}': state of shape {tuple(st.value.shape)} does not match probs "
                f"{tuple(self.probs.shape)} (expected (B, *S) for probs (*S, K))"
            )
        post = _posterior(self.process, st.value, st.t, self.probs.to(st.value.device))
        out_dtype = st.t.dtype if st.t.is_floating_point() else torch.float32
        return {self.field: torch.log(post).clamp_min(LOG_FLOOR).to(out_dtype)}


class BernoulliOracle:
    """Denoiser protocol: the exact logit of P(x1 = 1 | x_t) for independent Bernoulli entries.

    Args:
        field: name of the field (values (B, *S) float in {0, 1}).
        probs: (*S) P(x1 = 1) of each entry, in [0, 1].
        process: the :class:`~morphogen.processes.bernoulli.BernoulliDiffusion` the samples are drawn with.

    Returns on call: ``{field: logit (B, *S)}`` in the field's dtype, clipped to [-LOG_FLOOR, LOG_FLOOR].
    """

    def __init__(self, field: str, probs: Tensor, process):
        probs = torch.as_tensor(probs, dtype=torch.float64)
        if ((probs < 0) | (probs > 1)).any() or not torch.isfinite(probs).all():
            raise ValueError("probs must lie in [0, 1]")
        if not callable(getattr(process, "likelihood", None)):
            raise TypeError(f"{type(process).__name__} exposes no likelihood(value, t); it cannot drive this oracle")
        self.field = field
        self.probs = probs
        self.process = process
        self.prediction_kinds = {field: "logits"}

    def __call__(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        st = state[self.field]
        if tuple(st.value.shape[1:]) != tuple(self.probs.shape):
            raise ValueError(
                f"field '{self.field}': state of shape {tuple(st.value.shape)} does not match probs "
                f"{tuple(self.probs.shape)}"
            )
        p1 = self.probs.to(st.value.device)
        two = torch.stack([1.0 - p1, p1], dim=-1)
        post = _posterior(self.process, st.value, st.t, two)
        logit = (torch.log(post[..., 1]) - torch.log(post[..., 0])).clamp(LOG_FLOOR, -LOG_FLOOR)
        return {self.field: logit.to(st.value.dtype)}
