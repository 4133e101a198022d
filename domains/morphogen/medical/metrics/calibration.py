"""Calibration of an ensemble's masks: is the fraction of members voting foreground at a pixel the frequency with
which that pixel is foreground? And does an image's uncertainty predict its error?

Reliability (:func:`reliability`): every pixel of every image has a predicted foreground probability f, the
fraction of the N ensemble members that mark it (k / N; any value in [0, 1] is accepted). Pixels are binned by f
into equal-width bins on [0, 1] (``bins`` = their number) or given edges; bin b is [e_b, e_b+1), the last one
closed. Values within 1e-6 of a bin width below an edge count in the bin above, so k / N lands in the same bin in
float32 and float64 (e.g. 0.3 with ten bins is in [0.3, 0.4)). Per bin: the mean predicted probability, the
empirical foreground frequency (the fraction of its pixels that are foreground in the truth) and its pixel count.
This is the foreground-probability (binary) reliability diagram, not the max-probability "confidence" one.

    ECE = sum_b (n_b / n) |frequency_b - mean predicted_b|   (pixel-count weighted; empty bins weigh 0)

Uncertainty and error (:func:`uncertainty_correlation`): one (uncertainty, error) pair per image, Pearson and
Spearman correlations (scipy). :class:`Calibration` takes the image's mean disagreement 4 f (1 - f)
(:func:`morphogen.medical.ensemble.disagreement`) over all its pixels as its uncertainty and 1 - Dice of the
majority mask (f > 0.5, as :func:`morphogen.medical.ensemble.majority_vote`) as its error.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from morphogen.medical.metrics.masks import as_mask, to_numpy

EDGE_TOLERANCE = 1e-6


def bin_edges(bins: int | Sequence[float]) -> np.ndarray:
    """A number of equal-width bins on [0, 1], or increasing edges from 0 to 1 -> (B + 1,) float64."""
    if isinstance(bins, (int, np.integer)):
        if int(bins) < 1:
            raise ValueError(f"bins must be >= 1, got {bins}")
        return np.linspace(0.0, 1.0, int(bins) + 1)
    e = np.asarray(bins, dtype=np.float64).reshape(-1)
    if e.size < 2 or not (np.diff(e) > 0).all() or e[0] != 0.0 or e[-1] != 1.0:
        raise ValueError(f"bin edges must increase from 0 to 1, got {list(e)}")
    return e


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The bin of each value (see the module's notes on the tolerance at the edges)."""
    widths = np.diff(edges)
    # shift each value up by the tolerance of the narrowest bin, so a value a hair below an edge joins the bin above
    idx = np.searchsorted(edges, values + EDGE_TOLERANCE * widths.min(), side="right") - 1
    return np.clip(idx, 0, len(edges) - 2)


@dataclass
class ReliabilityTable:
    """The reliability diagram of foreground probabilities.

    Attributes:
        edges: (B + 1,) bin edges on [0, 1].
        mean_predicted: (B,) mean predicted foreground probability of each bin (nan if empty).
        frequency: (B,) fraction of the bin's pixels that are foreground (nan if empty).
        count: (B,) pixels per bin.
        ece: expected calibration error, pixel-count weighted (nan if there are no pixels).
    """

    edges: np.ndarray
    mean_predicted: np.ndarray
    frequency: np.ndarray
    count: np.ndarray
    ece: float

    @property
    def n(self) -> int:
        return int(self.count.sum())

    def rows(self) -> list[tuple[float, float, float, float, int]]:
        """(bin low, bin high, mean predicted, frequency, pixel count) per bin."""
        return [(float(self.edges[i]), float(self.edges[i + 1]), float(self.mean_predicted[i]),
                 float(self.frequency[i]), int(self.count[i])) for i in range(len(self.count))]


def _maps(freq_maps: Any, truths: Any) -> list[tuple[np.ndarray, np.ndarray]]:
    """(H, W) / (B, H, W) / lists of vote-fraction maps and true masks -> (fraction float64, mask bool) pairs."""
    def split(x: Any, name: str) -> list:
        if isinstance(x, (list, tuple)):
            return list(x)
        a = to_numpy(x)
        if a.ndim == 2:
            return [a]
        if a.ndim == 3:
            return list(a)
        raise ValueError(f"{name}: (H, W), (B, H, W) or a list of (H, W), got shape {tuple(a.shape)}")

    fs, ts = split(freq_maps, "freq_maps"), split(truths, "truths")
    if len(fs) != len(ts):
        raise ValueError(f"{len(fs)} vote-fraction maps for {len(ts)} true masks")
    out = []
    for i, (f, t) in enumerate(zip(fs, ts)):
        f = to_numpy(f).astype(np.float64)
        t = as_mask(t, f"truths[{i}]")
        if f.shape != t.shape:
            raise ValueError(f"image {i}: vote fraction {f.shape} and true mask {t.shape} differ in shape")
        if not (np.isfinite(f).all() and f.min() >= 0.0 and f.max() <= 1.0):
            raise ValueError(f"image {i}: vote fractions must lie in [0, 1], got [{f.min()}, {f.max()}]")
        out.append((f, t))
    return out


