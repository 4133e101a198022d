"""Overlap of a predicted and a true binary mask: Dice and IoU (Jaccard), per image, through MONAI.

    dice = 2 |P & T| / (|P| + |T|)        iou = |P & T| / |P | T|

Empty masks (MONAI's ``ignore_empty=False``, stated here because MONAI's default is the opposite):

- both masks empty -> 1.0 (the prediction is exactly right: there is nothing, and nothing was found);
- exactly one empty -> 0.0.

MONAI's default (``ignore_empty=True``) would give nan when the truth is empty, and its mean would then skip
those images; here every image counts. Scores are per image (a batch is never pooled into one big mask).
MONAI computes Dice in float32 (about 7 significant digits) and IoU here in float64.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from morphogen.medical.metrics.masks import as_mask, paired
from morphogen.medical.metrics.summary import PerImageMetric


def _pair(pred: np.ndarray, truth: np.ndarray):
    """(H, W) bool masks -> MONAI's (1, 1, H, W) float64 tensors (batch, channel)."""
    import torch

    return (torch.from_numpy(pred.astype(np.float64))[None, None],
            torch.from_numpy(truth.astype(np.float64))[None, None])


def _check(pred: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    p, t = as_mask(pred, "pred"), as_mask(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"predicted mask {p.shape} and true mask {t.shape} differ in shape")
    return p, t


def _dice(p: np.ndarray, t: np.ndarray) -> float:
    from monai.metrics import compute_dice

    y_pred, y = _pair(p, t)
    return float(compute_dice(y_pred, y, include_background=True, ignore_empty=False)[0, 0])


def _iou(p: np.ndarray, t: np.ndarray) -> float:
    from monai.metrics import compute_iou

    y_pred, y = _pair(p, t)
    return float(compute_iou(y_pred, y, include_background=True, ignore_empty=False)[0, 0])


def dice(pred: Any, truth: Any) -> float:
    """Dice of two (H, W) masks (bool or 0/1, numpy or torch); 1.0 when both are empty, 0.0 when one is."""
    return _dice(*_check(pred, truth))


def iou(pred: Any, truth: Any) -> float:
    """IoU (Jaccard) of two (H, W) masks; 1.0 when both are empty, 0.0 when one is."""
    return _iou(*_check(pred, truth))


def dice_batch(preds: Any, truths: Any) -> np.ndarray:
    """Per-image Dice of (B, H, W) masks (or lists of (H_i, W_i) masks) -> (B,) float64."""
    return np.asarray([_dice(p, t) for p, t in paired(preds, truths)], dtype=np.float64)


def iou_batch(preds: Any, truths: Any) -> np.ndarray:
    """Per-image IoU of (B, H, W) masks (or lists of (H_i, W_i) masks) -> (B,) float64."""
    return np.asarray([_iou(p, t) for p, t in paired(preds, truths)], dtype=np.float64)


class DiceScore(PerImageMetric):
    """Accumulates per-image Dice; :meth:`compute` -> :class:`~.summary.ImageScores` (``mean``, ``per_image``),
    equal to ``summarize(dice_batch(all preds, all truths))``."""

    def update(self, pred: Any, truth: Any) -> np.ndarray:
        """Add one pair of (H, W) masks or a batch (B, H, W); returns the new images' Dice scores (B,)."""
        return self._add(dice_batch(pred, truth))


class IoUScore(PerImageMetric):
    """Accumulates per-image IoU; :meth:`compute` -> :class:`~.summary.ImageScores`, equal to
    ``summarize(iou_batch(all preds, all truths))``."""

    def update(self, pred: Any, truth: Any) -> np.ndarray:
        """Add one pair of (H, W) masks or a batch (B, H, W); returns the new images' IoU scores (B,)."""
        return self._add(iou_batch(pred, truth))
