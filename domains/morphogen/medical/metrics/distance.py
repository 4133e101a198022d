"""Distances between the boundaries of a predicted and a true mask: HD95 and ASSD, through MONAI.

Boundary (MONAI's ``get_mask_edges``): the foreground pixels with a background 4-neighbour (the mask minus its
binary erosion by a cross; a foreground pixel on the image's border counts as boundary). Distances are between
pixel centres, Euclidean, exact (MONAI's KD-tree on the CPU).

- ``hd95``: the symmetric 95th-percentile Hausdorff distance as MONAI defines it: the 95th percentile (linear
  interpolation, ``torch.quantile``) of the distances from each boundary pixel of P to the nearest of T, the
  same from T to P, and the larger of the two. ``percentile=None`` in :func:`hausdorff_distance` gives the
  classic (maximum) Hausdorff distance.
- ``assd``: the average symmetric surface distance: the mean of both sets of directed distances pooled
  (sum of P->T and T->P distances / (|dP| + |dT|)).

Units and spacing: ``spacing`` is the pixel size as (row, column) -- the order of the array's axes (H, W), which
is also MONAI's -- in mm, or one number for square pixels; distances are then in mm. ``spacing=None`` gives
pixels. (HC18 gives one isotropic pixel size per image; a DICOM ``PixelSpacing`` is already (row, column).)

Empty masks (decided here; MONAI would give nan for both and warn):

- both empty -> 0.0 (the boundaries coincide: there are none);
- exactly one empty -> ``inf`` (no boundary point has a nearest point on the other side). A summary's ``mean``
  is then inf too, and ``mean_finite`` / ``n_nonfinite`` (:class:`~.summary.ImageScores`) say over how many
  images the finite mean is.

MONAI returns float32 distances (about 7 significant digits).
"""
from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from typing import Any

import numpy as np

from morphogen.medical.metrics.masks import as_mask, paired, to_numpy
from morphogen.medical.metrics.summary import PerImageMetric


def pixel_spacing(spacing: Any) -> tuple[float, float] | None:
    """None -> None; one number -> (s, s); (row, column) -> itself; each positive and finite."""
    if spacing is None:
        return None
    a = to_numpy(spacing).astype(np.float64).reshape(-1)
    if a.size == 1:
        a = np.repeat(a, 2)
    if a.size != 2:
        raise ValueError(f"spacing is one number or (row, column), got {spacing!r}")
    if not (np.isfinite(a).all() and (a > 0).all()):
        raise ValueError(f"spacing must be positive and finite, got {spacing!r}")
    return float(a[0]), float(a[1])


def spacings(spacing: Any, n: int) -> list[tuple[float, float] | None]:
    """The spacing of each of ``n`` images: None, one number or (row, column) for all, or (n, 2) per image."""
    if spacing is None:
        return [None] * n
    a = to_numpy(spacing)
    if a.ndim == 2:
        if a.shape != (n, 2):
            raise ValueError(f"per-image spacings are (B, 2) (row, column), got shape {a.shape} for {n} images")
        return [pixel_spacing(s) for s in a]
    return [pixel_spacing(spacing)] * n


def _empty_case(p: np.ndarray, t: np.ndarray) -> float | None:
    """The value when a mask is empty (0 for both, inf for one), None when both have a boundary."""
    has_p, has_t = bool(p.any()), bool(t.any())
    if not has_p and not has_t:
        return 0.0
    if not has_p or not has_t:
        return math.inf
    return None


