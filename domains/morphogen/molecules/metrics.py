"""Molecule metrics as GDSS reports them, each a pure function plus the accumulating :class:`MoleculeMetrics`:
validity without correction (fraction of samples whose generated valences RDKit accepts), connected (valid without
correction and one fragment as generated: GDSS's validity allows fragments, so this is reported beside it), validity
after correction, uniqueness (unique canonical SMILES among valid), novelty (fraction of the unique valid SMILES
absent from the training set, MOSES' definition), FCD against the test set (:mod:`.frechet`) and NSPDK MMD
(:mod:`.nspdk`)."""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Iterable, Sequence

from morphogen.molecules.valency import DecodedMolecule


@dataclass
class MoleculeScores:
    """Fractions in [0, 1] (FCD and NSPDK are distances; None when not computed). ``connected`` is the share valid
    without correction and in one fragment (<= ``validity_without_correction``)."""

    num_samples: int
    validity_without_correction: float
    connected: float
    validity: float
    uniqueness: float
    novelty: float | None = None
    fcd: float | None = None
    nspdk_mmd: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def validity_without_correction(decoded: Sequence[DecodedMolecule]) -> float:
    return sum(d.valid_without_correction for d in decoded) / max(len(decoded), 1)


def validity(decoded: Sequence[DecodedMolecule]) -> float:
    """Fraction with a molecule after valency correction and largest-fragment selection."""
    return sum(bool(d.smiles) for d in decoded) / max(len(decoded), 1)


def connected_fraction(decoded: Sequence[DecodedMolecule]) -> float:
    """Fraction valid without correction and in one fragment as generated."""
    return sum(d.connected for d in decoded) / max(len(decoded), 1)


def uniqueness(valid_smiles: Sequence[str]) -> float:
    """|set(valid)| / |valid| (canonical SMILES)."""
    return len(set(valid_smiles)) / max(len(valid_smiles), 1)


def novelty(valid_smiles: Sequence[str], train_smiles: Iterable[str]) -> float:
    """|set(valid) - train| / |set(valid)|; both canonicalised by the caller."""
    gen = set(valid_smiles)
    return len(gen - set(train_smiles)) / max(len(gen), 1)


def nspdk_mmd_smiles(ref_smiles: Sequence[str], gen_smiles: Sequence[str]) -> float:
    """NSPDK MMD between two SMILES lists (GDSS's molecule graphs); the reference graphs are built once per
    process and list."""
    from morphogen.molecules.convert import smiles_to_nx
    from morphogen.molecules.nspdk import nspdk_mmd

    key = hashlib.sha1("\n".join(ref_smiles).encode()).hexdigest()
    if key not in _NSPDK_REFERENCES:
        _NSPDK_REFERENCES[key] = smiles_to_nx(ref_smiles)
    return nspdk_mmd(_NSPDK_REFERENCES[key], smiles_to_nx(gen_smiles))


_NSPDK_REFERENCES: dict = {}  # hash of a reference SMILES list -> its networkx graphs (the same list object each
                              # time, so that nspdk_mmd's reference-matrix cache hits too)


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
        scores = MoleculeScores(len(self.decoded), validity_without_correction(self.decoded),
                                connected_fraction(self.decoded), validity(self.decoded), uniqueness(valid))
        if self.train is not None:
            scores.novelty = novelty(valid, self.train)
        if self.test is not None and valid:
            if self.with_fcd:
                from morphogen.molecules.frechet import fcd

                scores.fcd = fcd(valid, self.test)
            if self.with_nspdk:
                scores.nspdk_mmd = nspdk_mmd_smiles(self.test, valid)
        return scores
