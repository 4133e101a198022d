"""Masks as the metrics and the ensemble fusions take them: numpy arrays or torch tensors (any device), bool or
0/1 numbers, one image (H, W) or a batch (B, H, W) -- or a list of (H_i, W_i) masks of different sizes.

Everything is converted to numpy ``bool`` here; a value other than 0 / 1 (e.g. a probability map passed where a
mask is expected) is an error that names the argument, not a silent threshold.
"""
from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(x: Any) -> np.ndarray:
    """A torch tensor (detached, on the CPU) or anything ``np.asarray`` takes, as a numpy array."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def binary(x: np.ndarray, name: str) -> np.ndarray:
    """An array of any shape, bool or 0/1 numbers -> bool (ValueError naming ``name`` for other values)."""
    if x.dtype == np.bool_:
        return x
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise TypeError(f"{name}: a mask is bool or 0/1 numbers, got dtype {x.dtype}")
    values = np.unique(x)
    if not np.isin(values, (0, 1)).all():
        bad = values[~np.isin(values, (0, 1))][:3]
        raise ValueError(f"{name}: a mask holds only 0 and 1 (threshold probabilities first), found e.g. "
                         f"{[float(v) for v in bad]}")
    return x.astype(bool)


def as_mask(x: Any, name: str = "mask") -> np.ndarray:
    """One mask (H, W) -> numpy bool (H, W)."""
    a = to_numpy(x)
    if a.ndim != 2:
        raise ValueError(f"{name}: one mask is (H, W), got shape {tuple(a.shape)}")
    return binary(a, name)


def as_masks(x: Any, name: str = "masks") -> list[np.ndarray]:
    """One mask (H, W), a batch (B, H, W) or a sequence of (H_i, W_i) masks -> a list of numpy bool (H_i, W_i)."""
    if isinstance(x, (list, tuple)):
        return [as_mask(m, f"{name}[{i}]") for i, m in enumerate(x)]
    a = to_numpy(x)
    if a.ndim == 2:
        return [binary(a, name)]
    if a.ndim == 3:
        b = binary(a, name)
        return [b[i] for i in range(b.shape[0])]
    raise ValueError(f"{name}: masks are (H, W), (B, H, W) or a list of (H, W), got shape {tuple(a.shape)}")


def paired(preds: Any, truths: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """Predictions and truths (each as :func:`as_masks` takes them) as (pred, truth) pairs of equal shapes."""
    p, t = as_masks(preds, "pred"), as_masks(truths, "truth")
    if len(p) != len(t):
        raise ValueError(f"{len(p)} predicted masks for {len(t)} true masks")
    for i, (a, b) in enumerate(zip(p, t)):
        if a.shape != b.shape:
            raise ValueError(f"image {i}: predicted mask {a.shape} and true mask {b.shape} differ in shape")
    return list(zip(p, t))


def per_image(value: Any, n: int, name: str) -> np.ndarray:
    """A number for every image, or one number for all: -> (n,) float64."""
    a = to_numpy(value).astype(np.float64)
    if a.ndim == 0:
        return np.full(n, float(a))
    if a.shape != (n,):
        raise ValueError(f"{name}: one value or one per image ({n}), got shape {tuple(a.shape)}")
    return a
