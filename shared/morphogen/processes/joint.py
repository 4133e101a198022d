"""A joint process: one noise process per named field, sharing one t per sample (or one t per field)."""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from morphogen.processes.base import Corrupted, FieldState, Process, ProcessError
from morphogen.utils.config import Configurable

TIME_SAMPLING = ("shared", "independent")


class JointProcess(Configurable):
    """Field name -> :class:`Process`; corrupts a whole batch in one call.

    Args:
        processes: the process of each field, e.g. ``{"X": GaussianProcess(VPLinear()), "A": GaussianProcess(VE())}``.
        time_sampling: ``"shared"`` draws one t per sample for all fields; ``"independent"`` one t per sample and
            field (useful when a method trains fields at unrelated noise levels).
        stratified: draw training times stratified over the batch (one per 1/B bin, shuffled): same law,
            lower loss variance.

    Discrete-time training: a field whose process has ``training_steps`` n is trained at the grid times
    t in {0, 1/n, ..., (n - 1)/n} only (a uniform draw u read as floor(u n) / n). With ``"shared"`` times the whole
    sample shares that grid (every field, continuous-time ones included, sees the same t), so all discrete-time
    fields must agree on n; ``"independent"`` times put each discrete-time field on its own grid.
    """

    def __init__(self, processes: Mapping[str, Process], time_sampling: str = "shared", stratified: bool = False):
        if not processes:
            raise ValueError("JointProcess needs at least one field")
        if time_sampling not in TIME_SAMPLING:
            raise ValueError(f"time_sampling must be one of {TIME_SAMPLING}, got '{time_sampling}'")
        for name, p in processes.items():
            if not isinstance(p, Process):
                raise TypeError(f"field '{name}': {p!r} is not a morphogen Process")
        self.processes: dict[str, Process] = dict(processes)
        self.time_sampling = time_sampling
        self.stratified = bool(stratified)
        grids = self._grids()
        if time_sampling == "shared" and len(set(grids.values())) > 1:
            listing = ", ".join(f"'{k}' {n}" for k, n in grids.items())
            raise ValueError(f"shared training times need one time grid, but the discrete-time fields disagree on "
                             f"their number of steps ({listing}); give them the same steps or use "
                             "time_sampling='independent'")

    def __getitem__(self, name: str) -> Process:
        return self.processes[name]

    def __iter__(self):
        return iter(self.processes)

    def items(self):
        return self.processes.items()

    @property
    def fields(self) -> list[str]:
        return list(self.processes)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}: {v!r}" for k, v in self.processes.items())
        return f"JointProcess({{{inner}}}, time_sampling='{self.time_sampling}')"

    # ----------------------------------------------------------------------------------------------------------
    def _uniform(self, b: int, hi: float, device, dtype, generator) -> Tensor:
        u = torch.rand(b, device=device, dtype=dtype, generator=generator)
        if self.stratified:
            perm = torch.randperm(b, device=device, generator=generator).to(dtype)
            u = (perm + u) / b
        return u * hi

    def _grids(self) -> dict[str, int]:
        """field -> n for the fields whose processes train in discrete time (``training_steps``)."""
        out = {}
        for k, p in self.processes.items():
            n = p.training_steps
            if n is not None:
                out[k] = int(n)
        return out

    @staticmethod
    def _on_grid(t: Tensor, n: int) -> Tensor:
        """A uniform draw t in [0, 1) read on the n-step grid: floor(t n) / n in {0, 1/n, ..., (n - 1)/n}."""
        return torch.floor(t * n).clamp(0, n - 1) / n

    def sample_time(
        self, batch_size: int, device=None, dtype=torch.float32, generator: torch.Generator | None = None
    ) -> dict[str, Tensor]:
        """Training times: field -> (B,) uniform on [0, t_train_max of the field's process], or on the grid
        {0, 1/n, ..., (n - 1)/n} for discrete-time fields (see the class docstring)."""
        grids = self._grids()
        if self.time_sampling == "shared":
            hi = min(p.t_train_max for p in self.processes.values())
            t = self._uniform(batch_size, hi, device, dtype, generator)
            if grids:
                t = self._on_grid(t, next(iter(grids.values())))
            return {k: t for k in self.processes}
        out = {}
        for k, p in self.processes.items():
            t = self._uniform(batch_size, p.t_train_max, device, dtype, generator)
            out[k] = self._on_grid(t, grids[k]) if k in grids else t
        return out

    def check_batch(self, data: Mapping[str, Tensor], masks: Mapping[str, Tensor] | None = None) -> int:
        """Validate a batch; returns its size B. Errors name the field and the problem."""
        missing = [k for k in self.processes if k not in data]
        if missing:
            raise ProcessError(f"batch lacks field(s) {missing}; the joint process has fields {self.fields}")
        sizes = {k: data[k].shape[0] if data[k].dim() else None for k in self.processes}
        if len(set(sizes.values())) != 1:
            raise ProcessError(f"fields disagree on the batch size: {sizes}")
        for k, m in (masks or {}).items():
            if k not in self.processes:
                raise ProcessError(f"mask given for unknown field '{k}'; fields are {self.fields}")
            try:
                torch.broadcast_shapes(m.shape, data[k].shape)
            except RuntimeError:
                raise ProcessError(
                    f"field '{k}': mask of shape {tuple(m.shape)} does not broadcast to the field's shape "
                    f"{tuple(data[k].shape)}"
                ) from None
        for k in self.processes:
            self.processes[k].check_data(k, data[k], (masks or {}).get(k))
        return next(iter(sizes.values()))

    def corrupt(
        self,
        data: Mapping[str, Tensor],
        masks: Mapping[str, Tensor] | None = None,
        t: Tensor | Mapping[str, Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, Corrupted]:
        """Corrupt every field of a batch. ``t`` is (B,) shared, a dict per field, or None (drawn for training)."""
        b = self.check_batch(data, masks)
        masks = masks or {}
        first = data[self.fields[0]]
        fdtype = first.dtype if first.is_floating_point() else torch.float32
        if t is None:
            t = self.sample_time(b, first.device, fdtype, generator)
        elif isinstance(t, Tensor):
            t = {k: t for k in self.processes}
        out = {}
        for k, p in self.processes.items():
            tk = t[k]
            if tk.shape != (b,):
                raise ProcessError(f"field '{k}': t must have shape ({b},), got {tuple(tk.shape)}")
            out[k] = p.corrupt(data[k], tk, masks.get(k), generator)
        return out

    def prior(
        self,
        shapes: Mapping[str, tuple[int, ...]],
        masks: Mapping[str, Tensor] | None = None,
        device=None,
        dtype=torch.float32,
        generator: torch.Generator | None = None,
    ) -> dict[str, FieldState]:
        """States at t = 0 for data shapes field -> (B, ...)."""
        missing = [k for k in self.processes if k not in shapes]
        if missing:
            raise ProcessError(f"no shape given for field(s) {missing}")
        masks = masks or {}
        return {k: p.prior(tuple(shapes[k]), masks.get(k), device, dtype, generator) for k, p in self.processes.items()}

    def check_kinds(self, kinds: Mapping[str, str]) -> None:
        for k, p in self.processes.items():
            if k not in kinds:
                raise ProcessError(f"the denoiser declares no prediction kind for field '{k}'")
            p.check_prediction_kind(k, kinds[k])
