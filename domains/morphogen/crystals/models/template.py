"""The fixed cubic perovskite template: a naive baseline of crystal structure prediction on Perov-5.

Every ABX3-type composition of 5 atoms is placed on the ideal cubic perovskite of lattice constant a = 4.0 A:
the A site at the corner (0, 0, 0) (12-fold coordinated), the B site at the body centre (1/2, 1/2, 1/2) (octahedral)
and three anion sites at the face centres (1/2, 1/2, 0), (1/2, 0, 1/2), (0, 1/2, 1/2). ``template_structure``
assigns atoms in order of Pauling electronegativity: the least electronegative atom to A, the next to B, the
remaining three (the anions) to the face centres in increasing order (``swap_ab=True`` exchanges A and B).
``template_assignments`` lists every assignment distinct up to the template's symmetry, for the
best-of-assignments variant: the 3-fold axis along [111] permutes the three face centres and fixes A and B, so an
assignment is fixed by the atoms on A and on B (at most 5 x 4 = 20 structures instead of 5! = 120).
StructureMatcher scales volumes before matching, so the value of a matters only for validity and pictures.
"""
from __future__ import annotations

import itertools
from typing import Sequence

import numpy as np

PEROVSKITE_SITES = np.array(
    [[0.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [0.0, 0.5, 0.5]], dtype=np.float64
)


def _check(atomic_numbers: Sequence[int]) -> list[int]:
    z = [int(v) for v in atomic_numbers]
    if len(z) != 5:
        raise ValueError(f"the perovskite template needs a 5-atom composition (ABX3), got {len(z)} atoms")
    return z


def _electronegativity(z: int) -> float:
    from pymatgen.core import Element

    x = Element.from_Z(z).X
    return float(x) if np.isfinite(x) else 0.0


def _structure(ordered: Sequence[int], a: float):
    from pymatgen.core import Lattice, Structure

    return Structure(Lattice.cubic(a), list(ordered), PEROVSKITE_SITES)


def template_structure(atomic_numbers: Sequence[int], a: float = 4.0, swap_ab: bool = False):
    """The template with atoms placed in order of electronegativity (ties broken by atomic number)."""
    z = sorted(_check(atomic_numbers), key=lambda v: (_electronegativity(v), v))
    if swap_ab:
        z[0], z[1] = z[1], z[0]
    return _structure(z, a)


def template_assignments(atomic_numbers: Sequence[int], a: float = 4.0) -> list:
    """Every assignment of the atoms to the template's sites distinct up to its symmetry (at most 20 Structures)."""
    z = _check(atomic_numbers)
    seen = set()
    for i, j in itertools.permutations(range(5), 2):
        rest = sorted(z[k] for k in range(5) if k not in (i, j))
        seen.add((z[i], z[j], *rest))
    return [_structure(p, a) for p in sorted(seen)]
