"""Structural and compositional validity of a crystal (CDVAE, Xie et al. 2022, section 5; reused by DiffCSP and
CrysBFN).

* structural: every pair of atoms, under periodic boundary conditions (minimum image, pymatgen's
  ``distance_matrix``), is more than 0.5 A apart, and the cell volume is at least 0.1 A^3;
* compositional (SMACT): some assignment of the elements' oxidation states makes the reduced composition charge
  neutral and passes the Pauling electronegativity test (cations less electronegative than anions). As in CDVAE's
  ``smact_validity``: a single-element composition is valid, an all-metal composition (alloy) is valid, the
  stoichiometry is the composition divided by the gcd of its counts and the ratio threshold is its largest count,
  and missing electronegativity data count as passing.

A crystal is valid when both hold.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Sequence

import numpy as np


@dataclass
class ValidityResult:
    """Validity of one crystal."""

    structural: bool
    compositional: bool

    @property
    def valid(self) -> bool:
        return self.structural and self.compositional


def structure_validity(structure, cutoff: float = 0.5, min_volume: float = 0.1) -> bool:
    """True when all periodic interatomic distances exceed ``cutoff`` (A) and the volume is >= ``min_volume``."""
    if not np.isfinite(structure.volume) or structure.volume < min_volume:
        return False
    if len(structure) < 2:
        return True
    d = np.array(structure.distance_matrix, dtype=np.float64)
    np.fill_diagonal(d, np.inf)
    return bool(d.min() > cutoff)


def _neutral_ratios(ox_states, stoichs, threshold):
    import smact

    res = smact.neutral_ratios(ox_states, stoichs=stoichs, threshold=threshold)
    if isinstance(res, tuple) and len(res) == 2 and isinstance(res[0], bool):  # smact < 3 returns (ok, ratios)
        return res[1] if res[0] else []
    return list(res or [])


@lru_cache(maxsize=65536)
def smact_validity(symbols: tuple[str, ...], counts: tuple[int, ...], use_pauling_test: bool = True,
                   include_alloys: bool = True) -> bool:
    """CDVAE's SMACT screen of a composition given as element symbols and (reduced) integer counts."""
    import smact
    from smact.screening import pauling_test

    if len(symbols) != len(counts):
        raise ValueError(f"{len(symbols)} symbols but {len(counts)} counts")
    if len(set(symbols)) == 1:
        return True
    if include_alloys and all(s in smact.metals for s in symbols):
        return True
    space = smact.element_dictionary(symbols)
    elements = [space[s] for s in symbols]
    electronegs = [e.pauling_eneg for e in elements]
    ox_combos = [e.oxidation_states for e in elements]
    threshold = int(max(counts))
    stoichs = [(int(c),) for c in counts]
    for ox_states in itertools.product(*ox_combos):
        if not _neutral_ratios(ox_states, stoichs, threshold):
            continue
        if not use_pauling_test:
            return True
        try:
            ok = pauling_test(ox_states, electronegs)
        except TypeError:  # no electronegativity for some element: CDVAE counts it as passing
            ok = True
        if ok:
            return True
    return False


def composition_validity(atomic_numbers: Sequence[int]) -> bool:
    """SMACT validity of the composition of a cell given by its atomic numbers (reduced by the gcd of counts)."""
    from pymatgen.core import Element

    zs, cnt = np.unique(np.asarray(atomic_numbers, dtype=np.int64), return_counts=True)
    g = math.gcd(*[int(c) for c in cnt]) if len(cnt) else 1
    symbols = tuple(Element.from_Z(int(z)).symbol for z in zs)
    try:
        return smact_validity(symbols, tuple(int(c) // g for c in cnt))
    except Exception:  # CDVAE: any failure of the screen counts as invalid
        return False


def crystal_validity(structure) -> ValidityResult:
    """Both validities of a pymatgen ``Structure`` (None, for a sample that could not be built, is invalid)."""
    if structure is None:
        return ValidityResult(False, False)
    return ValidityResult(structure_validity(structure), composition_validity([s.specie.Z for s in structure]))
