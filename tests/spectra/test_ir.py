"""GFN2-xTB IR spectra: unit conversions on closed forms, the normal-mode analysis on a model diatomic, the
Lorentzian grid, and the frequencies of four small molecules."""
import math

import numpy as np
import pytest

from morphogen.spectra.data import ir
from morphogen.spectra.errors import SimulationError

pytest.importorskip("tblite")


def test_unit_conversions():
    # omega / (2 pi c) for a mass-weighted Hessian eigenvalue of 1 Eh / (bohr^2 amu)
    assert ir.WAVENUMBER_PER_AU == pytest.approx(5140.487, abs=0.01)
    # N_A / (12 eps0 c^2) (e^2 / amu) in km/mol, and the same for (D / A)^2 / amu (Gaussian's and ORCA's factor)
    assert ir.KM_MOL_PER_AU == pytest.approx(974.880, abs=0.01)
    debye_per_angstrom_in_e = ir.DEBYE_C_M / 1e-10 / ir.ELEMENTARY_CHARGE_C
    assert ir.KM_MOL_PER_AU * debye_per_angstrom_in_e ** 2 == pytest.approx(42.2561, abs=1e-3)
    assert ir.ANGSTROM_TO_BOHR == pytest.approx(1.8897261, abs=1e-6)


def _spring(k, m1, m2, q):
    """A diatomic on z: force constant k (Eh/bohr^2), masses (amu), charges +q / -q (dipole derivatives in e)."""
    hess = np.zeros((6, 6))
    hess[2, 2] = hess[5, 5] = k
    hess[2, 5] = hess[5, 2] = -k
    dmu = np.zeros((6, 3))
    dmu[2, 2], dmu[5, 2] = q, -q
    pos = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 2.4]])
    return hess, np.array([m1, m2]), pos, dmu


def test_diatomic_closed_form():
    k, m1, m2, q = 0.52, 1.007825, 34.968853, 0.3
    mu = m1 * m2 / (m1 + m2)
    vib = ir.harmonic_analysis(*_spring(k, m1, m2, q))
    assert vib.linear and vib.frequencies.shape == (1,)  # 3n - 5 modes
    assert vib.frequencies[0] == pytest.approx(math.sqrt(k / mu) * ir.WAVENUMBER_PER_AU, rel=1e-10)
    # dmu/dQ of point charges along the bond is q / sqrt(mu): I = 974.88 q^2 / mu km/mol
    assert vib.intensities[0] == pytest.approx(ir.KM_MOL_PER_AU * q ** 2 / mu, rel=1e-10)
    assert vib.displacements.shape == (1, 2, 3)


def test_external_modes_count_and_orthonormality():
    m = np.array([15.995, 1.008, 1.008])
    bent = np.array([[0.0, 0.0, 0.2], [0.0, 1.4, -0.9], [0.0, -1.4, -0.9]])
    line = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 2.2], [0.0, 0.0, -2.2]])
    for pos, k in ((bent, 6), (line, 5)):
        e = ir.external_modes(pos, m)
        assert e.shape == (9, k) and np.allclose(e.T @ e, np.eye(k), atol=1e-12)


def test_lorentzian_grid_height_and_width():
    s = ir.IRSettings()
    grid = s.grid()
    assert grid.shape == (1801,) and grid[0] == 400.0 and grid[-1] == 4000.0 and np.allclose(np.diff(grid), 2.0)
    raw = ir.lorentzian_spectrum(np.array([1000.0]), np.array([5.0]), grid, 20.0, normalize=False)
    at = {float(w): float(v) for w, v in zip(grid, raw)}
    assert at[1000.0] == pytest.approx(5.0) and at[990.0] == pytest.approx(2.5) and at[1010.0] == pytest.approx(2.5)
    spec = ir.lorentzian_spectrum(np.array([1000.0, 3000.0]), np.array([5.0, 1.0]), grid, 20.0)
    assert spec.max() == pytest.approx(1.0) and spec[grid == 3000.0][0] == pytest.approx(0.2, abs=1e-3)
    with pytest.raises(SimulationError, match="no IR intensity"):
        ir.lorentzian_spectrum(np.array([1000.0]), np.array([0.0]), grid, 20.0)
    with pytest.raises(ValueError, match="whole number"):
        ir.IRSettings(grid_step=7.0)


def test_hill_formula():
    assert ir.hill_formula("CCCCHHHHHHHHO") == "C4H8O"
    assert ir.hill_formula(["O", "H", "H"]) == "H2O" and ir.hill_formula(["N", "H", "H", "H"]) == "H3N"
    assert ir.hill_formula(["Cl", "C", "H", "H", "H"]) == "CH3Cl"


