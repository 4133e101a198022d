"""The ``train:`` block of every preset, typed: what one training run needs besides the model and the data."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

DEFAULT_CHECKPOINT_MINUTES = 10.0  # the resumable checkpoint's interval when a train block names none


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one training run (a preset's ``train:`` block; command options override some).

    Attributes:
        batch_size: records per optimiser step (per device).
        lr, weight_decay, betas: AdamW.
        warmup_steps: linear learning-rate warm-up; lr_decay: multiplicative decay per epoch (GDSS: 0.999).
        ema_decay: decay of the EMA weights that are validated, sampled and exported (0: no EMA).
        gradient_clip: gradient-norm clipping (None: off).
        epochs: epochs to train when ``max_steps`` is None; max_steps: optimiser steps (wins over ``epochs``).
        seed: data order, noise draws and initialisation.
        condition_dropout: probability of training a row unconditionally (classifier-free guidance).
        checkpoint_every_n_steps: write the resumable checkpoint every that many optimiser steps;
        checkpoint_every_minutes: or every that many minutes of training. Neither given: every
            :data:`DEFAULT_CHECKPOINT_MINUTES` minutes (not at every epoch end: a set of one batch per epoch would write
            a checkpoint at every step). Either way a last checkpoint is written when the run ends or is stopped.
        val_every_n_steps: validate every that many steps (None: at every epoch end).
        log_every_n_steps: logging interval.
    """

    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    lr_decay: float = 1.0
    ema_decay: float = 0.999
    gradient_clip: float | None = 1.0
    epochs: int | None = None
    max_steps: int | None = None
    seed: int = 0
    condition_dropout: float = 0.0
    checkpoint_every_n_steps: int | None = None
    checkpoint_every_minutes: float | None = None
    val_every_n_steps: int | None = None
    log_every_n_steps: int = 10

    def __post_init__(self):
        for name in ("batch_size", "log_every_n_steps"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in ("epochs", "max_steps", "checkpoint_every_n_steps", "val_every_n_steps"):
            v = getattr(self, name)
            if v is not None and v < 1:
                raise ValueError(f"{name} must be >= 1 (or absent), got {v}")
        m = self.checkpoint_every_minutes
        if m is not None and not m > 0:
            raise ValueError(f"checkpoint_every_minutes must be positive (or absent), got {m}")
        if m is not None and self.checkpoint_every_n_steps is not None:
            raise ValueError("give checkpoint_every_n_steps or checkpoint_every_minutes, not both")
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if not 0 <= self.ema_decay < 1:
            raise ValueError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if not 0 <= self.condition_dropout < 1:
            raise ValueError(f"condition_dropout must be in [0, 1), got {self.condition_dropout}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "train") -> "TrainConfig":
        from morphogen.utils.typed import from_mapping

        return from_mapping(cls, data, where)

    def override(self, **changes: Any) -> "TrainConfig":
        """A copy with the non-None ``changes`` applied (command-line overrides)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})
