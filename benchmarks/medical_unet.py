"""Train the deterministic MONAI U-Net baseline of benchmarks/medical_hc18.py on the hc18 preset's split, with the
same size, augmentation, batch size, optimiser and number of optimiser steps as the shipped Echo-DND model
(resumable: rerun the same command to continue). Writes OUT/unet.safetensors; score it with

    python benchmarks/medical_hc18.py --row unet --model OUT/unet.safetensors

    python benchmarks/medical_unet.py --out runs/medical-unet --max-steps 12000
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="runs/medical-unet")
    ap.add_argument("--max-steps", type=int, default=None, help="default: the hc18 preset's max_steps")
    ap.add_argument("--max-minutes", type=float, default=None)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from morphogen.medical.baselines import train_unet
    from morphogen.medical.training import load_preset, load_split

    preset = load_preset("hc18")
    split = load_split(preset)
    cfg = preset.train
    t0 = time.time()
    path = train_unet(split, a.out, max_steps=a.max_steps or cfg.max_steps, batch_size=cfg.batch_size, lr=cfg.lr,
                      weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps,
                      augment=dict(preset.data.get("augment") or {}), seed=cfg.seed, max_minutes=a.max_minutes)
    print(json.dumps({"model": str(path), "minutes_this_run": round((time.time() - t0) / 60, 1)}))


if __name__ == "__main__":
    main()
