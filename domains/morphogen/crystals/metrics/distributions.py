"""Distribution metrics of generated crystals (CDVAE's ``GenEval``): validity rates, and the 1-D Wasserstein
distances between the generated and the reference distributions of density (g/cm^3, pymatgen's
``Structure.density``) and of the number of distinct elements, computed over *valid* generated crystals with
``scipy.stats.wasserstein_distance``. (CDVAE subsamples 1,000 valid crystals of 10,000 first; pass them in.)
With ``coverage_cutoffs`` (struc, comp), also COV-R / COV-P over all generated crystals (:mod:`.coverage`,
matminer needed; CDVAE's cutoffs per dataset in :data:`morphogen.crystals.metrics.coverage.COVERAGE_CUTOFFS`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from morphogen.crystals.metrics.validity import crystal_validity


def density_wasserstein(generated: Sequence, reference: Sequence) -> float:
    """W1 distance between the densities (g/cm^3) of two lists of Structures."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance([s.density for s in generated], [s.density for s in reference]))


def num_elements_wasserstein(generated: Sequence, reference: Sequence) -> float:
    """W1 distance between the numbers of distinct elements of two lists of Structures."""
    from scipy.stats import wasserstein_distance

    def n_el(s):
        return len({site.specie.Z for site in s})

    return float(wasserstein_distance([n_el(s) for s in generated], [n_el(s) for s in reference]))


@dataclass
class GenerationResult:
    """Fractions over all generated samples (unbuildable ones count as invalid), and the W1 distances computed on
    the valid ones (nan when none is valid)."""

    structural_validity: float
    compositional_validity: float
    validity: float
    wdist_density: float
    wdist_num_elements: float
    n: int
    cov_recall: float | None = None
    cov_precision: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class GenerationMetrics:
    """Accumulates generated Structures (None = could not be built); :meth:`compute` against the reference
    Structures given here (the accumulating form of :func:`generation_metrics`)."""

    def __init__(self, reference: Sequence, coverage_cutoffs: tuple[float, float] | None = None):
        self.reference = list(reference)
        self.coverage_cutoffs = coverage_cutoffs
        self.reset()

    def reset(self) -> None:
        """Forget the generated structures (the reference stays)."""
        self.structures: list = []
        self.validity: list = []

    def update(self, structures: Sequence) -> None:
        for s in structures:
            self.structures.append(s)
            self.validity.append(crystal_validity(s))

    def compute(self) -> GenerationResult:
        if not self.structures:
            raise ValueError("GenerationMetrics.compute() before any update()")
        return _generation_result(self.structures, self.validity, self.reference, self.coverage_cutoffs)


def _generation_result(structures: Sequence, validity: Sequence, reference: Sequence,
                       coverage_cutoffs: tuple[float, float] | None = None) -> GenerationResult:
    valid = [s for s, v in zip(structures, validity) if v.valid]
    cov = None
    if coverage_cutoffs is not None:
        from morphogen.crystals.metrics.coverage import coverage

        cov = coverage(structures, reference, *coverage_cutoffs)
    return GenerationResult(
        structural_validity=float(np.mean([v.structural for v in validity])),
        compositional_validity=float(np.mean([v.compositional for v in validity])),
        validity=float(np.mean([v.valid for v in validity])),
        wdist_density=density_wasserstein(valid, reference) if valid else float("nan"),
        wdist_num_elements=num_elements_wasserstein(valid, reference) if valid else float("nan"),
        n=len(structures),
        cov_recall=None if cov is None else cov.cov_recall,
        cov_precision=None if cov is None else cov.cov_precision,
    )


def generation_metrics(generated: Sequence, reference: Sequence,
                       coverage_cutoffs: tuple[float, float] | None = None) -> GenerationResult:
    """Validity fractions of ``generated`` Structures (None = could not be built), the W1 distances of the valid
    ones to ``reference`` and, with ``coverage_cutoffs``, COV-R / COV-P (CDVAE's generation metrics)."""
    if not generated:
        raise ValueError("generation_metrics needs at least one generated structure")
    return _generation_result(list(generated), [crystal_validity(s) for s in generated], reference, coverage_cutoffs)
