"""Stand-in denoisers for tests: one that counts its calls around another, one that predicts zeros."""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor

from morphogen.processes.base import FieldState
from morphogen.processes.joint import JointProcess


class CountingDenoiser:
    """Wraps a denoiser and counts its calls (``calls``); predictions and ``prediction_kinds`` are the wrapped
    one's."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.prediction_kinds: dict[str, str] = dict(inner.prediction_kinds)
        self.calls = 0

    def __call__(self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None):
        self.calls += 1
        return self.inner(state, condition, drop_condition)


class ZeroDenoiser:
    """Predicts zeros of the right shape for every field: (B, *shape) or (B, *shape, K) for logits over K classes.

    Args:
        joint: the joint process (its processes say whether a prediction carries a class dimension).
        shapes: field -> data shape of one sample, without the batch dimension.
        kinds: field -> prediction kind (default: the alphabetically first kind each process accepts).
    """

    def __init__(self, joint: JointProcess, shapes: Mapping[str, tuple[int, ...]],
                 kinds: Mapping[str, str] | None = None):
        self.joint, self.shapes = joint, {k: tuple(v) for k, v in shapes.items()}
        kinds = dict(kinds or {})
        self.prediction_kinds = {k: kinds.get(k, sorted(p.prediction_kinds)[0]) for k, p in joint.items()}

    def __call__(self, state: Mapping[str, FieldState], condition: Any = None, drop_condition: Tensor | None = None):
        out = {}
        for name, proc in self.joint.items():
            st = state[name]
            extra = (int(getattr(proc, "num_classes")),) if proc.logits_over_classes else ()
            dtype = st.t.dtype if st.t.is_floating_point() else torch.float32
            out[name] = torch.zeros(st.t.shape[0], *self.shapes[name], *extra, dtype=dtype, device=st.t.device)
        return out
