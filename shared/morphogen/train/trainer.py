"""Building a Lightning Trainer from command-line style arguments, and fitting with automatic resume.

Everything distributed, mixed-precision, logging and progress comes from Lightning: ``devices``, ``strategy``
(``"ddp"``, ``"ddp_spawn"``, ...), ``num_nodes`` and ``precision`` are passed straight through.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import Callback, ModelCheckpoint, Timer
from lightning.pytorch.plugins.io import TorchCheckpointIO
from lightning.pytorch.utilities.exceptions import SIGTERMException

from morphogen.train.checkpoint import atomic_write

PRECISION_ALIASES = {
    "32": "32-true", "fp32": "32-true", "64": "64-true",
    "bf16": "bf16-mixed", "bfloat16": "bf16-mixed", "16": "16-mixed", "fp16": "16-mixed",
}


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning checkpoint IO that writes to a temporary file and renames it into place."""

    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options=None) -> None:
        import torch

        atomic_write(path, lambda tmp: torch.save(checkpoint, tmp))


class TrainingStopped(SystemExit):
    """Training ended by a signal (SIGTERM, SIGINT) after its last checkpoint was written: exit code 128 + signal."""


class SaveLastOnStop(Callback):
    """Writes ``last.ckpt`` when training ends between the regular checkpoints: at its end (``max_steps``,
    ``max_time``) and when it is stopped by SIGTERM or SIGINT, so the next call resumes from the last step, not
    from the last multiple of the checkpoint interval. Nothing is written before the first optimiser step (a
    run that fails while starting never overwrites a good checkpoint)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)

    def _save(self, trainer: L.Trainer) -> None:
        if trainer.global_step > 0 and not trainer.sanity_checking:
            trainer.save_checkpoint(str(self.path))

    def on_train_end(self, trainer, pl_module) -> None:
        self._save(trainer)

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, (KeyboardInterrupt, SIGTERMException)):
            self._save(trainer)


class SessionTimer(Timer):
    """Lightning's ``max_time`` timer, counted from the start of this invocation: a resumed run gets its full
    budget again instead of the time left over from the runs that wrote the checkpoint."""

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        return None


def normalize_precision(precision: str | int) -> str:
    p = str(precision)
    return PRECISION_ALIASES.get(p, p)


def build_trainer(
    out_dir: str | os.PathLike,
    max_steps: int = -1,
    max_epochs: int | None = None,
    accelerator: str = "auto",
    devices: int | str = "auto",
    strategy: str = "auto",
    num_nodes: int = 1,
    precision: str | int = "32",
    logger: str = "csv",
    progress: bool = True,
    checkpoint_every_n_epochs: int | None = 1,
    checkpoint_every_n_steps: int | None = None,
    checkpoint_every_minutes: float | None = None,
    gradient_clip_val: float | None = 1.0,
    log_every_n_steps: int = 10,
    val_check_interval: float | int | None = None,
    callbacks: list | None = None,
    **kwargs: Any,
) -> L.Trainer:
    """A Trainer writing logs and checkpoints (``last.ckpt``) under ``out_dir``.

    ``logger`` is ``"csv"``, ``"tensorboard"`` or ``"none"``. Checkpoints are written every
    ``checkpoint_every_n_steps`` optimiser steps, else every ``checkpoint_every_minutes`` minutes of training, else
    at epoch ends (every ``checkpoint_every_n_epochs``), and when the run ends or is stopped. ``max_time`` (a timedelta,
    "DD:HH:MM:SS" or a dict of timedelta fields) limits the training time of this call (:class:`SessionTimer`).
    """
    out = Path(out_dir)
    if logger == "csv":
        from lightning.pytorch.loggers import CSVLogger

        log = CSVLogger(str(out), name="logs")
    elif logger == "tensorboard":
        from lightning.pytorch.loggers import TensorBoardLogger

        log = TensorBoardLogger(str(out), name="logs")
    elif logger in ("none", None, False):
        log = False
    else:
        raise ValueError(f"logger must be 'csv', 'tensorboard' or 'none', got {logger!r}")
    cbs = list(callbacks or [])
    max_time = kwargs.pop("max_time", None)
    if max_time is not None:
        cbs.append(SessionTimer(duration=max_time, interval="step"))
    checkpointing = bool(checkpoint_every_n_epochs or checkpoint_every_n_steps or checkpoint_every_minutes)
    if checkpointing:
        from datetime import timedelta

        # one trigger (Lightning takes one): steps, else time, else epochs
        every_minutes = None if checkpoint_every_n_steps else checkpoint_every_minutes
        cbs.append(SaveLastOnStop(out / "checkpoints" / "last.ckpt"))
        cbs.append(
            ModelCheckpoint(
                dirpath=str(out / "checkpoints"),
                filename="last",
                save_top_k=1,
                enable_version_counter=False,
                every_n_epochs=None if checkpoint_every_n_steps or every_minutes else checkpoint_every_n_epochs,
                every_n_train_steps=checkpoint_every_n_steps,
                train_time_interval=timedelta(minutes=float(every_minutes)) if every_minutes else None,
                save_on_train_epoch_end=True,
            )
        )
    return L.Trainer(
        default_root_dir=str(out),
        max_steps=max_steps,
        max_epochs=max_epochs if max_epochs is not None else (-1 if max_steps > 0 else 1),
        accelerator=accelerator,
        devices=devices,
        strategy=strategy,
        num_nodes=num_nodes,
        precision=normalize_precision(precision),
        logger=log,
        enable_progress_bar=progress,
        enable_model_summary=False,
        enable_checkpointing=checkpointing,
        gradient_clip_val=gradient_clip_val,
        log_every_n_steps=log_every_n_steps,
        val_check_interval=val_check_interval,
        callbacks=cbs,
        plugins=[AtomicCheckpointIO()],
        **kwargs,
    )


def last_checkpoint(out_dir: str | os.PathLike) -> Path | None:
    p = Path(out_dir) / "checkpoints" / "last.ckpt"
    return p if p.is_file() else None


def fit(module: L.LightningModule, train_loader, val_loader=None, out_dir: str | os.PathLike = "runs/run",
        resume: bool = True, **trainer_kwargs: Any) -> L.Trainer:
    """Fit, resuming from ``out_dir/checkpoints/last.ckpt`` when it exists and ``resume`` is set (the checkpoint
    is read with ``weights_only=True``). SIGTERM (a batch scheduler's stop) is handled like SIGINT: the last step's
    checkpoint is written, a message printed, and :class:`TrainingStopped` exits with 143 (Lightning's own
    SIGTERM exit would be 0); SIGINT exits with 1 after the same checkpoint."""
    trainer = build_trainer(out_dir, **trainer_kwargs)
    ckpt = last_checkpoint(out_dir) if resume else None
    try:
        trainer.fit(module, train_loader, val_loader, ckpt_path=str(ckpt) if ckpt else None, weights_only=True)
    except SIGTERMException:
        saved = last_checkpoint(out_dir)
        print(f"training stopped by SIGTERM at step {trainer.global_step}; "
              f"{'resumable checkpoint ' + str(saved) if saved else 'no checkpoint written (no step done)'}",
              flush=True)
        raise TrainingStopped(143) from None
    return trainer
