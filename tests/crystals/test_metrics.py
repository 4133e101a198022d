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


def test_crmse_counts_unmatched_references_at_the_tolerance():
    ref = perovskite()
    moved = ref.copy()
    moved.translate_sites([0], [0.05, 0, 0], frac_coords=True)
    wrong = perovskite(a_el="Ti", b_el="Sr")
    res = csp_match([[ref], [moved], [wrong], [None]], [ref, ref, ref, ref])
    r = match_rms(moved, ref)
    assert res.match_rate == 0.5
    assert res.rmse == pytest.approx(r / 2, abs=1e-6)  # mean over the two matched: 0 and r
    assert res.crmse == pytest.approx((0.0 + r + 0.5 + 0.5) / 4, abs=1e-6)
    assert res.as_dict()["crmse"] == res.crmse
    assert csp_match([[wrong]], [ref]).crmse == pytest.approx(0.5)  # nothing matched: the tolerance itself


def test_polymorph_grouped_split_keeps_groups_together():
    from morphogen.crystals.data import composition_key, grouped_split_indices, split_indices

    rng = np.random.default_rng(1)
    groups = [int(g) for g in rng.integers(0, 300, size=1000)]
    s = grouped_split_indices(groups, (0.8, 0.1, 0.1), seed=3)
    parts = [set(np.asarray(groups)[p].tolist()) for p in (s.train, s.val, s.test)]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert sorted(np.concatenate([s.train, s.val, s.test]).tolist()) == list(range(1000))
    biggest = max(np.bincount(groups))
    assert 100 <= len(s.val) < 100 + biggest and 100 <= len(s.test) < 100 + biggest
    again = grouped_split_indices(groups, (0.8, 0.1, 0.1), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((s.train, s.val, s.test), (again.train, again.val, again.test)))
    single = grouped_split_indices(list(range(50)), (0.8, 0.1, 0.1), seed=0)  # singleton groups: sizes as ungrouped
    assert (len(single.train), len(single.val), len(single.test)) == tuple(
        len(p) for p in (split_indices(50).train, split_indices(50).val, split_indices(50).test))
    assert composition_key([38, 22, 8, 8, 8]) == composition_key([38, 38, 22, 22, 8, 8, 8, 8, 8, 8]) == (
        (8, 3), (22, 1), (38, 1))


def test_grouped_split_from_a_preset(tmp_path):
    from morphogen.bundle.preset import Preset
    from morphogen.crystals.data import composition_key
    from morphogen.crystals.data.sources import DataConfig, load_splits
    from morphogen.utils.typed import TypedConfigError

    from .crystal_helpers import write_cdvae_csv

    structs = [perovskite(a_el=a, b_el=b, a=3.9 + 0.01 * i) for i, (a, b) in
               enumerate([("Sr", "Ti"), ("Ti", "Sr"), ("Ba", "Zr"), ("Zr", "Ba"), ("Ca", "Ti"), ("K", "Nb")] * 2)]
    pool = write_cdvae_csv(tmp_path / "pool.csv", structs)
    data = {"niggli": True, "primitive": False, "split": {"fractions": [0.5, 0.25, 0.25], "seed": 0,
                                                          "group_by": "composition"}}
    preset = Preset("p", "crystals", None, data, {"class": "x"}, None, None, {})
    sp = load_splits(preset, pool)
    keys = [{composition_key(r.atomic_numbers) for r in part} for part in (sp.train, sp.val, sp.test)]
    assert not (keys[0] & keys[1]) and not (keys[0] & keys[2]) and not (keys[1] & keys[2])
    with pytest.raises(TypedConfigError, match="group_by"):
        DataConfig.from_mapping({"split": {"group_by": "formula"}}, "p.yaml: data")


def test_coverage_from_fingerprints_known_answers():
    from morphogen.crystals.metrics.coverage import coverage_from_fingerprints

    ref_s = np.array([[0.0, 0.0], [1.0, 0.0]])
    ref_c = np.array([[0.0], [10.0]])  # fitted scale: mean 5, std 5, so standardised -1 and +1
    gen_s = [np.array([0.05, 0.0]), np.array([3.0, 0.0]), None]
    gen_c = [np.array([0.0]), np.array([10.0]), np.array([0.0])]
    res = coverage_from_fingerprints(gen_s, gen_c, ref_s, ref_c, struc_cutoff=0.2, comp_cutoff=0.5)
    assert res.cov_recall == 0.5  # only the first reference has a generated crystal within both cutoffs
    assert res.cov_precision == pytest.approx(1 / 3)  # one precise of three generated (the None one counts)
    assert res.amsd_recall == pytest.approx((0.05 + 0.95) / 2)
    assert res.amcd_precision == pytest.approx(0.0)
    loose = coverage_from_fingerprints(gen_s, gen_c, ref_s, ref_c, struc_cutoff=2.5, comp_cutoff=0.5)
    assert loose.cov_recall == 1.0 and loose.cov_precision == pytest.approx(2 / 3)


def test_coverage_of_hand_made_structures():
    import matminer  # noqa: F401 - in the [crystals] extra: a missing install fails here, it never skips
    from morphogen.crystals.metrics.coverage import coverage

    refs = [perovskite(), perovskite(a_el="Ba", b_el="Zr", a=4.2)]
    same = coverage(refs, refs, 0.2, 4.0)
    assert same.cov_recall == 1.0 and same.cov_precision == 1.0 and same.amsd_recall == pytest.approx(0, abs=1e-9)
    other = coverage([rocksalt()], refs, 0.2, 4.0)  # another local environment and composition
    assert other.cov_recall == 0.0 and other.cov_precision == 0.0