def _sums(f: np.ndarray, t: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(3, B): per bin the pixel count, the sum of f, the number of foreground pixels."""
    idx = bin_index(f.ravel(), edges)
    nb = len(edges) - 1
    return np.stack([np.bincount(idx, minlength=nb).astype(np.float64),
                     np.bincount(idx, weights=f.ravel(), minlength=nb),
                     np.bincount(idx, weights=t.ravel().astype(np.float64), minlength=nb)])


def _table(sums: np.ndarray, edges: np.ndarray) -> ReliabilityTable:
    count, sum_f, sum_t = sums
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred = np.where(count > 0, sum_f / count, np.nan)
        freq = np.where(count > 0, sum_t / count, np.nan)
    n = count.sum()
    ece = float(np.sum(count[count > 0] * np.abs(freq - mean_pred)[count > 0]) / n) if n > 0 else float("nan")
    return ReliabilityTable(edges.copy(), mean_pred, freq, count.astype(np.int64), ece)


def reliability(freq_maps: Any, truths: Any, bins: int | Sequence[float] = 10) -> ReliabilityTable:
    """Reliability table and ECE of vote-fraction maps (H, W), (B, H, W) or a list, in [0, 1], against true
    masks of the same shapes; ``bins``: a number of equal-width bins or the edges (see the module's notes)."""
    edges = bin_edges(bins)
    total = np.zeros((3, len(edges) - 1))
    for f, t in _maps(freq_maps, truths):
        total += _sums(f, t, edges)
    return _table(total, edges)


@dataclass
class UncertaintyCorrelation:
    """Pearson and Spearman correlation of per-image uncertainty and error, with their two-sided p-values; nan
    when there are fewer than 3 images or either side is constant."""

    pearson: float
    pearson_p: float
    spearman: float
    spearman_p: float
    n: int


def uncertainty_correlation(mean_uncertainty: Any, one_minus_dice: Any) -> UncertaintyCorrelation:
    """Correlation of (n,) per-image uncertainties with (n,) per-image errors (e.g. 1 - Dice)."""
    u = to_numpy(mean_uncertainty).astype(np.float64).reshape(-1)
    e = to_numpy(one_minus_dice).astype(np.float64).reshape(-1)
    if u.shape != e.shape:
        raise ValueError(f"{u.size} uncertainties for {e.size} errors")
    if not (np.isfinite(u).all() and np.isfinite(e).all()):
        raise ValueError("uncertainties and errors must be finite")
    nan = float("nan")
    if u.size < 3 or np.ptp(u) == 0 or np.ptp(e) == 0:
        return UncertaintyCorrelation(nan, nan, nan, nan, int(u.size))
    from scipy import stats

    pr, sr = stats.pearsonr(u, e), stats.spearmanr(u, e)
    return UncertaintyCorrelation(float(pr.statistic), float(pr.pvalue), float(sr.statistic), float(sr.pvalue),
                                  int(u.size))


@dataclass
class CalibrationResult:
    """reliability: the :class:`ReliabilityTable` over all pixels; correlation: of ``mean_uncertainty`` with
    ``one_minus_dice`` (per image, in the order given)."""

    reliability: ReliabilityTable
    correlation: UncertaintyCorrelation
    mean_uncertainty: list[float] = field(repr=False)
    one_minus_dice: list[float] = field(repr=False)

    @property
    def ece(self) -> float:
        return self.reliability.ece


def _image_terms(f: np.ndarray, t: np.ndarray) -> tuple[float, float]:
    """(mean disagreement, 1 - Dice of the majority mask) of one image."""
    from morphogen.medical.ensemble import disagreement
    from morphogen.medical.metrics.overlap import dice

    return float(disagreement(f).mean()), 1.0 - dice(f > 0.5, t)


def calibration(freq_maps: Any, truths: Any, bins: int | Sequence[float] = 10) -> CalibrationResult:
    """:func:`reliability` and the per-image uncertainty-error correlation (see the module's notes)."""
    pairs = _maps(freq_maps, truths)
    terms = [_image_terms(f, t) for f, t in pairs]
    u, e = [x for x, _ in terms], [y for _, y in terms]
    return CalibrationResult(reliability(freq_maps, truths, bins), uncertainty_correlation(u, e), u, e)


class Calibration:
    """Accumulates ensembles' vote-fraction maps and true masks; :meth:`compute` -> :class:`CalibrationResult`,
    equal to :func:`calibration` on everything given (the bins' sums are kept, not the pixels).

    Args:
        bins: a number of equal-width bins on [0, 1] or the edges.
    """

    def __init__(self, bins: int | Sequence[float] = 10):
        self.edges = bin_edges(bins)
        self.reset()

    def reset(self) -> None:
        """Forget the images seen (the bins stay)."""
        self._sums = np.zeros((3, len(self.edges) - 1))
        self._uncertainty: list[float] = []
        self._error: list[float] = []

    def update(self, freq_maps: Any, truths: Any) -> None:
        """Add one vote-fraction map (H, W) in [0, 1] with its true mask, or a batch (B, H, W), or lists."""
        for f, t in _maps(freq_maps, truths):
            self._sums += _sums(f, t, self.edges)
            u, e = _image_terms(f, t)
            self._uncertainty.append(u)
            self._error.append(e)

    def compute(self) -> CalibrationResult:
        if not self._uncertainty:
            raise ValueError("Calibration.compute() before any update()")
        return CalibrationResult(_table(self._sums, self.edges),
                                 uncertainty_correlation(self._uncertainty, self._error),
                                 list(self._uncertainty), list(self._error))
