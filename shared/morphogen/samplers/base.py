"""What every sampler shares: compatibility, the time grid, guided network evaluations, fixed fields, NFE counting.

A sampler integrates the reverse process of a :class:`JointProcess` from t = 0 (prior) to t = 1 (data). It declares
the process capability it needs in ``requires``; a joint process is compatible when every field's process has
it (a set inclusion: no isinstance chains). Classifier-free guidance and fixed (inpainted) fields are handled
here, so every sampler supports them.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping

import torch
from torch import Tensor

from morphogen.guidance.cfg import ClassifierFreeGuidance
from morphogen.guidance.inpaint import Inpaint
from morphogen.processes.base import FieldState, ProcessError
from morphogen.processes.joint import JointProcess
from morphogen.samplers.grid import time_grid
from morphogen.utils.config import Configurable


class IncompatibleSamplerError(ProcessError):
    """A sampler was paired with a process it cannot integrate."""


@dataclass
class SampleResult:
    """Samples per field (B, ...), the number of network evaluations used and, optionally, the trajectory."""

    fields: dict[str, Tensor]
    nfe: int
    trajectory: list[dict[str, Tensor]] = field(default_factory=list)


class Sampler(Configurable, ABC):
    """Base class. Subclasses implement :meth:`_run` and set ``requires`` and ``name``.

    Args:
        steps: number of time steps (network evaluations per step depend on the sampler).
        grid: spacing of the time grid: ``"uniform"``, ``"quadratic"`` (finer near the data) or ``"logsnr"``
            (uniform in log-SNR, for Gaussian processes).
    """

    name: ClassVar[str] = "sampler"
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, steps: int = 100, grid: str = "uniform"):
        if int(steps) < 1:
            raise ValueError(f"{type(self).__name__}: steps must be >= 1, got {steps}")
        self.steps = int(steps)
        self.grid = grid

    # -- compatibility ------------------------------------------------------------------------------------------
    @classmethod
    def compatible_with(cls, process) -> bool:
        return cls.requires <= process.capabilities

    def requirements(self) -> frozenset[str]:
        """The capabilities this configured sampler needs (the class's ``requires`` unless options change it)."""
        return self.requires

    def check(self, joint: JointProcess) -> None:
        for name, p in joint.items():
            if not self.requirements() <= p.capabilities:
                from morphogen.samplers.registry import compatible_samplers

                raise IncompatibleSamplerError(
                    f"sampler '{self.name}' needs a process with {sorted(self.requirements())}, but field '{name}' uses "
                    f"{type(p).__name__} (capabilities {sorted(p.capabilities)}); samplers that fit this process: "
                    f"{compatible_samplers(p)}"
                )

    # -- the public call ----------------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(
        self,
        joint: JointProcess,
        denoiser,
        shapes: Mapping[str, tuple[int, ...]],
        masks: Mapping[str, Tensor] | None = None,
        condition: Any = None,
        guidance: ClassifierFreeGuidance | None = None,
        fixed: Inpaint | None = None,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
        keep_trajectory: bool = False,
        progress: bool = False,
        start: Mapping[str, Tensor] | None = None,
    ) -> SampleResult:
        """Draw samples.

        Args:
            joint: the joint process the denoiser was trained with.
            denoiser: see :class:`morphogen.nn.denoiser.Denoiser`.
            shapes: field -> data shape (B, ...).
            masks: field -> padding mask (1 = real entry), broadcastable to the field.
            condition: passed to the denoiser.
            guidance: classifier-free guidance; None for plain conditional (or unconditional) sampling.
            fixed: fields or entries given by the user (inpainting, fixed composition, source tracks).
            generator: random source (on ``device``).
            keep_trajectory: keep each step's state values (on the CPU) in the result.
            progress: show a progress bar over the steps.
            start: field -> values (B, ...) of a partly generated state to continue from, for samplers that can
                (:class:`~morphogen.samplers.unmask.OrderedUnmasking`); the others refuse it.
        """
        self.check(joint)
        joint.check_kinds(denoiser.prediction_kinds)
        ctx = _EvalContext(joint, denoiser, condition, guidance, fixed, generator, shapes)
        state = joint.prior(shapes, masks, device=device, dtype=dtype, generator=generator)
        state = self._initial_state(ctx, ctx.apply_fixed(state), start)
        grid = time_grid(self.steps, joint, self.grid, device=device)
        out = self._run(ctx, state, grid, keep_trajectory, progress)
        if fixed is not None:
            out.fields = fixed.finalize(out.fields)
        out.nfe = ctx.nfe
        return out

    #: how the samples are read at the end of the grid:
    #: "jump"      the network is evaluated at grid[0 .. N-1] and the last step jumps to the data from the last
    #:             evaluation (each field's ``final_step``): NFE = steps;
    #: "evaluate"  all N steps are updates and one more evaluation at the grid's end gives the data (Bayesian
    #:             flows): NFE = steps + 1;
    #: "update"    all N steps are updates and ``_finish`` reads the data off the last update (pred is None).
    final_rule: ClassVar[str] = "jump"

    def expected_nfe(self, guided: bool = False) -> int:
        """The network evaluations one :meth:`sample` call makes (what ``SampleResult.nfe`` reports): ``steps`` for
        the "jump" and "update" rules, ``steps + 1`` for "evaluate"; twice that with classifier-free guidance.
        Samplers that evaluate more than once per step override this (the contract test holds them to it)."""
        per_run = self.steps + (1 if self.final_rule == "evaluate" else 0)
        return per_run * (2 if guided else 1)

    def _run(self, ctx: "_EvalContext", state: dict[str, FieldState], grid: Tensor, keep: bool,
             progress: bool) -> SampleResult:
        """The time loop shared by all samplers over ``grid`` (steps + 1 increasing times from 0 to t_end)."""
        n = len(grid) - 1
        traj: list[dict[str, Tensor]] = []
        for i in self._bar(n, progress, self.name):
            state = self._before_predict(ctx, state)
            pred = ctx.predict(state)
            if i == n - 1 and self.final_rule == "jump":
                return SampleResult(self._finish(ctx, state, pred), 0, traj)
            state = ctx.apply_fixed(self._step(ctx, state, pred, float(grid[i + 1])))
            if keep:
                traj.append(self._snapshot(state))
        pred = ctx.predict(state) if self.final_rule == "evaluate" else None
        return SampleResult(self._finish(ctx, state, pred), 0, traj)

    def _initial_state(self, ctx: "_EvalContext", state: dict[str, FieldState],
                       start: Mapping[str, Tensor] | None) -> dict[str, FieldState]:
        """Hook: the state the time loop starts from, given the prior (fixed fields imposed) and ``start``
        (default: the prior; a sampler that cannot continue a given state refuses ``start``)."""
        if start is not None:
            raise TypeError(f"sampler '{self.name}' cannot continue from a given state (start=...)")
        return state

    @abstractmethod
    def _step(self, ctx: "_EvalContext", state: dict[str, FieldState], pred: dict[str, Tensor],
              t_next: float) -> dict[str, FieldState]:
        """Move every field from its current time to ``t_next`` given the predictions at the current state."""

    def _before_predict(self, ctx: "_EvalContext", state: dict[str, FieldState]) -> dict[str, FieldState]:
        """Hook run before each evaluation (the Langevin corrector of predictor-corrector sampling)."""
        return state

    def _finish(self, ctx: "_EvalContext", state: dict[str, FieldState],
                pred: dict[str, Tensor] | None) -> dict[str, Tensor]:
        """The samples from the last evaluation: each field's ``final_step``."""
        return {k: ctx.joint[k].final_step(s, pred[k], ctx.kinds[k], ctx.generator) for k, s in state.items()}

    @staticmethod
    def _t(state_field: FieldState, t: float) -> Tensor:
        """(B,) tensor of time ``t`` in the dtype and device of a field's time."""
        return torch.full_like(state_field.t, t)

    # helpers for subclasses
    @staticmethod
    def _bar(n: int, progress: bool, desc: str):
        if not progress:
            return range(n)
        from tqdm.auto import tqdm

        return tqdm(range(n), desc=desc, leave=False)

    @staticmethod
    def _snapshot(state: dict[str, FieldState]) -> dict[str, Tensor]:
        return {k: v.value.detach().cpu().clone() for k, v in state.items()}


