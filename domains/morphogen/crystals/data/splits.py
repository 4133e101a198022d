"""Deterministic seeded train / validation / test splits of a pool of records."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass
class Split:
    """Disjoint sorted index arrays into the pool; together they cover it exactly."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _check_fractions(fractions) -> np.ndarray:
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or np.any(f < 0) or abs(f.sum() - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    return f


def grouped_split_indices(groups: Sequence, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                          seed: int = 0) -> Split:
    """A split in which records of the same group (e.g. the polymorphs of one composition, Martirossyan et al.
    2025) never straddle two parts. The distinct groups, in order of first appearance, are shuffled with
    ``numpy.random.default_rng(seed)``; whole groups then fill validation up to round(n f_val) records, then test up
    to round(n f_test), and the rest go to training (a part may exceed its target by less than one group).

    Args:
        groups: (n,) hashable group key of each record.
    """
    f = _check_fractions(fractions)
    keys = list(dict.fromkeys(groups))
    index = {k: i for i, k in enumerate(keys)}
    gid = np.asarray([index[g] for g in groups], dtype=np.int64)
    sizes = np.bincount(gid, minlength=len(keys))
    order = np.random.default_rng(seed).permutation(len(keys))
    n = len(gid)
    want = (int(round(n * f[1])), int(round(n * f[2])))
    part = np.zeros(len(keys), dtype=np.int64)  # 0 train, 1 val, 2 test
    filled, current = [0, 0], 0
    for g in order:
        while current < 2 and filled[current] >= want[current]:
            current += 1
        if current == 2:
            break
        part[g] = current + 1
        filled[current] += int(sizes[g])
    where = part[gid]
    return Split(*(np.flatnonzero(where == k) for k in (0, 1, 2)))


def split_indices(n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0) -> Split:
    """Shuffle range(n) with ``numpy.random.default_rng(seed)`` and cut it by ``fractions`` (train, val, test;
    they must sum to 1). Sizes: val = round(n f_val), test = round(n f_test), train = the rest. The same (n,
    fractions, seed) always gives the same split, on every platform (PCG64 is specified)."""
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    f = _check_fractions(fractions)
    perm = np.random.default_rng(seed).permutation(n)
    n_val, n_test = int(round(n * f[1])), int(round(n * f[2]))
    n_train = n - n_val - n_test
    return Split(np.sort(perm[:n_train]), np.sort(perm[n_train:n_train + n_val]), np.sort(perm[n_train + n_val:]))


def composition_key(atomic_numbers: Sequence[int]) -> tuple:
    """The reduced composition of a cell as a hashable key: sorted (Z, count / gcd of counts) pairs (the key of
    the polymorph-grouped split: SrTiO3 in a 5-atom and in a 10-atom cell give the same key)."""
    import math

    zs, counts = np.unique(np.asarray(atomic_numbers, dtype=np.int64), return_counts=True)
    g = math.gcd(*[int(c) for c in counts]) if len(counts) else 1
    return tuple((int(z), int(c) // g) for z, c in zip(zs, counts))
