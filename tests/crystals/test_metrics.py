"""Metrics on hand-made structures with known answers."""
from __future__ import annotations

import numpy as np
import pytest

from morphogen.crystals.metrics import (
    GenerationMetrics, composition_validity, csp_match, density_wasserstein, generation_metrics, match_rms,
    num_elements_wasserstein,
    smact_validity, structure_validity,
)
from morphogen.crystals.models.template import template_assignments, template_structure

from .crystal_helpers import perovskite, rocksalt


def test_match_is_invariant_to_supercell_permutation_translation():
    s = perovskite()
    sup = s.copy()
    sup.make_supercell([2, 1, 1])
    assert match_rms(sup, s) == pytest.approx(0.0, abs=1e-6)
    perm = s.copy()
    perm = type(s)(s.lattice, [site.specie for site in s][::-1], s.frac_coords[::-1])
    assert match_rms(perm, s) == pytest.approx(0.0, abs=1e-6)
    moved = s.copy()
    moved.translate_sites(list(range(5)), [0.13, 0.7, 0.21], frac_coords=True)
    assert match_rms(moved, s) == pytest.approx(0.0, abs=1e-6)


def test_small_and_large_distortions():
    s = perovskite()
    d = s.copy()
    d.translate_sites([0], [0.05, 0, 0], frac_coords=True)  # 0.195 A displacement of one atom
    rms = match_rms(d, s)
    # pymatgen normalises by (V/N)^(1/3); the matcher removes the mean shift: 4/5 of 0.05 a for one atom,
    # 1/5 of it for the four others
    expected = np.sqrt((0.04**2 + 4 * 0.01**2) / 5) * 3.9 / (3.9**3 / 5) ** (1 / 3)
    assert rms == pytest.approx(expected, rel=1e-3)
    assert match_rms(perovskite(a_el="Ti", b_el="Sr"), s) is None  # A and B exchanged: another crystal
    assert match_rms(perovskite(b_el="Zr"), s) is None  # other composition


def test_csp_match_rate_and_best_of_k():
    ref = perovskite()
    wrong = perovskite(a_el="Ti", b_el="Sr")
    res1 = csp_match([[ref], [wrong]], [ref, ref])
    assert res1.match_rate == 0.5 and res1.rmse == pytest.approx(0.0, abs=1e-6) and res1.k == 1
    resk = csp_match([[wrong, ref], [wrong, None]], [ref, ref])
    assert resk.match_rate == 0.5 and resk.k == 2


def test_structural_validity_is_periodic():
    from pymatgen.core import Lattice, Structure

    close = Structure(Lattice.cubic(10.0), ["C", "C"], [[0.01, 0, 0], [0.99, 0, 0]])  # 0.2 A across the boundary
    assert not structure_validity(close)
    apart = Structure(Lattice.cubic(10.0), ["C", "C"], [[0.0, 0, 0], [0.5, 0, 0]])
    assert structure_validity(apart) and structure_validity(rocksalt())


def test_smact_validity_known_answers():
    assert composition_validity([11, 17])  # NaCl
    assert not composition_validity([11, 17, 17])  # NaCl2: no neutral assignment with one state per element
    assert composition_validity([38, 22, 8, 8, 8])  # SrTiO3
    assert composition_validity([6] * 8)  # one element
    assert composition_validity([26, 28])  # FeNi: an alloy (all metals) counts as valid
    assert smact_validity(("Na", "Cl"), (1, 1)) and not smact_validity(("Na", "F"), (1, 2))


def test_wasserstein_known_answers():
    from pymatgen.core import Lattice, Structure

    one = Structure(Lattice.cubic(4.0), ["C"], [[0, 0, 0]])
    two = Structure(Lattice.cubic(4.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    three = perovskite()
    assert num_elements_wasserstein([one, two], [two, three]) == pytest.approx(1.0)
    assert density_wasserstein([two, three], [three, two]) == pytest.approx(0.0)
    big = Structure(Lattice.cubic(8.0), ["C"], [[0, 0, 0]])
    assert density_wasserstein([one], [big]) == pytest.approx(one.density - big.density)
    acc = GenerationMetrics([two])
    acc.update([two, None])
    res = acc.compute()
    assert res.validity == 0.5 and res.wdist_density == pytest.approx(0.0)


def test_perovskite_template():
    ref = perovskite()  # Sr (0.95) on A, Ti (1.54) on B, O on the faces: the electronegativity order
    assert match_rms(template_structure([38, 22, 8, 8, 8]), ref) == pytest.approx(0.0, abs=1e-6)
    assert match_rms(template_structure([38, 22, 8, 8, 8], swap_ab=True), ref) is None
    assert len(template_assignments([38, 22, 8, 8, 8])) == 7  # ordered (A, B) pairs of distinct species
    assert len(template_assignments([38, 22, 8, 9, 7])) == 20
    with pytest.raises(ValueError, match="5-atom"):
        template_structure([11, 17])


def test_generation_metrics_accumulate_like_the_pure_function():
    from pymatgen.core import Lattice, Structure

    from morphogen.testing import assert_metric

    salt, perov = rocksalt(), perovskite()
    carbon = Structure(Lattice.cubic(4.0), ["C"], [[0, 0, 0]])
    first, second = [salt, None], [carbon]
    assert_metric(lambda: GenerationMetrics([perov, salt]), [(first,), (second,)],
                  generation_metrics(first + second, [perov, salt]))
