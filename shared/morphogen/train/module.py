"""The generic Lightning module: (joint process, denoiser, objective) with EMA weights and reproducible noise."""
from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from morphogen.objectives.weighted import WeightedObjective
from morphogen.processes.joint import JointProcess
from morphogen.train.data import unpack_batch
from morphogen.train.ema import EMA


class GenerativeModule(L.LightningModule):
    """Trains any denoiser on any joint process.

    Args:
        process: the joint process (one noise process per field).
        denoiser: an ``nn.Module`` following :class:`morphogen.nn.denoiser.Denoiser`.
        objective: defaults to :class:`WeightedObjective` with unit weights.
        lr, weight_decay, betas: AdamW settings.
        warmup_steps: linear learning-rate warm-up.
        lr_decay: multiplicative learning-rate decay per epoch (GDSS uses 0.999; 1 = constant).
        ema_decay: decay of the EMA weights used for validation and sampling (0 disables EMA).
        condition_dropout: probability of training a row unconditionally (for classifier-free guidance).
        seed: the noise of step s on rank r is drawn from a generator seeded by (seed, s, r, batch index), so a
            resumed run draws exactly what an uninterrupted one would.
        config: a plain dict stored in every checkpoint (the specs needed to rebuild process and denoiser).
    """

    def __init__(
        self,
        process: JointProcess,
        denoiser: nn.Module,
        objective: WeightedObjective | None = None,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        betas: tuple[float, float] = (0.9, 0.999),
        warmup_steps: int = 0,
        lr_decay: float = 1.0,
        ema_decay: float = 0.999,
        condition_dropout: float = 0.0,
        seed: int = 0,
        config: dict | None = None,
    ):
        super().__init__()
        process.check_kinds(denoiser.prediction_kinds)
        self.process, self.denoiser = process, denoiser
        self.objective = objective or WeightedObjective()
        self.lr, self.weight_decay, self.betas = float(lr), float(weight_decay), tuple(betas)
        self.warmup_steps = int(warmup_steps)
        self.lr_decay = float(lr_decay)
        self.ema = EMA(denoiser, ema_decay) if ema_decay > 0 else None
        self.condition_dropout = float(condition_dropout)
        self.seed = int(seed)
        self.config = dict(config or {})

    # -- helpers ----------------------------------------------------------------------------------------------
    @property
    def sampling_denoiser(self) -> nn.Module:
        """The EMA weights if kept, else the live ones, switched to eval mode."""
        return (self.ema.shadow if self.ema is not None else self.denoiser).eval()

    def _generator(self, batch_idx: int, stage: int) -> torch.Generator:
        g = torch.Generator(device=self.device)
        key = (self.seed * 1_000_003 + self.global_step * 10_007 + batch_idx * 101 + self.global_rank * 13 + stage)
        g.manual_seed(key % (2**62))
        return g

    def compute_loss(self, batch: Any, generator: torch.Generator, denoiser: nn.Module | None = None):
        fields, masks, condition = unpack_batch(batch)
        den = denoiser or self.denoiser
        corrupted = self.process.corrupt(fields, masks, generator=generator)
        state = {k: c.state for k, c in corrupted.items()}
        drop = None
        if self.condition_dropout > 0 and condition is not None and den.training:
            b = next(iter(fields.values())).shape[0]
            drop = torch.rand(b, device=self.device, generator=generator) < self.condition_dropout
        preds = den(state, condition, drop)
        return self.objective(self.process, preds, den.prediction_kinds, corrupted)

    # -- Lightning hooks --------------------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        out = self.compute_loss(batch, self._generator(batch_idx, 0))
        b = next(iter(batch["fields"].values())).shape[0]
        self.log("train/loss", out.loss, prog_bar=True, batch_size=b, sync_dist=False)
        for k, v in out.per_field.items():
            self.log(f"train/loss_{k}", v, batch_size=b)
        return out.loss

    def validation_step(self, batch, batch_idx):
        g = torch.Generator(device=self.device).manual_seed(self.seed * 7919 + batch_idx)
        out = self.compute_loss(batch, g, denoiser=self.sampling_denoiser)
        b = next(iter(batch["fields"].values())).shape[0]
        self.log("val/loss", out.loss, prog_bar=True, batch_size=b, sync_dist=True)
        return out.loss

    def on_train_batch_end(self, outputs, batch, batch_idx):
        if self.ema is not None:
            self.ema.update(self.denoiser)

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.denoiser.parameters(), lr=self.lr, weight_decay=self.weight_decay, betas=self.betas)
        scheds = []
        if self.warmup_steps > 0:
            warm = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / self.warmup_steps))
            scheds.append({"scheduler": warm, "interval": "step"})
        if self.lr_decay != 1.0:
            scheds.append({"scheduler": torch.optim.lr_scheduler.ExponentialLR(opt, self.lr_decay), "interval": "epoch"})
        return ([opt], scheds) if scheds else opt

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["morphogen_config"] = self.config
