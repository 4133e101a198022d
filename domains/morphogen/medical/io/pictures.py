"""The pictures a segmentation run writes, each atomically (a temporary name in the same folder, then a rename):
the mask (0/255 grey PNG at the image's size), an overlay (the image in grey, the mask tinted and outlined) and the
ensemble's uncertainty (a colour map of per-pixel disagreement, 0 black to 1 bright)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

OVERLAY_COLOUR = (255, 64, 32)


def _save_png(path: str | os.PathLike, array: np.ndarray) -> Path:
    from PIL import Image

    from morphogen.utils.outputs import write_output as atomic_write

    img = Image.fromarray(np.ascontiguousarray(array))
    return atomic_write(path, lambda tmp: img.save(tmp, format="PNG"))


def grey8(image: np.ndarray) -> np.ndarray:
    """(H, W) any range -> uint8 0-255 (min-max)."""
    x = np.asarray(image, dtype=np.float64)
    lo, hi = float(x.min()), float(x.max())
    return np.zeros(x.shape, np.uint8) if hi <= lo else np.round((x - lo) / (hi - lo) * 255).astype(np.uint8)


def write_mask(path: str | os.PathLike, mask: np.ndarray) -> Path:
    """(H, W) bool -> a grey PNG of 0 and 255."""
    return _save_png(path, np.where(np.asarray(mask, bool), 255, 0).astype(np.uint8))


def boundary(mask: np.ndarray, width: int = 2) -> np.ndarray:
    """(H, W) bool: the pixels of ``mask`` within ``width`` pixels of its outside."""
    from scipy.ndimage import binary_erosion

    m = np.asarray(mask, bool)
    return m & ~binary_erosion(m, iterations=max(1, int(width)), border_value=0)


def overlay(image: np.ndarray, mask: np.ndarray, truth: np.ndarray | None = None, alpha: float = 0.3) -> np.ndarray:
    """(H, W, 3) uint8: the image in grey, the mask tinted and outlined in :data:`OVERLAY_COLOUR`, the reference
    outline (if given) in green."""
    g = grey8(image).astype(np.float64)
    rgb = np.stack([g, g, g], axis=-1)
    m = np.asarray(mask, bool)
    col = np.asarray(OVERLAY_COLOUR, np.float64)
    rgb[m] = (1 - alpha) * rgb[m] + alpha * col
    rgb[boundary(m)] = col
    if truth is not None:
        rgb[boundary(np.asarray(truth, bool))] = (40, 220, 40)
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def write_overlay(path: str | os.PathLike, image: np.ndarray, mask: np.ndarray,
                  truth: np.ndarray | None = None) -> Path:
    return _save_png(path, overlay(image, mask, truth))


def colour_map(values: np.ndarray, name: str = "magma") -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) uint8 through a matplotlib colour map."""
    from matplotlib import colormaps

    rgba = colormaps[name](np.clip(np.asarray(values, np.float64), 0.0, 1.0))
    return np.round(rgba[..., :3] * 255).astype(np.uint8)


def write_uncertainty(path: str | os.PathLike, uncertainty: np.ndarray) -> Path:
    """(H, W) in [0, 1] -> a colour PNG (magma: 0 black, 1 bright yellow)."""
    return _save_png(path, colour_map(uncertainty))
