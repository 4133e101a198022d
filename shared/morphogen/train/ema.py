"""Exponential moving average of a network's weights."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    """Holds ``shadow``, a frozen copy of ``model`` whose floating tensors follow
    ``shadow <- decay * shadow + (1 - decay) * model`` after every optimiser step; with ``warmup`` the decay is
    min(decay, (1 + n) / (10 + n)) at update n, so early averages are not dominated by the initial weights.
    Part of the owning module's state dict, hence saved in checkpoints and restored on resume.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999, warmup: bool = True):
        super().__init__()
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay, self.warmup = float(decay), bool(warmup)
        # train/eval mode of the copy follows the owning module (Lightning switches it); sampling code calls eval()
        self.shadow = copy.deepcopy(model).requires_grad_(False)
        self.register_buffer("updates", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        n = int(self.updates)
        d = min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay
        src = model.state_dict()
        for name, value in self.shadow.state_dict().items():
            new = src[name]
            if value.is_floating_point():
                value.lerp_(new.to(value.dtype), 1.0 - d)
            else:
                value.copy_(new)
        self.updates += 1
