"""Metrics of crystal structure prediction and generation, computed as CDVAE / DiffCSP / CrysBFN compute them."""
from morphogen.crystals.metrics.coverage import COVERAGE_CUTOFFS, CoverageResult, coverage
from morphogen.crystals.metrics.distributions import (
    GenerationMetrics, GenerationResult, density_wasserstein, generation_metrics, num_elements_wasserstein,
)
from morphogen.crystals.metrics.match import CSPMatch, CSPResult, csp_match, match_rms, structure_matcher
from morphogen.crystals.metrics.validity import (
    ValidityResult, composition_validity, crystal_validity, smact_validity, structure_validity,
)

__all__ = [
    "COVERAGE_CUTOFFS", "CoverageResult", "coverage",
    "CSPMatch", "CSPResult", "GenerationMetrics", "GenerationResult", "ValidityResult", "composition_validity",
    "crystal_validity", "csp_match", "density_wasserstein", "generation_metrics", "match_rms",
    "num_elements_wasserstein", "smact_validity", "structure_matcher", "structure_validity",
]
