"""Distances between discrete samples and the exact target of an oracle test (pure functions, float results)."""
from __future__ import annotations

import math

import torch
from torch import Tensor


def categorical_frequencies(samples: Tensor, num_classes: int) -> Tensor:
    """Empirical class frequencies (*S, K) float64 of ``samples`` (N, *S) long in [0, K-1]."""
    if samples.dtype != torch.long:
        raise ValueError(f"samples must be class indices (long), got {samples.dtype}")
    if samples.numel() and (samples.min() < 0 or samples.max() >= num_classes):
        raise ValueError(f"samples hold classes outside [0, {num_classes - 1}]")
    return torch.nn.functional.one_hot(samples, num_classes).to(torch.float64).mean(dim=0)


def categorical_tv(samples: Tensor, probs: Tensor) -> float:
    """Mean over positions of the total variation 1/2 sum_k |freq_k - probs_k|.

    Args:
        samples: (N, *S) long.
        probs: (*S, K) target probabilities.
    """
    probs = torch.as_tensor(probs, dtype=torch.float64)
    freq = categorical_frequencies(samples, probs.shape[-1])
    if freq.shape != probs.shape:
        raise ValueError(f"samples give frequencies {tuple(freq.shape)}, probs is {tuple(probs.shape)}")
    return float(0.5 * (freq - probs.to(freq.device)).abs().sum(dim=-1).mean())


def categorical_tv_noise(probs: Tensor, n: int) -> float:
    """Expected :func:`categorical_tv` of n exact draws (normal approximation: E|f - p| = sqrt(2 p (1 - p) / (pi n))).

    The floor a perfect sampler sits on; bounds of oracle tests are stated as multiples of it.
    """
    p = torch.as_tensor(probs, dtype=torch.float64)
    per_class = torch.sqrt(2.0 * p * (1.0 - p) / (math.pi * n))
    return float(0.5 * per_class.sum(dim=-1).mean())


def bernoulli_max_error(samples: Tensor, probs: Tensor) -> float:
    """max over entries of |mean of samples - probs| for binary ``samples`` (N, *S) and ``probs`` (*S)."""
    probs = torch.as_tensor(probs, dtype=torch.float64)
    freq = samples.to(torch.float64).mean(dim=0)
    if freq.shape != probs.shape:
        raise ValueError(f"samples give frequencies {tuple(freq.shape)}, probs is {tuple(probs.shape)}")
    return float((freq - probs.to(freq.device)).abs().max())
