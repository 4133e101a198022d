"""Sets of different sizes as dense padded tensors, and the size histogram that generation draws sizes from.

Molecules, graphs and crystal cells have different numbers of atoms (nodes). Every model in this library works on
dense tensors of N = the largest size, with a (B, N) bool mask whose first ``counts[b]`` entries are True (real
items first, padding after). At generation time the sizes are drawn from the training set's histogram:

* :func:`pad_sequences`: B variable-length 1-D integer arrays -> :class:`Padded` values (B, N) and mask (B, N);
* :func:`mask_from_counts`: sizes (B,) -> mask (B, N);
* :class:`CountHistogram`: built from the training sizes, stored as a plain list (JSON), ``sample`` draws sizes.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor


@dataclass
class Padded:
    """values (B, N) of ``dtype``, ``fill`` on padding; mask (B, N) bool, True on the first ``len(seq_b)`` entries."""

    values: Tensor
    mask: Tensor

    @property
    def counts(self) -> Tensor:
        """(B,) long: the length of every sequence."""
        return self.mask.sum(1)


def mask_from_counts(counts: Tensor, max_len: int) -> Tensor:
    """(B,) sizes -> (B, N = max_len) bool mask with the first ``counts[b]`` entries True (on the device of counts)."""
    counts = torch.as_tensor(counts)
    if counts.dim() != 1:
        raise ValueError(f"counts must be 1-D (B,), got shape {tuple(counts.shape)}")
    return torch.arange(int(max_len), device=counts.device)[None, :] < counts[:, None]


def pad_sequences(sequences: Sequence[Sequence[int] | np.ndarray | Tensor], max_len: int | None = None,
                  fill: int = 0, dtype: torch.dtype = torch.long) -> Padded:
    """Pad B 1-D integer sequences (lists, numpy arrays or tensors) into one (B, N) tensor and its mask.

    Args:
        sequences: B sequences of lengths n_b (an empty one gives an all-False mask row).
        max_len: N; None uses the longest sequence (0 when all are empty). A longer sequence is an error naming it.
        fill: the value on padded entries.
        dtype: of ``values`` (an integer dtype: the inputs are class indices or counts).

    Returns:
        :class:`Padded` with values (B, N) and mask (B, N) bool.
    """
    rows = []
    for i, s in enumerate(sequences):
        t = torch.as_tensor(np.asarray(s) if not isinstance(s, Tensor) else s)
        if t.dim() != 1:
            raise ValueError(f"sequence {i}: expected a 1-D array, got shape {tuple(t.shape)}")
        if t.numel() and (t.is_floating_point() or t.is_complex()):
            raise ValueError(f"sequence {i}: expected integers, got {t.dtype}")
        rows.append(t)
    lengths = torch.tensor([len(t) for t in rows], dtype=torch.long)
    n = int(lengths.max()) if max_len is None and rows else int(max_len or 0)
    too_long = (lengths > n).nonzero().flatten().tolist()
    if too_long:
        i = too_long[0]
        raise ValueError(f"sequence {i} has {int(lengths[i])} entries, more than max_len={n}")
    values = torch.full((len(rows), n), fill, dtype=dtype)
    for i, t in enumerate(rows):
        values[i, : len(t)] = t.to(dtype)
    return Padded(values, mask_from_counts(lengths, n))


@dataclass(frozen=True)
class CountHistogram:
    """How often each size (atoms per molecule or cell, nodes per graph) occurs in a training set.

    Attributes:
        weights: ``weights[k]`` = frequency of size k, k = 0..K (zeros allowed; at least one positive). Counts from
            :meth:`from_counts` are ints; any non-negative finite numbers are accepted.

    ``to_list`` / ``from_list`` is the stored form (plain JSON: the graphs checkpoints' ``node_count_hist``);
    ``to_mapping`` / ``from_mapping`` is ``{size: frequency}`` over the sizes that occur (the crystals
    checkpoints' ``num_atoms``, whose keys are strings in JSON).
    """

    weights: tuple[float, ...]

    def __post_init__(self):
        w = tuple(self.weights)
        if not w:
            raise ValueError("CountHistogram needs at least one size")
        bad = [k for k, x in enumerate(w) if not (isinstance(x, numbers.Real) and math.isfinite(x) and x >= 0)]
        if bad:
            raise ValueError(f"CountHistogram: size {bad[0]} has frequency {w[bad[0]]!r}; frequencies must be "
                             f"finite and >= 0")
        if not any(x > 0 for x in w):
            raise ValueError("CountHistogram: every frequency is zero")
        object.__setattr__(self, "weights", w)

    # -- building and storing ------------------------------------------------------------------------------------
    @classmethod
    def from_counts(cls, counts: Iterable[int] | Tensor | np.ndarray, length: int | None = None) -> "CountHistogram":
        """The histogram of training sizes (B,); ``length`` pads the list with zero frequencies up to that many
        entries (sizes 0..length-1), e.g. max_nodes + 1."""
        c = torch.as_tensor(np.asarray(counts) if not isinstance(counts, Tensor) else counts).long().flatten()
        if c.numel() == 0:
            raise ValueError("CountHistogram.from_counts needs at least one size")
        if int(c.min()) < 0:
            raise ValueError(f"sizes must be >= 0, got {int(c.min())}")
        if length is not None and int(c.max()) >= length:
            raise ValueError(f"size {int(c.max())} does not fit a histogram of length {length}")
        return cls(tuple(torch.bincount(c, minlength=length or 0).tolist()))

    @classmethod
    def from_list(cls, weights: Sequence[float]) -> "CountHistogram":
        """From the stored list (``weights[k]`` = frequency of size k)."""
        return cls(tuple(weights))

    @classmethod
    def from_mapping(cls, mapping: Mapping[int | str, float]) -> "CountHistogram":
        """From ``{size: frequency}`` (keys may be digit strings, as JSON stores them)."""
        try:
            items = {int(k): v for k, v in mapping.items()}
        except (TypeError, ValueError) as err:
            raise ValueError(f"CountHistogram: sizes must be integers ({err})") from None
        if not items:
            raise ValueError("CountHistogram needs at least one size")
        if min(items) < 0:
            raise ValueError(f"sizes must be >= 0, got {min(items)}")
        w = [0] * (max(items) + 1)
        for k, v in items.items():
            w[k] = v
        return cls(tuple(w))

    def to_list(self) -> list:
        """``weights`` as a plain list (JSON)."""
        return list(self.weights)

    def to_mapping(self) -> dict[int, float]:
        """``{size: frequency}`` of the sizes that occur, in ascending order of size."""
        return {k: w for k, w in enumerate(self.weights) if w > 0}

    # -- reading ---------------------------------------------------------------------------------------------------
    @property
    def max_count(self) -> int:
        """The largest size with a positive frequency."""
        return max(k for k, w in enumerate(self.weights) if w > 0)

    def probabilities(self) -> np.ndarray:
        """(K + 1,) float64, the normalised frequencies of sizes 0..K."""
        w = np.asarray(self.weights, dtype=np.float64)
        return w / w.sum()

    def sample(self, num: int, generator: torch.Generator | None = None) -> Tensor:
        """(num,) long sizes drawn with replacement: ``torch.multinomial(weights as float32, num,
        replacement=True, generator=generator)`` (GDSS's draw of node counts; one uniform per size when num > 1),
        on the generator's device."""
        w = torch.tensor(self.weights, dtype=torch.float, device=generator.device if generator is not None else None)
        return torch.multinomial(w, int(num), replacement=True, generator=generator)

    def sample_numpy(self, num: int, rng: np.random.Generator) -> np.ndarray:
        """(num,) int64 sizes drawn with ``rng.choice(sizes, size=num, p=frequencies / sum)`` over the sizes that
        occur in ascending order (the draw of the crystals checkpoints, which seed a numpy generator)."""
        m = self.to_mapping()
        ks = np.asarray(list(m), dtype=np.int64)
        p = np.asarray(list(m.values()), dtype=np.float64)
        return rng.choice(ks, size=int(num), p=p / p.sum())
