"""Deterministic seeded train / validation / test splits of a pool of records."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Split:
    """Disjoint sorted index arrays into the pool; together they cover it exactly."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_indices(n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """Shuffle range(n) with ``numpy.random.default_rng(seed)`` and cut it by ``fractions`` (train, val, test;
    they must sum to 1). Sizes: val = round(n f_val), test = round(n f_test), train = the rest. The same (n,
    fractions, seed) always gives the same split, on every platform (PCG64 is specified)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or np.any(f < 0) or abs(f.sum() - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    perm = np.random.default_rng(seed).permutation(n)
    n_val, n_test = int(round(n * f[1])), int(round(n * f[2]))
    n_train = n - n_val - n_test
    return Split(np.sort(perm[:n_train]), np.sort(perm[n_train:n_train + n_val]), np.sort(perm[n_train + n_val:]))