@contextmanager
def _quiet_monai():
    """MONAI 1.5-1.6 passes its own deprecated ``always_return_as_numpy`` to ``get_mask_edges`` and warns about
    it on every call; that warning (and only that one) is silenced here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*always_return_as_numpy.*", category=FutureWarning)
        yield


def _tensors(p: np.ndarray, t: np.ndarray):
    import torch

    return torch.from_numpy(p.astype(np.float32))[None, None], torch.from_numpy(t.astype(np.float32))[None, None]


def _hausdorff(p: np.ndarray, t: np.ndarray, spacing: tuple[float, float] | None, percentile: float | None) -> float:
    empty = _empty_case(p, t)
    if empty is not None:
        return empty
    from monai.metrics import compute_hausdorff_distance

    y_pred, y = _tensors(p, t)
    with _quiet_monai():
        out = compute_hausdorff_distance(y_pred, y, include_background=True, distance_metric="euclidean",
                                         percentile=percentile, directed=False,
                                         spacing=None if spacing is None else list(spacing))
    return float(out[0, 0])


def _assd(p: np.ndarray, t: np.ndarray, spacing: tuple[float, float] | None) -> float:
    empty = _empty_case(p, t)
    if empty is not None:
        return empty
    from monai.metrics import compute_average_surface_distance

    y_pred, y = _tensors(p, t)
    with _quiet_monai():
        out = compute_average_surface_distance(y_pred, y, include_background=True, symmetric=True,
                                               distance_metric="euclidean",
                                               spacing=None if spacing is None else list(spacing))
    return float(out[0, 0])


def _check(pred: Any, truth: Any) -> tuple[np.ndarray, np.ndarray]:
    p, t = as_mask(pred, "pred"), as_mask(truth, "truth")
    if p.shape != t.shape:
        raise ValueError(f"predicted mask {p.shape} and true mask {t.shape} differ in shape")
    return p, t


def hausdorff_distance(pred: Any, truth: Any, spacing: Any = None, percentile: float | None = 95.0) -> float:
    """Symmetric percentile Hausdorff distance between the boundaries of two (H, W) masks (``percentile=None``:
    the maximum); in mm with ``spacing`` (row, column) mm, else pixels. Both empty 0.0, one empty inf."""
    if percentile is not None and not 0.0 <= float(percentile) <= 100.0:
        raise ValueError(f"percentile must be in [0, 100] or None, got {percentile}")
    return _hausdorff(*_check(pred, truth), pixel_spacing(spacing), percentile)


def hd95(pred: Any, truth: Any, spacing: Any = None) -> float:
    """95th-percentile symmetric Hausdorff distance of two (H, W) masks (see the module's notes); in mm with
    ``spacing`` (row, column) in mm, else in pixels. Both empty 0.0, exactly one empty inf."""
    return _hausdorff(*_check(pred, truth), pixel_spacing(spacing), 95.0)


def assd(pred: Any, truth: Any, spacing: Any = None) -> float:
    """Average symmetric surface distance of two (H, W) masks; mm with ``spacing``, else pixels. Both empty 0.0,
    exactly one empty inf."""
    return _assd(*_check(pred, truth), pixel_spacing(spacing))


def hd95_batch(preds: Any, truths: Any, spacing: Any = None) -> np.ndarray:
    """Per-image HD95 of (B, H, W) masks (or lists); ``spacing`` None, one number or (row, column) for all, or
    (B, 2) per image -> (B,) float64."""
    pairs = paired(preds, truths)
    return np.asarray([_hausdorff(p, t, s, 95.0) for (p, t), s in zip(pairs, spacings(spacing, len(pairs)))],
                      dtype=np.float64)


def assd_batch(preds: Any, truths: Any, spacing: Any = None) -> np.ndarray:
    """Per-image ASSD of (B, H, W) masks (or lists); ``spacing`` as in :func:`hd95_batch` -> (B,) float64."""
    pairs = paired(preds, truths)
    return np.asarray([_assd(p, t, s) for (p, t), s in zip(pairs, spacings(spacing, len(pairs)))],
                      dtype=np.float64)


class HD95(PerImageMetric):
    """Accumulates per-image HD95; :meth:`compute` -> :class:`~.summary.ImageScores` (``mean`` is inf when an
    image had exactly one empty mask; ``mean_finite`` leaves those out).

    Args:
        spacing: the default pixel size (one number or (row, column), mm) of images whose ``update`` gives none;
            None: pixels.
    """

    def __init__(self, spacing: Any = None):
        self.spacing = pixel_spacing(spacing)
        super().__init__()

    def update(self, pred: Any, truth: Any, spacing: Any = None) -> np.ndarray:
        """Add a pair of (H, W) masks or a batch (B, H, W); ``spacing`` for these images (one number, (row,
        column), or (B, 2)), else the constructor's. Returns the new images' HD95 (B,)."""
        return self._add(hd95_batch(pred, truth, self.spacing if spacing is None else spacing))


class ASSD(PerImageMetric):
    """Accumulates per-image average symmetric surface distances; as :class:`HD95`."""

    def __init__(self, spacing: Any = None):
        self.spacing = pixel_spacing(spacing)
        super().__init__()

    def update(self, pred: Any, truth: Any, spacing: Any = None) -> np.ndarray:
        """Add a pair or a batch; ``spacing`` as in :meth:`HD95.update`. Returns the new images' ASSD (B,)."""
        return self._add(assd_batch(pred, truth, self.spacing if spacing is None else spacing))
