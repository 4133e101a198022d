"""The deterministic baselines the benchmark sets beside Echo-DND, on the same split and data pipeline:

- the mean training mask (every pixel's foreground frequency over the training masks, thresholded at 0.5);
- a plain MONAI ``UNet`` (5 scales 16-256, two residual units per scale, instance norm) trained with MONAI's
  ``DiceCELoss`` on the same augmented images, through the core trainer (resumable run folder); saved as a
  safetensors file with its configuration (no pickle).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

UNET_ARGS = {"spatial_dims": 2, "in_channels": 1, "out_channels": 1, "channels": [16, 32, 64, 128, 256],
             "strides": [2, 2, 2, 2], "num_res_units": 2, "norm": "instance"}


def mean_mask(masks: Tensor) -> Tensor:
    """(N, 1, H, W) bool training masks -> (H, W) foreground frequency."""
    return masks.float().mean(dim=(0, 1))


def build_unet(args: dict[str, Any] | None = None):
    from monai.networks.nets import UNet

    return UNet(**{**UNET_ARGS, **(args or {})})


def _module(net, lr: float, weight_decay: float, warmup_steps: int):
    import lightning as L
    from monai.losses import DiceCELoss

    class UNetModule(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = net
            self.loss = DiceCELoss(sigmoid=True)

        def training_step(self, batch, batch_idx):
            y = next(iter(batch["fields"].values()))
            y = (y > 0).float()
            loss = self.loss(self.net(batch["condition"]), y)
            self.log("train/loss", loss, prog_bar=True, batch_size=y.shape[0])
            return loss

        def validation_step(self, batch, batch_idx):
            y = (next(iter(batch["fields"].values())) > 0).float()
            loss = self.loss(self.net(batch["condition"]), y)
            self.log("val/loss", loss, prog_bar=True, batch_size=y.shape[0])

        def configure_optimizers(self):
            opt = torch.optim.AdamW(self.net.parameters(), lr=lr, weight_decay=weight_decay)
            warm = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / max(1, warmup_steps)))
            return [opt], [{"scheduler": warm, "interval": "step"}]

    return UNetModule()


def train_unet(split, out_dir: str | os.PathLike, *, max_steps: int, batch_size: int = 16, lr: float = 2e-3,
               weight_decay: float = 1e-4, warmup_steps: int = 200, augment: dict | None = None, seed: int = 0,
               max_minutes: float | None = None, progress: bool = False) -> Path:
    """Train the MONAI U-Net on a :class:`morphogen.medical.training.SplitData` (resumable in ``out_dir/run``);
    writes and returns ``out_dir/unet.safetensors``."""
    from datetime import timedelta

    from torch.utils.data import DataLoader

    from morphogen.medical.data.dataset import SegmentationDataset
    from morphogen.train.checkpoint import save_model
    from morphogen.train.data import EpochShuffleSampler
    from morphogen.train.trainer import fit

    torch.manual_seed(seed)
    net = build_unet()
    fields = {"mask": "bernoulli"}
    train = SegmentationDataset(split.train, fields, dict(augment or {}), seed=seed)
    loader = DataLoader(train, batch_size=batch_size, sampler=EpochShuffleSampler(len(train), seed))
    val = None
    if split.val is not None:
        val = DataLoader(SegmentationDataset(split.val, fields, None), batch_size=batch_size)
    module = _module(net, lr, weight_decay, warmup_steps)
    out = Path(out_dir)
    kw: dict[str, Any] = {"max_steps": max_steps, "progress": progress, "gradient_clip_val": 1.0,
                          "log_every_n_steps": 20, "checkpoint_every_n_steps": 200}
    if max_minutes is not None:
        kw["max_time"] = timedelta(minutes=float(max_minutes))
    trainer = fit(module, loader, val, out_dir=out / "run", resume=True, **kw)
    config = {"format": "morphogen.medical.unet", "unet": UNET_ARGS, "steps_trained": int(trainer.global_step),
              "image_size": list(split.train.images.shape[-2:])}
    return save_model(out / "unet.safetensors", {k: v.detach().cpu() for k, v in net.state_dict().items()}, config)


def load_unet(path: str | os.PathLike):
    """(U-Net in eval mode, its configuration) from :func:`train_unet`'s file."""
    from morphogen.train.checkpoint import load_model

    weights, config = load_model(path)
    net = build_unet(config.get("unet"))
    net.load_state_dict(weights)
    return net.eval(), config


@torch.no_grad()
def unet_probability(net, images: Tensor) -> Tensor:
    """z-scored images (B, 1, H, W) -> foreground probabilities (B, H, W)."""
    return torch.sigmoid(net(images))[:, 0]