ANGSTROM = {
    "water": ("OHH", [[0, 0, 0.117], [0, 0.757, -0.467], [0, -0.757, -0.467]]),
    "co2": ("COO", [[0, 0, 0], [0, 0, 1.16], [0, 0, -1.16]]),
    "methane": ("CHHHH", [[0, 0, 0], [0.629, 0.629, 0.629], [-0.629, -0.629, 0.629], [-0.629, 0.629, -0.629],
                          [0.629, -0.629, -0.629]]),
    "formaldehyde": ("COHH", [[0, 0, 0], [0, 0, 1.205], [0, 0.94, -0.587], [0, -0.94, -0.587]]),
}
# GFN2-xTB harmonic wavenumbers (cm^-1) and intensities (km/mol), cross-checked with an independent implementation:
# ASE's Infrared (its own finite differences, 0.005 A, and mass weighting, average masses) on tblite's ASE
# calculator after an ASE BFGS relaxation to 1e-4 eV/A. Tolerance: 3 cm^-1 and 2 % (+0.1 km/mol).
GFN2 = {
    "water": ([1539.3, 3643.0, 3651.1], [133.24, 6.76, 16.64]),
    "co2": ([600.5, 600.5, 1424.9, 2593.4], [68.67, 68.67, 0.0, 1046.37]),
    "methane": ([1385.7] * 3 + [1557.2] * 2 + [3090.0] + [3103.8] * 3, [14.87] * 3 + [0.0] * 3 + [29.37] * 3),
    "formaldehyde": ([1085.4, 1202.8, 1489.1, 1806.1, 2792.0, 2838.3], [1.35, 26.18, 0.04, 150.89, 117.63, 71.32]),
}
# gas-phase fundamentals (NIST; Herzberg), for a coarse check: GFN2 is unscaled and harmonic, within 12 %
EXPERIMENT = {
    "water": [1595, 3657, 3756],
    "co2": [667, 667, 1333, 2349],
    "methane": [1306] * 3 + [1534] * 2 + [2917] + [3019] * 3,
    "formaldehyde": [1167, 1249, 1500, 1746, 2782, 2843],
}


@pytest.fixture(scope="module")
def spectra():
    return {k: ir.simulate_ir(tuple(e), np.array(p, float)) for k, (e, p) in ANGSTROM.items()}


@pytest.mark.parametrize("name", sorted(ANGSTROM))
def test_small_molecule_frequencies(spectra, name):
    res = spectra[name]
    ref_f, ref_i = GFN2[name]
    assert res.frequencies.shape == (len(ref_f),) and res.dropped == []
    assert np.allclose(res.frequencies, ref_f, atol=3.0), res.frequencies
    assert np.allclose(res.intensities, ref_i, rtol=0.02, atol=0.1), res.intensities
    assert np.allclose(res.frequencies, EXPERIMENT[name], rtol=0.12)
    assert res.wavenumber.shape == res.intensity.shape == (1801,) and res.intensity.max() == pytest.approx(1.0)
    assert res.intensity.min() >= 0 and res.relax_steps >= 1


def test_water_and_co2_details(spectra):
    w = spectra["water"]
    assert 1500 < w.frequencies[0] < 1650 and all(3550 < f < 3750 for f in w.frequencies[1:])
    co2 = spectra["co2"]
    assert co2.linear and len(co2.frequencies) == 4  # 3n - 5, the bend twice
    assert abs(co2.frequencies[0] - co2.frequencies[1]) < 0.5
    assert co2.intensities[2] < 1e-3  # the symmetric stretch is IR-inactive
    # the spectrum peaks at the antisymmetric stretch
    assert abs(co2.wavenumber[np.argmax(co2.intensity)] - co2.frequencies[3]) <= 2.0
    m = spectra["methane"]
    assert np.ptp(m.frequencies[:3]) < 0.5 and np.all(m.intensities[3:6] < 1e-2)  # T2 active; E, A1 inactive


def test_saddle_point_restart_and_failure():
    # planar ammonia is a saddle (the umbrella inversion); the relaxation keeps the plane
    planar = np.array([[0, 0, 0], [1.01, 0, 0], [-0.505, 0.8747, 0], [-0.505, -0.8747, 0]])
    with pytest.raises(SimulationError, match=r"imaginary mode at -\d+"):
        ir.simulate_ir("NHHH", planar, settings=ir.IRSettings(imaginary_restarts=0))
    res = ir.simulate_ir("NHHH", planar)
    assert res.restarts == 1 and res.frequencies.shape == (6,) and res.frequencies.min() > 1000
    with pytest.raises(SimulationError, match="one atom"):
        ir.simulate_ir("C", np.zeros((1, 3)))
    with pytest.raises(SimulationError, match="unknown element"):
        ir.simulate_ir(["Xx", "H"], np.zeros((2, 3)))
