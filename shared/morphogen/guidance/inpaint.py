"""Fixed fields and inpainting: entries the user gives are imposed on the state after every sampler update."""
from __future__ import annotations

from typing import Mapping

import torch
from torch import Tensor

from morphogen.processes.base import FieldState, ProcessError

MODES = ("replace", "clean")


class Inpaint:
    """Known values of some fields (all entries, or those where ``masks`` is set).

    Args:
        values: field -> clean data (B, ...) with the field's data shape.
        masks: field -> bool tensor broadcastable to the field; True marks known entries (default: all known).
        mode: ``"replace"`` puts the known entries at the sampler's current noise level (forward-corrupted to the
            state's t: the replacement method of score-based inpainting); ``"clean"`` shows them clean at every
            step (source tracks of any-track music, a given composition).

    The returned samples carry the known entries exactly.
    """

    def __init__(self, values: Mapping[str, Tensor], masks: Mapping[str, Tensor] | None = None, mode: str = "replace"):
        if mode not in MODES:
            raise ValueError(f"Inpaint mode must be one of {MODES}, got '{mode}'")
        self.values = dict(values)
        self.masks = dict(masks or {})
        unknown = set(self.masks) - set(self.values)
        if unknown:
            raise ValueError(f"masks given for fields without values: {sorted(unknown)}")
        self.mode = mode

    def _mask(self, name: str, like: Tensor) -> Tensor:
        """The known-entries mask in the shape of ``like``. Masks are given in the data's shape; where a state
        carries extra trailing dimensions (a Bayesian flow's class probabilities) the mask is extended over them."""
        m = self.masks.get(name)
        if m is None:
            return torch.ones_like(like, dtype=torch.bool)
        data_shape = self.values[name].shape
        try:
            m = torch.broadcast_to(m.to(like.device).bool(), data_shape)
            while m.dim() < like.dim():
                m = m.unsqueeze(-1)
            return torch.broadcast_to(m, like.shape)
        except RuntimeError:
            raise ProcessError(
                f"field '{name}': inpainting mask of shape {tuple(self.masks[name].shape)} does not fit the field's "
                f"data shape {tuple(data_shape)}"
            ) from None

    def known(self, name: str, like: Tensor) -> Tensor:
        """Bool tensor shaped like ``like`` (a state value of field ``name``): True on the entries given here (all
        False for a field this object does not fix)."""
        if name not in self.values:
            return torch.zeros_like(like, dtype=torch.bool)
        return self._mask(name, like)

    def apply(self, joint, state: dict[str, FieldState], generator: torch.Generator | None = None) -> dict[str, FieldState]:
        out = dict(state)
        for name, x1 in self.values.items():
            if name not in state:
                raise ProcessError(f"cannot fix field '{name}': the joint process has fields {list(state)}")
            cur = state[name]
            x1 = x1.to(cur.value.device)
            if x1.shape[0] != cur.value.shape[0]:
                raise ProcessError(f"field '{name}': fixed values have batch size {x1.shape[0]}, samples {cur.value.shape[0]}")
            proc = joint[name]
            if self.mode == "replace":
                known = proc.corrupt(x1, cur.t, cur.mask, generator).state
            else:
                known = proc.clean_state(x1, cur.t, cur.mask)
            m = self._mask(name, cur.value)
            value = torch.where(m, known.value.to(cur.value.dtype), cur.value)
            extra = dict(cur.extra)
            for k, v in known.extra.items():
                if k in extra and v.shape == extra[k].shape == m.shape:
                    extra[k] = torch.where(m, v, extra[k])
                elif k in extra:
                    extra[k] = v
            out[name] = FieldState(value, cur.t, cur.mask, extra)
        return out

    def finalize(self, fields: dict[str, Tensor]) -> dict[str, Tensor]:
        """Put the known entries exactly into the final samples."""
        out = dict(fields)
        for name, x1 in self.values.items():
            x = out[name]
            m = self._mask(name, x)
            out[name] = torch.where(m, x1.to(x.device, x.dtype), x)
        return out
