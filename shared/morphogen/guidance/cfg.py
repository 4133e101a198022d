"""Classifier-free guidance: mix the conditional and unconditional predictions of one denoiser."""
from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import Tensor

from morphogen.processes.base import FieldState


class ClassifierFreeGuidance:
    """prediction = uncond + scale * (cond - uncond), per field, in the space the field's process says is linear.

    ``scale = 1`` is plain conditional sampling, ``scale = 0`` unconditional, ``scale > 1`` strengthens the condition.
    For logits the mix is taken on log-probabilities; for angles on unit vectors (each process's
    ``guidance_combine``). The denoiser must honour ``drop_condition`` (True = unconditional).

    Args:
        scale: guidance scale.
        fields: restrict guidance to these fields (others take the conditional prediction); None = all.
    """

    def __init__(self, scale: float = 2.0, fields: list[str] | None = None):
        self.scale = float(scale)
        self.fields = None if fields is None else list(fields)

    def predict(
        self, joint, denoiser, state: Mapping[str, FieldState], condition: Any, kinds: Mapping[str, str]
    ) -> dict[str, Tensor]:
        b = next(iter(state.values())).value.shape[0]
        device = next(iter(state.values())).value.device
        cond = denoiser(state, condition, torch.zeros(b, dtype=torch.bool, device=device))
        uncond = denoiser(state, condition, torch.ones(b, dtype=torch.bool, device=device))
        out = {}
        for name, pc in cond.items():
            if self.fields is not None and name not in self.fields:
                out[name] = pc
                continue
            out[name] = joint[name].guidance_combine(pc, uncond[name], kinds[name], self.scale)
        return out
