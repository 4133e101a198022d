"""Degree, clustering and orbit MMD of generic graphs, computed as GraphRNN / GDSS compute them.

* degree: per graph the degree histogram (``nx.degree_histogram``), normalised to sum 1; kernel Gaussian EMD,
  sigma = 1.
* clustering: per graph the histogram of node clustering coefficients in 100 bins on [0, 1], normalised; Gaussian
  EMD with the ground distance scaled by 1/100 and sigma = 0.1.
* orbit: per graph the mean over nodes of the 15 orbit counts (graphlets up to 4 nodes); kernel Gaussian (RBF on
  the count vectors) with sigma = 30, GDSS's ``orbit: gaussian`` setting.

Gaussian EMD: exp(-W1(p, q)^2 / (2 sigma^2)), W1 the 1-D earth mover's distance between the zero-padded
histograms (ground distance |i - j| / distance_scaling), i.e. the L1 distance between their CDFs. Gaussian TV:
exp(-TV(p, q)^2 / (2 sigma^2)), TV = |p - q|_1 / 2 (used for the larger graphs in GRAN-style evaluations).
The reported value is the biased squared MMD mean k(X, X) + mean k(Y, Y) - 2 mean k(X, Y), diagonals included.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np


def _pad(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = max(len(x), len(y))
    return np.pad(x, (0, n - len(x))), np.pad(y, (0, n - len(y)))


def gaussian_emd(x, y, sigma: float = 1.0, distance_scaling: float = 1.0) -> float:
    x, y = _pad(np.asarray(x, np.float64), np.asarray(y, np.float64))
    emd = np.abs(np.cumsum(x - y)).sum() / distance_scaling
    return float(np.exp(-emd * emd / (2 * sigma * sigma)))


def gaussian_tv(x, y, sigma: float = 1.0, distance_scaling: float = 1.0) -> float:
    x, y = _pad(np.asarray(x, np.float64), np.asarray(y, np.float64))
    tv = np.abs(x - y).sum() / 2.0
    return float(np.exp(-tv * tv / (2 * sigma * sigma)))


def gaussian(x, y, sigma: float = 1.0, distance_scaling: float = 1.0) -> float:
    x, y = _pad(np.asarray(x, np.float64), np.asarray(y, np.float64))
    d2 = float(((x - y) ** 2).sum())
    return float(np.exp(-d2 / (2 * sigma * sigma)))


KERNELS: dict[str, Callable] = {"gaussian_emd": gaussian_emd, "gaussian_tv": gaussian_tv, "gaussian": gaussian}


def mmd(samples1: Sequence, samples2: Sequence, kernel: Callable | str, is_hist: bool = True, **kw) -> float:
    """Biased squared MMD between two lists of vectors (histograms normalised to sum 1 when ``is_hist``)."""
    k = KERNELS[kernel] if isinstance(kernel, str) else kernel
    if is_hist:
        samples1 = [np.asarray(s, np.float64) / max(np.sum(s), 1e-12) for s in samples1]
        samples2 = [np.asarray(s, np.float64) / max(np.sum(s), 1e-12) for s in samples2]

    def disc(a, b):
        return float(np.mean([k(x, y, **kw) for x in a for y in b]))

    return disc(samples1, samples1) + disc(samples2, samples2) - 2 * disc(samples1, samples2)


def degree_histogram(G) -> np.ndarray:
    import networkx as nx

    return np.asarray(nx.degree_histogram(G), np.float64)


def clustering_histogram(G, bins: int = 100) -> np.ndarray:
    import networkx as nx

    coeffs = list(nx.clustering(G).values())
    hist, _ = np.histogram(coeffs, bins=bins, range=(0.0, 1.0))
    return hist.astype(np.float64)


def orbit_vector(G) -> np.ndarray:
    from morphogen.graphs.metrics.orbits import orbit_counts

    return orbit_counts(G).sum(0) / max(G.number_of_nodes(), 1)


def degree_mmd(ref: Sequence, gen: Sequence, kernel: str = "gaussian_emd", sigma: float = 1.0) -> float:
    return mmd([degree_histogram(G) for G in ref], [degree_histogram(G) for G in gen], kernel, sigma=sigma)


def clustering_mmd(ref: Sequence, gen: Sequence, kernel: str = "gaussian_emd", sigma: float = 0.1,
                   bins: int = 100) -> float:
    kw = {"sigma": sigma, "distance_scaling": bins} if kernel == "gaussian_emd" else {"sigma": sigma}
    return mmd([clustering_histogram(G, bins) for G in ref], [clustering_histogram(G, bins) for G in gen], kernel, **kw)


def orbit_mmd(ref: Sequence, gen: Sequence, kernel: str = "gaussian", sigma: float = 30.0) -> float:
    return mmd([orbit_vector(G) for G in ref], [orbit_vector(G) for G in gen], kernel, is_hist=False, sigma=sigma)


@dataclass
class GraphScores:
    """Squared MMDs (lower is better)."""

    num_samples: int
    degree: float
    clustering: float
    orbit: float

    def as_dict(self) -> dict:
        return asdict(self)


class GraphMMD:
    """Accumulates generated networkx graphs; ``compute()`` gives :class:`GraphScores` against the reference.

    Args:
        reference: the test graphs. kernels: per statistic, a name in ``KERNELS`` (GDSS: gaussian_emd,
        gaussian_emd, gaussian).
    """

    def __init__(self, reference: Sequence, degree_kernel: str = "gaussian_emd", clustering_kernel: str = "gaussian_emd",
                 orbit_kernel: str = "gaussian"):
        self.reference, self.generated = list(reference), []
        self.kernels = (degree_kernel, clustering_kernel, orbit_kernel)

    def reset(self) -> None:
        """Forget the generated graphs (the reference and kernels stay)."""
        self.generated = []

    def update(self, graphs: Sequence) -> None:
        self.generated.extend(graphs)

    def compute(self) -> GraphScores:
        r, g = self.reference, self.generated
        return GraphScores(len(g), degree_mmd(r, g, self.kernels[0]), clustering_mmd(r, g, self.kernels[1]),
                           orbit_mmd(r, g, self.kernels[2]))
