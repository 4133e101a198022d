"""Checkpoints: written atomically, read without unpickling arbitrary objects.

Shipped models are safetensors files whose metadata holds the JSON configuration (the specs that rebuild the
joint process and the denoiser). Lightning training checkpoints (``.ckpt``) are read with ``weights_only=True``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from morphogen.errors import MorphogenError
from morphogen.utils.outputs import atomic_write  # noqa: F401 (its home was here; callers import it from here)


class CheckpointError(MorphogenError, RuntimeError):
    """A checkpoint file that is missing, truncated, corrupt or not a Morphogen checkpoint."""


def save_model(path: str | os.PathLike, state_dict: dict[str, Tensor], config: dict[str, Any]) -> Path:
    """Write weights and their configuration into one safetensors file, atomically; a failed write (a full disk) is
    :class:`morphogen.utils.outputs.OutputWriteError`, one line naming the file."""
    from safetensors.torch import save_file

    from morphogen.utils.outputs import write_output

    tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
    meta = {"format": "morphogen", "config": json.dumps(config)}
    return write_output(path, lambda tmp: save_file(tensors, tmp, metadata=meta))


def load_model(path: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """(state_dict, config) from a file written by :func:`save_model`."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises several error types for damaged files
        raise CheckpointError(f"{path}: corrupt or truncated checkpoint (not a readable safetensors file: {err})") from None
    if meta.get("format") != "morphogen" or "config" not in meta:
        raise CheckpointError(f"{path}: a safetensors file, but not a Morphogen checkpoint (no configuration metadata)")
    try:
        config = json.loads(meta["config"])
    except json.JSONDecodeError as err:
        raise CheckpointError(f"{path}: the configuration stored in the checkpoint is not valid JSON ({err})") from None
    return tensors, config


def load_training_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """A Lightning ``.ckpt`` read with ``weights_only=True`` (tensors and plain containers only)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise CheckpointError(f"{path}: corrupt, truncated or unsafe training checkpoint ({type(err).__name__}: "
                              f"{str(err).splitlines()[0][:200]})") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise CheckpointError(f"{path}: not a Lightning training checkpoint (no 'state_dict')")
    return ckpt


def export_ema(ckpt_path: str | os.PathLike, out_path: str | os.PathLike, weights: str = "ema") -> Path:
    """Turn a training checkpoint into a shipped model: the EMA denoiser weights (or the live ones where the run kept
    no EMA) + config. ``weights="raw"``: the live (optimised) weights even where an EMA exists (GDSS samples QM9
    with them, ``use_ema: False``)."""
    if weights not in ("ema", "raw"):
        raise ValueError(f"weights must be 'ema' or 'raw', got '{weights}'")
    ckpt = load_training_checkpoint(ckpt_path)
    sd = ckpt["state_dict"]
    has_ema = any(k.startswith("ema.shadow.") for k in sd)
    prefix = "ema.shadow." if has_ema and weights == "ema" else "denoiser."
    state = {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    return save_model(out_path, state, ckpt.get("morphogen_config", {}))
