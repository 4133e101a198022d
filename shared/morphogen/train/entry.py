"""The one training entry of every domain: a model bundle, its data, a typed train block, the run options -> a
trained bundle written to ``OUT/model.safetensors``.

Run folder (every domain): ``OUT/model.safetensors`` (the EMA weights + configuration), ``OUT/run/checkpoints/
last.ckpt`` (resumed automatically by the next call with the same OUT), ``OUT/run/logs/version_*/metrics.csv``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable

from morphogen.bundle.model import ModelBundle
from morphogen.train.config import DEFAULT_CHECKPOINT_MINUTES, TrainConfig
from morphogen.train.options import TrainOptions


@dataclass
class TrainData:
    """What a domain hands to :func:`train_bundle`.

    Attributes:
        train: a map-style dataset of training records; val: one of validation records (or None).
        collate: batches of records -> ``{"fields": {...}, "masks": {...}, "condition": ...}`` (None: default).
        shuffle: ``(num_records, seed, batch_size) -> torch Sampler`` of the training order (default: a permutation
            per epoch from (seed, epoch), so a resumed run repeats the order; e.g. a
            :class:`~morphogen.train.data.SizeBucketSampler` for padded records of mixed sizes).
        drop_last: drop an incomplete last training batch.
        fingerprint: a short hash of the data and the options it was read with (stored in the model's metadata).
        description: one line for the log (source, record counts).
    """

    train: Any
    val: Any = None
    collate: Callable | None = None
    shuffle: Callable[[int, int, int], Any] | None = None
    drop_last: bool = False
    fingerprint: str | None = None
    description: str = ""


@dataclass
class TrainResult:
    """The written model file, the run folder, the optimiser steps of this run's end, the (step, loss) log and
    the trained bundle (EMA weights, eval mode, on the CPU)."""

    model_path: Path
    run_dir: Path
    steps: int
    losses: list[tuple[int, float]]
    bundle: ModelBundle


def fingerprint(obj: Any) -> str:
    """A 16-hex-digit hash of a plain-JSON description of data (file fingerprints, options)."""
    import hashlib
    import json

    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def resolved_config(config: TrainConfig, options: TrainOptions) -> TrainConfig:
    """The preset's train block with the command's overrides (batch size, steps, learning rate, seed)."""
    return config.override(batch_size=options.batch_size, max_steps=options.max_steps, lr=options.lr,
                           seed=options.seed)


def train_bundle(bundle: ModelBundle, data: TrainData, config: TrainConfig, out: str | Path,
                 options: TrainOptions | None = None, **trainer_kwargs: Any) -> TrainResult:
    """Fit ``bundle.denoiser`` on ``data`` with the core Lightning module and write the trained bundle.

    ``options.init_from`` loads a model of the same configuration and starts from its weights (the optimiser starts
    fresh; a resumable checkpoint in ``OUT/run`` takes precedence over it, as Lightning restores it afterwards).
    Other keyword arguments go to the Lightning Trainer. Returns :class:`TrainResult`."""
    import torch
    from torch.utils.data import DataLoader

    from morphogen.train.data import EpochShuffleSampler
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit

    opts = options or TrainOptions()
    cfg = resolved_config(config, opts)
    if cfg.max_steps is None and cfg.epochs is None:
        raise ValueError("the train block gives neither epochs nor max_steps")
    if len(data.train) == 0:
        raise ValueError(f"no training records ({data.description or 'empty dataset'})")
    if opts.init_from is not None:
        from morphogen.bundle.store import load

        bundle.load_weights_from(load(opts.init_from, domain=bundle.domain), f"--init-from {opts.init_from}")
    if data.description:
        print(data.description)
    torch.manual_seed(cfg.seed)
    shuffle = data.shuffle or EpochShuffleSampler
    pin = str(opts.accelerator) not in ("cpu",) and torch.cuda.is_available()
    workers = {"num_workers": opts.num_workers, "persistent_workers": opts.num_workers > 0}
    bs = min(cfg.batch_size, len(data.train))
    train_loader = DataLoader(data.train, batch_size=bs, sampler=shuffle(len(data.train), cfg.seed, bs),
                              collate_fn=data.collate, drop_last=data.drop_last and len(data.train) > bs,
                              pin_memory=pin, **workers)
    val_loader = None
    if data.val is not None and len(data.val) > 0:
        val_loader = DataLoader(data.val, batch_size=min(cfg.batch_size, len(data.val)), collate_fn=data.collate,
                                pin_memory=pin, **workers)
    module = GenerativeModule(bundle.process, bundle.denoiser, objective=bundle.objective(), lr=cfg.lr,
                              weight_decay=cfg.weight_decay,
                              betas=cfg.betas, warmup_steps=cfg.warmup_steps, lr_decay=cfg.lr_decay,
                              ema_decay=cfg.ema_decay, condition_dropout=cfg.condition_dropout, seed=cfg.seed,
                              config=bundle.config())
    out = Path(out)
    kw: dict[str, Any] = dict(max_steps=cfg.max_steps or -1, max_epochs=None if cfg.max_steps else cfg.epochs,
                              accelerator=opts.accelerator, devices=opts.lightning_devices(), strategy=opts.strategy,
                              num_nodes=opts.num_nodes, precision=opts.precision, gradient_clip_val=cfg.gradient_clip,
                              log_every_n_steps=cfg.log_every_n_steps, progress=opts.progress)
    if cfg.checkpoint_every_n_steps:
        kw["checkpoint_every_n_steps"] = cfg.checkpoint_every_n_steps
    else:  # by time, not at epoch ends: an epoch of one batch would write a checkpoint at every step
        kw["checkpoint_every_minutes"] = cfg.checkpoint_every_minutes or DEFAULT_CHECKPOINT_MINUTES
    if cfg.val_every_n_steps and val_loader is not None:
        kw.update(val_check_interval=cfg.val_every_n_steps, check_val_every_n_epoch=None)
    if opts.max_minutes is not None:
        kw["max_time"] = timedelta(minutes=float(opts.max_minutes))
    kw.update(trainer_kwargs)
    trainer = fit(module, train_loader, val_loader, out_dir=out / "run", resume=True, **kw)
    bundle.denoiser = module.sampling_denoiser.cpu().eval()
    bundle.metadata = replace(bundle.metadata, steps_trained=int(trainer.global_step),
                              data_fingerprint=data.fingerprint or bundle.metadata.data_fingerprint)
    path = bundle.save(out / "model.safetensors")
    return TrainResult(path, out / "run", int(trainer.global_step), read_losses(out / "run"), bundle)


def read_losses(run_dir: str | Path) -> list[tuple[int, float]]:
    """(step, train/loss) pairs logged by the CSV logger of a run (its latest version)."""
    files = sorted(Path(run_dir).glob("logs/version_*/metrics.csv"), key=lambda p: int(p.parent.name.split("_")[1]))
    if not files:
        return []
    rows = []
    with open(files[-1], newline="") as fh:
        for rec in csv.DictReader(fh):
            if rec.get("train/loss"):
                rows.append((int(rec["step"]), float(rec["train/loss"])))
    return rows
