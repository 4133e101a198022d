"""Structure-elucidation metrics, computed as the literature computes them.

- **top-k (ranked)**: the true structure is among the first k ranked candidates; "the same structure" is the same
  InChIKey connectivity layer (its first 14 characters: constitution, ignoring stereochemistry, isotopes and
  protonation), as DiffSpectra and Alberts et al. compare;
- **top-k (any of k samples)**: DiffSpectra's protocol: the truth is among k independent samples (the first k of
  the K drawn, in draw order), whatever the ranking;
- **validity**: the share of samples that are valid molecules;
- **top-1 Tanimoto**: the Tanimoto similarity of Morgan fingerprints (radius 2, 2048 bits) of the top-1 candidate
  and the truth (0 when there is no valid candidate).

Each is a pure function; :class:`TopK` accumulates records (``update`` / ``compute`` / ``reset``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


def connectivity_key(smiles: str) -> str | None:
    """The InChIKey connectivity layer (14 characters) of a SMILES; None when it does not parse."""
    from rdkit import Chem, RDLogger

    RDLogger.DisableLog("rdApp.*")
    mol = Chem.MolFromSmiles(smiles) if smiles else None
    if mol is None:
        return None
    key = Chem.MolToInchiKey(mol)
    return key[:14] if key else None


def topk_hit(candidates: Sequence[str], truth: str, k: int) -> bool:
    """True when the truth's connectivity layer is among the first ``k`` candidates' (SMILES, ranked or drawn)."""
    want = connectivity_key(truth)
    if want is None:
        raise ValueError(f"the true SMILES {truth!r} does not parse")
    return any(connectivity_key(c) == want for c in list(candidates)[:k] if c)


def tanimoto(a: str, b: str) -> float:
    """Morgan (radius 2, 2048 bits) Tanimoto similarity of two SMILES; 0 when either does not parse."""
    from rdkit import Chem, DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    ma, mb = Chem.MolFromSmiles(a) if a else None, Chem.MolFromSmiles(b) if b else None
    if ma is None or mb is None:
        return 0.0
    gen = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=2048)
    return float(DataStructs.TanimotoSimilarity(gen.GetFingerprint(ma), gen.GetFingerprint(mb)))


@dataclass
class TopKResult:
    """Per k: ranked top-k accuracy and any-of-k-samples accuracy; validity; mean top-1 Tanimoto; n records."""

    ranked: dict[int, float]
    any_of_samples: dict[int, float]
    validity: float
    top1_tanimoto: float
    n: int

    def as_dict(self) -> dict:
        return {"n": self.n, "validity": self.validity, "top1_tanimoto": self.top1_tanimoto,
                **{f"top{k}": v for k, v in self.ranked.items()},
                **{f"top{k}_any_of_samples": v for k, v in self.any_of_samples.items()}}


class TopK:
    """Accumulates records: ``update(ranked, samples, truth)`` with the ranked candidate SMILES, the drawn samples'
    SMILES in draw order (None for an invalid sample) and the true SMILES."""

    def __init__(self, ks: tuple[int, ...] = (1, 3, 10)):
        self.ks = tuple(ks)
        self.reset()

    def reset(self) -> None:
        self._ranked, self._any, self._valid, self._tani = {}, {}, [], []

    def update(self, ranked: Sequence[str], samples: Sequence[str | None], truth: str) -> None:
        for k in self.ks:
            self._ranked.setdefault(k, []).append(topk_hit(ranked, truth, k))
            self._any.setdefault(k, []).append(topk_hit([s for s in samples[:k] if s], truth, k))
        self._valid.append(sum(s is not None for s in samples) / max(1, len(samples)))
        self._tani.append(tanimoto(ranked[0], truth) if ranked else 0.0)

    def compute(self) -> TopKResult:
        n = len(self._valid)
        mean = lambda v: float(sum(v) / len(v)) if v else float("nan")  # noqa: E731
        return TopKResult({k: mean(v) for k, v in self._ranked.items()}, {k: mean(v) for k, v in self._any.items()},
                          mean(self._valid), mean(self._tani), n)


def topk(records: Sequence[tuple[Sequence[str], Sequence[str | None], str]], ks=(1, 3, 10)) -> TopKResult:
    """:class:`TopK` over ``(ranked, samples, truth)`` records."""
    acc = TopK(tuple(ks))
    for r in records:
        acc.update(*r)
    return acc.compute()
