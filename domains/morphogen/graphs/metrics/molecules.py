"""Molecule metrics as GDSS reports them: validity without correction (fraction of samples whose generated
valences RDKit accepts), validity after correction, uniqueness (unique canonical SMILES among valid), novelty
(fraction of the unique valid SMILES absent from the training set, MOSES' definition), FCD against the test set
(the ``fcd`` package, ChemNet) and NSPDK MMD (see :mod:`.nspdk`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

from morphogen.graphs.metrics.valency import DecodedMolecule


@dataclass
class MoleculeScores:
    """Fractions in [0, 1] (FCD and NSPDK are distances; None when not computed)."""

    num_samples: int
    validity_without_correction: float
    validity: float
    uniqueness: float
    novelty: float | None = None
    fcd: float | None = None
    nspdk_mmd: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def canonical(smiles: str) -> str | None:
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    m = Chem.MolFromSmiles(smiles)
    return Chem.MolToSmiles(m) if m is not None else None


def validity_without_correction(decoded: Sequence[DecodedMolecule]) -> float:
    return sum(d.valid_without_correction for d in decoded) / max(len(decoded), 1)


def validity(decoded: Sequence[DecodedMolecule]) -> float:
    return sum(bool(d.smiles) for d in decoded) / max(len(decoded), 1)


def uniqueness(valid_smiles: Sequence[str]) -> float:
    """|set(valid)| / |valid| (canonical SMILES)."""
    return len(set(valid_smiles)) / max(len(valid_smiles), 1)


def novelty(valid_smiles: Sequence[str], train_smiles: Iterable[str]) -> float:
    """|set(valid) - train| / |set(valid)|; both canonicalised by the caller."""
    gen = set(valid_smiles)
    return len(gen - set(train_smiles)) / max(len(gen), 1)


_REFERENCE_CACHE: dict = {}  # (kind, hash of the reference SMILES) -> statistics, so repeated evaluations against
                              # one test set (several samplers, several checkpoints) compute them once per process


def _reference_key(kind: str, smiles: Sequence[str]) -> tuple[str, str]:
    import hashlib

    return kind, hashlib.sha1("\n".join(smiles).encode()).hexdigest()


def _chemnet_stats(smiles: Sequence[str], model) -> tuple:
    import numpy as np
    from fcd import get_predictions

    act = get_predictions(model, list(smiles))
    return np.mean(act, axis=0), np.cov(act.T)


def fcd(gen_smiles: Sequence[str], ref_smiles: Sequence[str]) -> float:
    """Frechet ChemNet Distance (``fcd`` package: ChemNet activations, Gaussian fit, Frechet distance) between two
    SMILES lists; the reference statistics are cached per process."""
    import torch
    from fcd import calculate_frechet_distance, load_ref_model

    if not gen_smiles or not ref_smiles:
        raise ValueError("FCD needs non-empty generated and reference SMILES lists")
    torch.set_num_threads(max(torch.get_num_threads(), 1))
    model = _REFERENCE_CACHE.get(("chemnet", ""))
    if model is None:
        model = _REFERENCE_CACHE[("chemnet", "")] = load_ref_model()
    key = _reference_key("fcd", ref_smiles)
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE[key] = _chemnet_stats(ref_smiles, model)
    mu_r, sig_r = _REFERENCE_CACHE[key]
    mu_g, sig_g = _chemnet_stats(gen_smiles, model)
    return float(calculate_frechet_distance(mu1=mu_g, sigma1=sig_g, mu2=mu_r, sigma2=sig_r))


class MoleculeMetrics:
    """Accumulates decoded samples; :meth:`compute` returns :class:`MoleculeScores`.

    Args:
        train_smiles: canonical training SMILES for novelty (None skips novelty).
        test_smiles: reference SMILES for FCD and NSPDK (None skips both).
        with_fcd, with_nspdk: compute those (FCD loads ChemNet; NSPDK is O(n^2) in the set sizes).
    """

    def __init__(self, train_smiles: Iterable[str] | None = None, test_smiles: Sequence[str] | None = None,
                 with_fcd: bool = True, with_nspdk: bool = True):
        self.train = set(train_smiles) if train_smiles is not None else None
        self.test = list(test_smiles) if test_smiles is not None else None
        self.with_fcd, self.with_nspdk = with_fcd, with_nspdk
        self.decoded: list[DecodedMolecule] = []

    def reset(self) -> None:
        """Forget the decoded samples (training and test sets stay)."""
        self.decoded = []

    def update(self, decoded: Iterable[DecodedMolecule]) -> None:
        self.decoded.extend(decoded)

    def compute(self) -> MoleculeScores:
        valid = [d.smiles for d in self.decoded if d.smiles]
        scores = MoleculeScores(len(self.decoded), validity_without_correction(self.decoded), validity(self.decoded),
                                uniqueness(valid))
        if self.train is not None:
            scores.novelty = novelty(valid, self.train)
        if self.test is not None and valid:
            if self.with_fcd:
                scores.fcd = fcd(valid, self.test)
            if self.with_nspdk:
                from morphogen.graphs.metrics.nspdk import nspdk_mmd, smiles_to_nx

                key = _reference_key("nspdk-graphs", self.test)
                if key not in _REFERENCE_CACHE:
                    _REFERENCE_CACHE[key] = smiles_to_nx(self.test)
                scores.nspdk_mmd = nspdk_mmd(_REFERENCE_CACHE[key], smiles_to_nx(valid))
        return scores
