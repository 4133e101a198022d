"""The contract every noise process of one field fulfils.

Time convention (everywhere in Morphogen): ``t`` in [0, 1], ``t = 0`` is the prior (pure noise), ``t = 1`` is the
data. Formulas from papers written the other way round (score SDEs) are flipped where they are implemented.

A process corrupts one named field of a batch. The noisy field, together with everything the denoiser may need
about it, is a :class:`FieldState`. The denoiser answers with a tensor per field whose *prediction kind* it
declares (``"noise"``, ``"x1"``, ``"score"``, ``"velocity"``, ``"logits"``, ...); the process knows how to turn that
prediction into its loss and into its reverse (ancestral) update.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import ClassVar

import torch
from torch import Tensor

from morphogen.errors import MorphogenError
from morphogen.utils.config import Configurable


@dataclass
class FieldState:
    """The state of one field at time ``t``.

    Attributes:
        value: (B, ...) the noisy field as the denoiser sees it: a noisy sample for Gaussian processes, tokens
            (long) for discrete ones, the flow's parameters (mean, probabilities, circular mean) for Bayesian flows.
        t: (B,) time of each sample, in [0, 1], 0 = prior.
        mask: optional (B, ...) tensor broadcastable to ``value``; 1 (True) marks real entries, 0 padding. Padding
            is never corrupted and never counts in a loss.
        extra: process-specific tensors, e.g. ``"kappa"`` (B, ...) for the periodic Bayesian flow's concentration.
    """

    value: Tensor
    t: Tensor
    mask: Tensor | None = None
    extra: dict[str, Tensor] = field(default_factory=dict)

    def with_value(self, value: Tensor, t: Tensor | None = None, **extra: Tensor) -> "FieldState":
        new_extra = dict(self.extra)
        new_extra.update(extra)
        return replace(self, value=value, t=self.t if t is None else t, extra=new_extra)


@dataclass
class Corrupted:
    """Output of :meth:`Process.corrupt` for one field.

    Attributes:
        state: the noisy state at ``t`` (what the denoiser sees).
        x1: (B, ...) the clean data.
        aux: whatever the loss needs besides ``x1``, e.g. ``"noise"`` for Gaussian processes.
    """

    state: FieldState
    x1: Tensor
    aux: dict[str, Tensor] = field(default_factory=dict)


class ProcessError(MorphogenError, ValueError):
    """Raised for inputs a process cannot handle (wrong shape, dtype, NaN, unknown prediction kind)."""


def expand_like(t: Tensor, x: Tensor) -> Tensor:
    """(B,) -> (B, 1, ..., 1) broadcastable against ``x`` of shape (B, ...)."""
    return t.reshape(t.shape[0], *([1] * (x.dim() - 1)))


def masked_mean(values: Tensor, mask: Tensor | None) -> Tensor:
    """Mean over all but the batch dimension, counting only entries where ``mask`` is set. Returns (B,)."""
    b = values.shape[0]
    if mask is None:
        return values.reshape(b, -1).mean(dim=1)
    m = torch.broadcast_to(mask.to(values.dtype), values.shape)
    num = (values * m).reshape(b, -1).sum(dim=1)
    den = m.reshape(b, -1).sum(dim=1).clamp_min(1.0)
    return num / den


def apply_mask(x: Tensor, mask: Tensor | None, fill: float | int = 0) -> Tensor:
    """Keep ``x`` where ``mask`` is set, ``fill`` elsewhere (broadcasting ``mask``)."""
    if mask is None:
        return x
    m = torch.broadcast_to(mask.bool(), x.shape)
    return torch.where(m, x, torch.as_tensor(fill, dtype=x.dtype, device=x.device))


#: what a Bayesian flow's end-back step (``resample``) puts in place of the data: the expectation of the network's
#: output distribution, or a draw from it
BFN_ESTIMATES = ("mean", "sample")


def check_estimate(estimate: str) -> None:
    """Raise ValueError unless ``estimate`` is one of :data:`BFN_ESTIMATES`."""
    if estimate not in BFN_ESTIMATES:
        raise ValueError(f"estimate must be one of {BFN_ESTIMATES}, got {estimate!r}")


def check_finite(name: str, x: Tensor) -> None:
    if x.is_floating_point() and not torch.isfinite(x).all():
        bad = (~torch.isfinite(x)).reshape(x.shape[0], -1).any(dim=1).nonzero().flatten().tolist()
        raise ProcessError(f"field '{name}': non-finite values (NaN or inf) in batch rows {bad[:10]}")


class Process(Configurable, ABC):
    """Forward corruption, prior, loss and reverse update of one field.

    Subclasses set ``capabilities``: the names of the sampling rules they support. Samplers declare the capability
    they require (see :mod:`morphogen.samplers.base`); compatibility is a set inclusion, never an isinstance chain.

    Capabilities used in the core:
        ``"ancestral"``   the process has an exact reverse step ``reverse_step`` given a data prediction;
        ``"gaussian"``    marginals are ``alpha(t) x1 + sigma(t) eps``: SDE and ODE samplers apply;
        ``"langevin"``    the process gives a score (``convert(..., "score")``) and noise (``sample_noise``), so
                          Langevin correctors apply (``project`` maps the result back onto the domain);
        ``"unmask"``      absorbing-state discrete diffusion: ``mask_id``, ``is_masked(state)`` and a keep schedule
                          ``schedule`` (alpha(t), ``time_of``), so ordered unmasking applies;
        ``"bayesian_flow"`` Bayesian flow: the state holds the parameters of a belief, updated by receiver samples;
        ``"renoise"``     ``corrupt`` of a data estimate is a valid sampler state at any t (the re-noising sampler);
        ``"end_back"``    Bayesian flow whose belief can be drawn afresh from the flow distribution given the
                          network's output (``resample``): CrysBFN's end-back sampler.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset()
    #: prediction kinds a denoiser may emit for this process
    prediction_kinds: ClassVar[frozenset[str]] = frozenset()

    # -- input checks -------------------------------------------------------------------------------------------
    def check_data(self, name: str, x1: Tensor, mask: Tensor | None = None) -> None:
        """Raise :class:`ProcessError` naming the field when ``x1`` cannot be corrupted by this process.
        Entries where ``mask`` is 0 (padding) are not checked: padding may hold any placeholder value."""
        if x1.dim() < 1:
            raise ProcessError(f"field '{name}': expected a batched tensor (B, ...), got a scalar")
        check_finite(name, x1 if mask is None or not x1.is_floating_point() else apply_mask(x1, mask))

    def check_prediction_kind(self, name: str, kind: str) -> None:
        if kind not in self.prediction_kinds:
            raise ProcessError(
                f"field '{name}': {type(self).__name__} cannot use a '{kind}' prediction; "
                f"it accepts {sorted(self.prediction_kinds)}"
            )

    #: True where predictions carry a trailing class dimension (logits over ``num_classes``)
    logits_over_classes: ClassVar[bool] = False

    def check_prediction(self, name: str, prediction: Tensor, data_shape: tuple[int, ...]) -> None:
        """Raise when a prediction's shape does not fit the field's data shape (B, ...)."""
        expected = tuple(data_shape) + ((int(getattr(self, "num_classes")),) if self.logits_over_classes else ())
        if tuple(prediction.shape) != expected:
            raise ProcessError(
                f"field '{name}': the denoiser's prediction has shape {tuple(prediction.shape)}, expected {expected}"
            )

    # -- the four operations ------------------------------------------------------------------------------------
    @abstractmethod
    def corrupt(
        self, x1: Tensor, t: Tensor, mask: Tensor | None = None, generator: torch.Generator | None = None
    ) -> Corrupted:
        """Draw the noisy state at time ``t`` (B,) for clean data ``x1`` (B, ...)."""

    @abstractmethod
    def prior(
        self,
        shape: tuple[int, ...],
        mask: Tensor | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        generator: torch.Generator | None = None,
    ) -> FieldState:
        """A batch of states at ``t = 0`` with data shape ``shape`` (B, ...). ``dtype`` is the floating dtype of
        continuous states and of t; token processes return long values whatever it is."""

    @abstractmethod
    def loss(self, prediction: Tensor, kind: str, corrupted: Corrupted) -> Tensor:
        """Per-sample loss (B,) of a prediction of the given kind."""

    @abstractmethod
    def reverse_step(
        self, state: FieldState, prediction: Tensor, kind: str, t_next: Tensor, generator: torch.Generator | None = None
    ) -> FieldState:
        """Exact ancestral step from ``state.t`` to ``t_next`` (> ``state.t``) given the denoiser's prediction."""

    @abstractmethod
    def estimate_x1(self, state: FieldState, prediction: Tensor, kind: str) -> Tensor:
        """The data estimate implied by a prediction: the value a sampler returns at the end."""

    def final_step(
        self, state: FieldState, prediction: Tensor, kind: str, generator: torch.Generator | None = None
    ) -> Tensor:
        """The data sample a sampler returns from its last prediction (default: ``estimate_x1``; discrete
        processes sample their last categorical instead of taking its mode)."""
        return self.estimate_x1(state, prediction, kind)

    def guidance_combine(self, cond: Tensor, uncond: Tensor, kind: str, scale: float) -> Tensor:
        """Classifier-free guidance mix of two predictions (linear by default; logits override this)."""
        return uncond + scale * (cond - uncond)

    def project(self, value: Tensor) -> Tensor:
        """Map a state value back onto the field's domain after a sampler update (identity; periodic fields wrap)."""
        return value

    def clean_state(self, x1: Tensor, t: Tensor, mask: Tensor | None = None) -> FieldState:
        """The state that carries the clean data ``x1`` exactly (used for fields given as a condition)."""
        return FieldState(value=x1, t=t, mask=mask)

    # -- time range ---------------------------------------------------------------------------------------------
    #: the last time a sampler integrates to; processes singular at t = 1 use 1 - eps
    t_end: float = 1.0
    #: the largest time drawn during training
    t_train_max: float = 1.0

    @property
    def training_steps(self) -> int | None:
        """n when the process trains in discrete time: :meth:`JointProcess.sample_time` then draws its training
        times from the grid {0, 1/n, ..., (n - 1)/n} (the times an n-step sampler evaluates the network at) and its
        loss is the n-step loss; None (the default) for continuous-time training, t uniform on [0, t_train_max]."""
        return None
