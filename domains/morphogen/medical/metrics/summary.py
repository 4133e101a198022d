"""One score per image, and its summary: what Dice, IoU, HD95 and ASSD accumulate.

A per-image score can be infinite (HD95 / ASSD when exactly one of the two masks is empty, see
:mod:`.distance`). The summary keeps both views: ``mean`` over every image (infinite as soon as one image is,
so a failure is never averaged away) and ``mean_finite`` / ``std_finite`` over the finite ones, with
``n_nonfinite`` saying how many were left out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np


@dataclass
class ImageScores:
    """A per-image score over a set of images.

    Attributes:
        per_image: the score of each image, in the order they were given.
        mean: the mean over all images (inf if any is inf; nan for an empty set).
        mean_finite: the mean over the finite scores (nan if none).
        std_finite: their standard deviation (population, ddof = 0; nan if none).
        n: number of images.
        n_nonfinite: images whose score is inf or nan (left out of ``mean_finite``).
    """

    per_image: list[float]
    mean: float
    mean_finite: float
    std_finite: float
    n: int
    n_nonfinite: int

    def as_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "mean_finite": self.mean_finite, "std_finite": self.std_finite, "n": self.n,
                "n_nonfinite": self.n_nonfinite}


def summarize(values: Iterable[float]) -> ImageScores:
    """Per-image scores -> :class:`ImageScores`."""
    v = np.asarray([float(x) for x in values], dtype=np.float64)
    fin = v[np.isfinite(v)]
    mean = float(v.mean()) if v.size else float("nan")
    return ImageScores(per_image=v.tolist(), mean=mean,
                       mean_finite=float(fin.mean()) if fin.size else float("nan"),
                       std_finite=float(fin.std()) if fin.size else float("nan"),
                       n=int(v.size), n_nonfinite=int(v.size - fin.size))


class PerImageMetric:
    """Base of the accumulating per-image metrics (:class:`~morphogen.metrics.protocol.Metric`): a subclass's
    ``update`` scores a pair or a batch and hands the scores to :meth:`_add`; :meth:`compute` summarises every
    score since construction or the last :meth:`reset` (it does not consume)."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the scores accumulated (options given to the constructor stay)."""
        self._values: list[float] = []

    def _add(self, values: np.ndarray) -> np.ndarray:
        self._values.extend(float(x) for x in np.asarray(values, dtype=np.float64).reshape(-1))
        return values

    def update(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}.update")

    def compute(self) -> ImageScores:
        if not self._values:
            raise ValueError(f"{type(self).__name__}.compute() before any update()")
        return summarize(self._values)
