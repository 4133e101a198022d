"""Coverage of generated crystals (CDVAE, Xie et al. 2022; DiffCSP and CrysBFN report it the same way).

Each crystal gets two fingerprints:

* structural: the mean over its sites of matminer's ``CrystalNNFingerprint.from_preset("ops")`` (local-environment
  order parameters; 61 numbers);
* compositional: matminer's ``ElementProperty.from_preset("magpie")`` of its composition (132 numbers),
  standardised feature by feature.

With d_S and d_C the Euclidean distances between fingerprints, a reference crystal is *covered* when some generated
crystal is within ``struc_cutoff`` in d_S and within ``comp_cutoff`` in d_C (each distance minimised on its own, as
in CDVAE's ``compute_cov``); COV-R = covered references / references. A generated crystal is *precise* when some
reference is within both cutoffs; COV-P = precise generated crystals / all generated crystals (those whose
fingerprint cannot be computed count in the denominator only). CDVAE's cutoffs: Perov-5 (0.2, 4), Carbon-24
(0.2, 4), MP-20 (0.4, 10) (:data:`COVERAGE_CUTOFFS`).

One difference from CDVAE: CDVAE standardises the Magpie features with 132 fixed means and standard deviations
shipped in its code; here the scaler is fitted on the reference crystals (``comp_scale``: pass your own (means,
stds) to use other constants). The composition cutoff is therefore in units of the reference set's spread.

Needs matminer (``pip install matminer``; not a dependency of the crystals extra); a clear error names it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

COVERAGE_CUTOFFS = {"perov_5": (0.2, 4.0), "carbon_24": (0.2, 4.0), "mp_20": (0.4, 10.0)}


def _matminer():
    try:
        from matminer.featurizers.composition.composite import ElementProperty
        from matminer.featurizers.site.fingerprint import CrystalNNFingerprint
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"coverage metrics need matminer (pip install matminer): {err}") from None
    return CrystalNNFingerprint, ElementProperty


_FEATURIZERS: dict = {}


def _featurizers():
    if not _FEATURIZERS:
        cnn, ep = _matminer()
        _FEATURIZERS["struct"] = cnn.from_preset("ops")
        _FEATURIZERS["comp"] = ep.from_preset("magpie")
    return _FEATURIZERS["struct"], _FEATURIZERS["comp"]


def structure_fingerprint(structure) -> np.ndarray | None:
    """(61,) mean CrystalNN "ops" fingerprint of the sites, or None when it cannot be computed (no structure, a
    featuriser failure: CDVAE counts those crystals as having no fingerprint)."""
    if structure is None:
        return None
    fp, _ = _featurizers()
    try:
        return np.asarray([fp.featurize(structure, i) for i in range(len(structure))], dtype=np.float64).mean(0)
    except Exception:
        return None


def composition_fingerprint(structure) -> np.ndarray | None:
    """(132,) Magpie element-property statistics of the composition, unscaled (None for no structure)."""
    if structure is None:
        return None
    _, ep = _featurizers()
    try:
        return np.asarray(ep.featurize(structure.composition), dtype=np.float64)
    except Exception:
        return None


@dataclass
class CoverageResult:
    """cov_recall, cov_precision (fractions); amsd_* / amcd_*: mean minimum structural / compositional distance
    (recall: over references, precision: over generated crystals with fingerprints); n_generated, n_reference."""

    cov_recall: float
    cov_precision: float
    amsd_recall: float
    amsd_precision: float
    amcd_recall: float
    amcd_precision: float
    n_generated: int
    n_reference: int

    def as_dict(self) -> dict:
        return asdict(self)


def coverage_from_fingerprints(gen_struct: Sequence, gen_comp: Sequence, ref_struct: np.ndarray,
                               ref_comp: np.ndarray, struc_cutoff: float, comp_cutoff: float,
                               comp_scale: tuple[np.ndarray, np.ndarray] | None = None) -> CoverageResult:
    """COV-R / COV-P from fingerprints (see the module docstring).

    Args:
        gen_struct, gen_comp: per generated crystal, (S,) and (C,) arrays or None (no fingerprint).
        ref_struct, ref_comp: (R, S) and (R, C) reference fingerprints.
        comp_scale: (means, stds) of the composition features; None fits them on ``ref_comp`` (a zero std
            counts as 1).
    """
    from scipy.spatial.distance import cdist

    n_gen = len(gen_struct)
    if n_gen == 0 or len(ref_struct) == 0:
        raise ValueError("coverage needs at least one generated and one reference crystal")
    keep = [i for i in range(n_gen) if gen_struct[i] is not None and gen_comp[i] is not None]
    ref_struct, ref_comp = np.asarray(ref_struct, dtype=np.float64), np.asarray(ref_comp, dtype=np.float64)
    if comp_scale is None:
        mean, std = ref_comp.mean(0), ref_comp.std(0)
    else:
        mean, std = (np.asarray(v, dtype=np.float64) for v in comp_scale)
    std = np.where(std > 0, std, 1.0)
    if not keep:
        return CoverageResult(0.0, 0.0, float("nan"), float("nan"), float("nan"), float("nan"), n_gen, len(ref_struct))
    gs = np.stack([gen_struct[i] for i in keep])
    gc = (np.stack([gen_comp[i] for i in keep]) - mean) / std
    rc = (ref_comp - mean) / std
    ds, dc = cdist(gs, ref_struct), cdist(gc, rc)  # (G, R)
    s_rec, s_pre, c_rec, c_pre = ds.min(0), ds.min(1), dc.min(0), dc.min(1)
    recall = float(np.mean((s_rec <= struc_cutoff) & (c_rec <= comp_cutoff)))
    precision = float(np.sum((s_pre <= struc_cutoff) & (c_pre <= comp_cutoff)) / n_gen)
    return CoverageResult(recall, precision, float(s_rec.mean()), float(s_pre.mean()), float(c_rec.mean()),
                          float(c_pre.mean()), n_gen, len(ref_struct))


def coverage(generated: Sequence, reference: Sequence, struc_cutoff: float, comp_cutoff: float,
             comp_scale: tuple[np.ndarray, np.ndarray] | None = None) -> CoverageResult:
    """COV-R / COV-P of generated Structures (None = could not be built) against reference Structures."""
    ref_s = [structure_fingerprint(s) for s in reference]
    ref_c = [composition_fingerprint(s) for s in reference]
    ok = [i for i in range(len(reference)) if ref_s[i] is not None and ref_c[i] is not None]
    if not ok:
        raise ValueError("no reference crystal has a fingerprint")
    return coverage_from_fingerprints([structure_fingerprint(s) for s in generated],
                                      [composition_fingerprint(s) for s in generated],
                                      np.stack([ref_s[i] for i in ok]), np.stack([ref_c[i] for i in ok]),
                                      struc_cutoff, comp_cutoff, comp_scale)
