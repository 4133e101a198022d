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
        if getattr(self, "_count", None) is None:  # read the device counter once, not at every step (a GPU sync)
            self._count = int(self.updates)
        n = self._count
        d = min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay
        src = model.state_dict()
        dst_f, src_f = [], []
        for name, value in self.shadow.state_dict().items():
            new = src[name]
            if value.is_floating_point():
                dst_f.append(value)
                src_f.append(new.to(value.dtype))
            else:
                value.copy_(new)
        if dst_f:
            torch._foreach_lerp_(dst_f, src_f, 1.0 - d)
        self._count = n + 1
        self.updates += 1

    def _load_from_state_dict(self, *args, **kwargs):
        self._count = None  # re-read the restored counter at the next update
        super()._load_from_state_dict(*args, **kwargs)
