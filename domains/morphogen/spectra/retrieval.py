"""The retrieval baseline of NMR structure elucidation: answer with the training molecules whose measured shift
lists look most like the query's.

Each shift list becomes a smooth curve on a fixed ppm grid, a sum of unit Gaussians at its shifts (13C: 0-240 ppm,
sigma 1.5 ppm; 1H: 0-14 ppm, sigma 0.15 ppm, widths of the order of the spread between solvents and field strengths),
and two spectra are compared by the cosine of their curves. A molecule's similarity to a query is the mean cosine
over the nuclei both have. With a known formula only library molecules of that formula are candidates.

Retrieval cannot name a structure its library lacks: against a split by structure (every record of a structure on
one side) its exact top-k accuracy is zero by construction, and its mean Tanimoto similarity says how close the
nearest known molecules are. It is the bar a generative model must clear by proposing new structures.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: nucleus -> (low ppm, high ppm, grid step, Gaussian sigma)
GRIDS = {"c13": (0.0, 240.0, 0.25, 1.5), "h1": (0.0, 14.0, 0.02, 0.15)}


def shift_curve(shifts: Sequence[float], nucleus: str) -> np.ndarray:
    """(G,) unit-norm sum of Gaussians at ``shifts`` on the nucleus' grid (:data:`GRIDS`); zeros for no shifts."""
    lo, hi, step, sigma = GRIDS[nucleus]
    grid = np.arange(lo, hi + step / 2, step)
    s = np.asarray(list(shifts), dtype=np.float64)
    if s.size == 0:
        return np.zeros_like(grid)
    curve = np.exp(-0.5 * ((grid[:, None] - s[None, :]) / sigma) ** 2).sum(1)
    n = np.linalg.norm(curve)
    return curve / n if n > 0 else curve


@dataclass
class Hit:
    """One retrieved library molecule: its ``smiles``, ``score`` (mean cosine, 0..1) and library ``index``."""

    smiles: str
    score: float
    index: int


class SpectralLibrary:
    """Molecules with measured shift lists (``smiles``, ``c13``, ``h1`` per entry; ``formulas`` optional, hydrogens
    included) searchable by spectral similarity (see the module docstring)."""

    def __init__(self, smiles: Sequence[str], c13: Sequence[Sequence[float] | None],
                 h1: Sequence[Sequence[float] | None], formulas: Sequence[str | None] | None = None):
        if not (len(smiles) == len(c13) == len(h1)):
            raise ValueError(f"{len(smiles)} SMILES, {len(c13)} 13C and {len(h1)} 1H lists: one of each per molecule")
        if len(smiles) == 0:
            raise ValueError("an empty library")
        self.smiles = list(smiles)
        self.formulas = list(formulas) if formulas is not None else [None] * len(smiles)
        self._curves = {}
        self._has = {}
        for nuc, lists in (("c13", c13), ("h1", h1)):
            self._has[nuc] = np.asarray([x is not None and len(x) > 0 for x in lists])
            self._curves[nuc] = np.stack([shift_curve(x or [], nuc) for x in lists])

    @classmethod
    def from_molecules(cls, molecules) -> "SpectralLibrary":
        """A library of :class:`~morphogen.spectra.data.molecules.SpectrumMolecule` (their formulas computed)."""
        from morphogen.spectra.inputs import formula_of_smiles

        return cls([m.smiles for m in molecules], [m.c13 for m in molecules], [m.h1 for m in molecules],
                   [formula_of_smiles(m.smiles, m.where) for m in molecules])

    def __len__(self) -> int:
        return len(self.smiles)

    def scores(self, c13: Sequence[float] | None = None, h1: Sequence[float] | None = None) -> np.ndarray:
        """(len,) mean cosine of the query against every library molecule, over the nuclei both have (0 where
        they share none)."""
        total, count = np.zeros(len(self)), np.zeros(len(self))
        for nuc, q in (("c13", c13), ("h1", h1)):
            if q is None or len(q) == 0:
                continue
            cos = self._curves[nuc] @ shift_curve(q, nuc)
            has = self._has[nuc]
            total += np.where(has, cos, 0.0)
            count += has
        if not count.any():
            raise ValueError("the query has no shifts of a nucleus the library holds")
        return np.divide(total, count, out=np.zeros_like(total), where=count > 0)

    def query(self, c13: Sequence[float] | None = None, h1: Sequence[float] | None = None,
              formula: str | None = None, k: int = 10) -> list[Hit]:
        """The ``k`` most similar molecules (best first; ties by library order), only those of ``formula`` if given."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        s = self.scores(c13, h1)
        idx = np.arange(len(self))
        if formula is not None:
            idx = idx[np.asarray([f == formula for f in self.formulas])]
        order = idx[np.argsort(-s[idx], kind="stable")][:k]
        return [Hit(self.smiles[i], float(s[i]), int(i)) for i in order]
