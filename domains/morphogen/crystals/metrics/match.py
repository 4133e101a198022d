"""Match rate and RMSE of crystal structure prediction (CDVAE's reconstruction metrics, DiffCSP's CSP metrics).

For each reference structure and each predicted sample, pymatgen's ``StructureMatcher(stol=0.5, angle_tol=10,
ltol=0.3)`` (default ``primitive_cell=True``, ``scale=True``, ``attempt_supercell=False``) decides whether the
two are the same crystal; ``get_rms_dist`` returns the RMS displacement of the matched sites normalised by
(V / N)^(1/3), the cube root of the volume per atom (pymatgen's normalisation, which the papers report as is).

* one sample (DiffCSP ``RecEval``): a pair counts only when the prediction *and* the reference are valid
  (structural and SMACT validity, see :mod:`.validity`); match rate = matched pairs / all references; RMSE = the
  mean over matched pairs.
* best of k (DiffCSP ``RecEvalBatch``): for each reference, the smallest RMS over its valid samples that match
  (reference validity is not required there); match rate and RMSE as above.

A matcher exception counts as no match, as in the reference code.

cRMSE (Martirossyan et al., "All that structure matches does not glitter", 2025): the mean over *all* references
of the RMS distance, an unmatched reference counted at the matcher's site tolerance ``stol`` (0.5), the largest
normalised displacement a match may have. It folds the match rate and the RMSE into one number that a model cannot
improve by matching fewer, easier references: cRMSE = (sum of matched RMS + stol x unmatched) / references.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from morphogen.crystals.metrics.validity import crystal_validity

MATCHER_TOLERANCES = {"stol": 0.5, "angle_tol": 10.0, "ltol": 0.3}


def structure_matcher(stol: float = 0.5, angle_tol: float = 10.0, ltol: float = 0.3):
    """pymatgen's ``StructureMatcher`` with the literature's tolerances."""
    from pymatgen.analysis.structure_matcher import StructureMatcher

    return StructureMatcher(stol=stol, angle_tol=angle_tol, ltol=ltol)


def match_rms(pred, ref, matcher=None) -> float | None:
    """Normalised RMS distance of a matched pair, or None when they do not match (or cannot be compared)."""
    if pred is None or ref is None:
        return None
    matcher = matcher or structure_matcher()
    try:
        out = matcher.get_rms_dist(pred, ref)
    except Exception:
        return None
    return None if out is None else float(out[0])


@dataclass
class CSPResult:
    """match_rate: matched references / references; rmse: mean normalised RMS over matched ones (nan if none);
    crmse: the mean over all references with unmatched ones counted at ``tolerance`` (module docstring);
    k: samples per reference; n: number of references; rms: (n,) per-reference RMS (nan = no match);
    tolerance: the matcher's stol."""

    match_rate: float
    rmse: float
    k: int
    n: int
    rms: np.ndarray = field(repr=False)
    tolerance: float = MATCHER_TOLERANCES["stol"]

    @property
    def crmse(self) -> float:
        if not len(self.rms):
            return float("nan")
        return float(np.where(np.isfinite(self.rms), self.rms, self.tolerance).mean())

    def as_dict(self) -> dict:
        return {"match_rate": self.match_rate, "rmse": self.rmse, "crmse": self.crmse, "k": self.k, "n": self.n}


class CSPMatch:
    """Accumulates (samples, reference) pairs; :meth:`compute` gives the :class:`CSPResult`.

    Args:
        require_ref_valid: demand a valid reference too (DiffCSP does for one sample, not for best of k; None
            follows that rule: True when every reference has exactly one sample).
        stol, angle_tol, ltol: matcher tolerances.
    """

    def __init__(self, require_ref_valid: bool | None = None, stol: float = 0.5, angle_tol: float = 10.0,
                 ltol: float = 0.3):
        self.matcher = structure_matcher(stol, angle_tol, ltol)
        self.require_ref_valid = require_ref_valid
        self.reset()

    def reset(self) -> None:
        """Forget the references and samples seen (options and tolerances stay)."""
        self.best: list[float] = []
        self.ks: list[int] = []
        self._ref_valid: list[bool] = []

    def update(self, samples: Sequence, reference) -> float | None:
        """Add one reference with its samples (pymatgen Structures; None = a sample that could not be built).
        Returns the best RMS among valid matching samples (None if none)."""
        rms = [match_rms(s, reference, self.matcher) if crystal_validity(s).valid else None for s in samples]
        found = [r for r in rms if r is not None]
        self.best.append(min(found) if found else float("nan"))
        self.ks.append(len(samples))
        self._ref_valid.append(crystal_validity(reference).valid)
        return min(found) if found else None

    def compute(self) -> CSPResult:
        if not self.best:
            raise ValueError("CSPMatch.compute() before any update()")
        rms = np.asarray(self.best, dtype=np.float64)
        k = max(self.ks)
        need_ref = self.require_ref_valid if self.require_ref_valid is not None else k == 1
        if need_ref:
            rms = np.where(np.asarray(self._ref_valid), rms, np.nan)
        matched = np.isfinite(rms)
        return CSPResult(float(matched.mean()), float(rms[matched].mean()) if matched.any() else float("nan"),
                         k, len(rms), rms, float(self.matcher.stol))


def csp_match(samples: Sequence[Sequence], references: Sequence, require_ref_valid: bool | None = None) -> CSPResult:
    """Match rate and RMSE of ``samples[i]`` (a list of k predicted Structures) against ``references[i]``."""
    if len(samples) != len(references):
        raise ValueError(f"{len(samples)} sample lists for {len(references)} references")
    acc = CSPMatch(require_ref_valid)
    for s, r in zip(samples, references):
        acc.update(s, r)
    return acc.compute()