class _EvalContext:
    """Calls the denoiser with guidance, re-imposes fixed fields, counts network evaluations."""

    def __init__(self, joint, denoiser, condition, guidance, fixed, generator, shapes=None):
        self.joint, self.denoiser, self.condition = joint, denoiser, condition
        self.shapes = dict(shapes or {})
        self.guidance, self.fixed, self.generator = guidance, fixed, generator
        self.kinds: dict[str, str] = dict(denoiser.prediction_kinds)
        self.nfe = 0
        #: per-run memory of multistep samplers (previous predictions, momentum averages)
        self.memory: dict[str, Any] = {}

    def predict(self, state: dict[str, FieldState]) -> dict[str, Tensor]:
        """Network predictions per field at ``state`` (guided if guidance was given)."""
        if self.guidance is None:
            self.nfe += 1
            out = self.denoiser(state, self.condition)
        else:
            self.nfe += 2
            out = self.guidance.predict(self.joint, self.denoiser, state, self.condition, self.kinds)
        if self.nfe <= 2:  # check the first evaluation's shapes against the requested data shapes
            for name, proc in self.joint.items():
                if name not in out:
                    raise ProcessError(f"the denoiser returned no prediction for field '{name}'")
                if name in self.shapes:
                    proc.check_prediction(name, out[name], tuple(self.shapes[name]))
        return out

    def apply_fixed(self, state: dict[str, FieldState]) -> dict[str, FieldState]:
        if self.fixed is None:
            return state
        return self.fixed.apply(self.joint, state, self.generator)

    def known(self, name: str, like: Tensor) -> Tensor:
        """(B, ...) bool shaped like ``like``: the entries of field ``name`` that the fixed fields give."""
        if self.fixed is None:
            return torch.zeros_like(like, dtype=torch.bool)
        return self.fixed.known(name, like)
