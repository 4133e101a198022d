"""Harmonic IR spectra from GFN2-xTB (Bannwarth, Ehlert and Grimme 2019) through ``tblite``.

The recipe, for one molecule (positions in Angstrom in, everything inside in atomic units):

1. *Relax* (optional, on by default) the geometry with GFN2-xTB: BFGS on the Cartesian coordinates with
   tblite's analytic gradient, to a largest gradient component of ``relax_gtol`` (1e-4 Eh/bohr; failure above
   ``relax_accept``, 1e-3). A B3LYP (QM9)
   or MMFF (SMILES) minimum is not a GFN2 minimum; a Hessian taken off the minimum has spurious imaginary or
   shifted soft modes. It costs some tens of gradient calls, fewer than the Hessian's 6N.
2. *Hessian* by central differences of analytic gradients, ``step`` = 0.005 bohr along each of the 3N Cartesian
   coordinates (6N gradient calls), symmetrised; the dipole derivatives dmu/dx come from the same displacements.
   Every displaced SCC starts from the wavefunction of the undisplaced geometry.
3. *Normal modes*: the Hessian is mass-weighted (masses of the most abundant isotope, amu), the translations and
   rotations of the (Eckart) frame are projected out by working in the orthonormal complement of their 6 (5 for
   a linear molecule) mass-weighted vectors, and that (3N - 6) block is diagonalised. Wavenumbers are
   ``sign(l) sqrt(|l|) * WAVENUMBER_PER_AU`` for eigenvalues l in Eh / (bohr^2 amu); a negative one is an
   imaginary mode.
4. *Intensities* (km/mol): ``KM_MOL_PER_AU * |dmu/dQ|^2`` with dmu/dQ in e / sqrt(amu) (dipole in e bohr, normal
   coordinate Q in bohr sqrt(amu)); the factor is N_A / (12 eps0 c^2) (e^2 / amu) = 974.88 km/mol, the
   double-harmonic absorption intensity integrated over the band (the same as 42.2561 km/mol per (D/A)^2/amu).
5. *Spectrum*: a Lorentzian of full width at half maximum ``fwhm`` (20 cm^-1) per mode, of peak height equal to
   the mode's intensity, summed on the grid ``grid_min .. grid_max`` step ``grid_step`` (400 - 4000 cm^-1,
   2 cm^-1: 1801 points), then divided by its maximum (max = 1). Frequencies are not scaled (no empirical
   scaling factor).

Imaginary modes: one below ``imaginary_cutoff`` (-50 cm^-1) marks a saddle point, unless a scan along it finds no
energy lower by ``flat_well_energy`` (1e-5 Eh): then it is a flat double well (a nearly free methyl rotor, whose
harmonic wavenumber means nothing) and is dropped. The relaxation keeps the
symmetry of its start, so a planar B3LYP structure that GFN2 would pucker ends on a planar saddle; as xtb's own
``--ohess`` does, the geometry is then displaced along the lowest mode (largest atomic step 0.2 bohr), relaxed and
its Hessian taken again, at most twice (each restart costs another relaxation and 6N single points); a saddle left
after that fails the molecule. Imaginary modes between the cutoff and 0 (numerical noise of a flat mode) are
dropped from the lists and the spectrum.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from morphogen.spectra.errors import SimulationError

# CODATA 2018
HARTREE_J = 4.3597447222071e-18
BOHR_M = 5.29177210903e-11
AMU_KG = 1.66053906660e-27
SPEED_OF_LIGHT_M_S = 299792458.0
ELEMENTARY_CHARGE_C = 1.602176634e-19
AVOGADRO_PER_MOL = 6.02214076e23
VACUUM_PERMITTIVITY_F_M = 8.8541878128e-12
DEBYE_C_M = 1e-21 / SPEED_OF_LIGHT_M_S

ANGSTROM_TO_BOHR = 1e-10 / BOHR_M
#: cm^-1 per sqrt(Eh / (bohr^2 amu)): omega / (2 pi c) of a mass-weighted Hessian eigenvalue of 1 (= 5140.49)
WAVENUMBER_PER_AU = math.sqrt(HARTREE_J / (BOHR_M ** 2 * AMU_KG)) / (2 * math.pi * SPEED_OF_LIGHT_M_S * 100)
#: km/mol per (e^2 / amu): N_A / (12 eps0 c^2) |dmu/dQ|^2, the integrated absorption of one mode (= 974.88)
KM_MOL_PER_AU = (AVOGADRO_PER_MOL / (12 * VACUUM_PERMITTIVITY_F_M * SPEED_OF_LIGHT_M_S ** 2)
                 * ELEMENTARY_CHARGE_C ** 2 / AMU_KG / 1000.0)


@dataclass(frozen=True)
class IRSettings:
    """Every choice of the simulation (the constructor is the configuration; :meth:`to_dict` is what a spectrum set
    records so that a resumed run cannot mix settings).

    Attributes:
        method: tblite method name.
        relax: relax the geometry with the method before the Hessian.
        relax_gtol: target largest gradient component of the relaxation, Eh/bohr.
        relax_accept: a relaxation that ends above this largest gradient component fails the molecule.
        relax_max_steps: BFGS iterations at most.
        step: finite-difference displacement, bohr.
        accuracy: tblite's SCC accuracy (smaller is tighter; tblite's default is 1).
        fwhm: Lorentzian full width at half maximum, cm^-1.
        grid_min, grid_max, grid_step: the wavenumber grid, cm^-1 (both ends included).
        imaginary_cutoff: a mode below this wavenumber (cm^-1, negative = imaginary) is a saddle point.
        imaginary_restarts: at a saddle point, step off it along the lowest mode (the largest atomic displacement
            ``restart_displacement`` bohr) and relax again, at most this many times; then the molecule fails.
        flat_well_energy: Eh; an imaginary mode below the cutoff along which a scan (:func:`well_depth`) finds
            no energy lower by this much (1e-5 Eh = 2.2 cm^-1, far below kT) is a flat double well, typically a
            nearly free methyl rotor: dropped like a small imaginary mode, not a failure.
    """

    method: str = "GFN2-xTB"
    relax: bool = True
    relax_gtol: float = 1e-4
    relax_accept: float = 1e-3
    relax_max_steps: int = 1000
    step: float = 0.005
    accuracy: float = 0.01
    fwhm: float = 20.0
    grid_min: float = 400.0
    grid_max: float = 4000.0
    grid_step: float = 2.0
    imaginary_cutoff: float = -50.0
    imaginary_restarts: int = 2
    restart_displacement: float = 0.2
    flat_well_energy: float = 1e-5

    def __post_init__(self):
        for name in ("relax_gtol", "relax_accept", "step", "accuracy", "fwhm", "grid_step"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"IRSettings.{name} must be a positive number, got {v}")
        if not (0 <= self.grid_min < self.grid_max and math.isfinite(self.grid_max)):
            raise ValueError(f"IRSettings needs 0 <= grid_min < grid_max, got {self.grid_min}, {self.grid_max}")
        n = (self.grid_max - self.grid_min) / self.grid_step
        if abs(n - round(n)) > 1e-9:
            raise ValueError(f"IRSettings: grid_max - grid_min ({self.grid_max - self.grid_min}) is not a whole "
                             f"number of grid_step ({self.grid_step})")
        if not self.imaginary_cutoff <= 0:
            raise ValueError(f"IRSettings.imaginary_cutoff must be <= 0, got {self.imaginary_cutoff}")
        if not (math.isfinite(self.flat_well_energy) and self.flat_well_energy >= 0):
            raise ValueError(f"IRSettings.flat_well_energy must be >= 0, got {self.flat_well_energy}")
        if self.imaginary_restarts < 0 or not self.restart_displacement > 0:
            raise ValueError("IRSettings needs imaginary_restarts >= 0 and restart_displacement > 0, got "
                             f"{self.imaginary_restarts}, {self.restart_displacement}")
        if self.relax_max_steps < 1:
            raise ValueError(f"IRSettings.relax_max_steps must be >= 1, got {self.relax_max_steps}")

    def grid(self) -> np.ndarray:
        """(G,) float64 wavenumbers of the spectrum, cm^-1 (1801 points with the defaults)."""
        n = int(round((self.grid_max - self.grid_min) / self.grid_step)) + 1
        return self.grid_min + self.grid_step * np.arange(n, dtype=np.float64)

    def to_dict(self) -> dict:
        return asdict(self)


def atomic_data(elements: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(n,) int atomic numbers and (n,) float64 masses (amu, most abundant isotope) of element symbols."""
    from rdkit import Chem

    table = Chem.GetPeriodicTable()
    numbers, masses = [], []
    for e in elements:
        try:
            z = table.GetAtomicNumber(str(e))
        except RuntimeError:
            z = 0
        if z < 1:
            raise SimulationError(f"unknown element {e!r}")
        numbers.append(z)
        masses.append(table.GetMostCommonIsotopeMass(z))
    return np.asarray(numbers, dtype=np.int64), np.asarray(masses, dtype=np.float64)


def hill_formula(elements: Sequence[str]) -> str:
    """Hill order: C, then H, then the rest alphabetically (no carbon: all alphabetically); counts of 1 omitted."""
    counts: dict[str, int] = {}
    for e in elements:
        counts[e] = counts.get(e, 0) + 1
    first = [k for k in ("C", "H") if k in counts] if "C" in counts else []
    order = first + sorted(k for k in counts if k not in first)
    return "".join(f"{k}{counts[k] if counts[k] > 1 else ''}" for k in order)


# ----------------------------------------------------------------------------------------------- normal modes

LINEAR_TOLERANCE = 1e-3  # smallest / largest singular value of the rotation vectors below which a rotation is dropped


def external_modes(positions: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """(3n, k) orthonormal basis of the mass-weighted translations and rotations about the centre of mass (k = 6;
    5 for a linear molecule; 3 for one atom). positions: (n, 3) bohr; masses: (n,) amu.

    A rotation vector whose norm (sqrt of the moment of inertia about that axis) is below ``LINEAR_TOLERANCE``
    times the largest is not a rotation (the axis of a linear molecule) and is left out."""
    n = len(masses)
    sqm = np.sqrt(masses)
    r = positions - (masses[:, None] * positions).sum(0) / masses.sum()
    trans = [np.zeros((n, 3)) for _ in range(3)]
    for a in range(3):
        trans[a][:, a] = sqm
    rot = [np.cross(np.eye(3)[a], r) * sqm[:, None] for a in range(3)]
    t = np.stack([v.ravel() for v in trans], 1) / math.sqrt(masses.sum())  # orthonormal already
    rv = np.stack([v.ravel() for v in rot], 1)
    rv = rv - t @ (t.T @ rv)
    if n == 1:
        return t
    u, s, _ = np.linalg.svd(rv, full_matrices=False)
    keep = s > LINEAR_TOLERANCE * s.max()
    return np.concatenate([t, u[:, keep]], 1)


@dataclass
class Vibrations:
    """Harmonic normal modes, in ascending wavenumber.

    Attributes:
        frequencies: (m,) wavenumbers, cm^-1; negative for imaginary modes (m = 3n - 6, or 3n - 5 if linear).
        intensities: (m,) IR intensities, km/mol (None without dipole derivatives).
        displacements: (m, n, 3) Cartesian displacement of each atom per unit normal coordinate,
            bohr / sqrt(amu) (the mass-weighted eigenvectors divided by sqrt(mass)).
        linear: whether the frame had 5 external degrees of freedom.
    """

    frequencies: np.ndarray
    intensities: np.ndarray | None
    displacements: np.ndarray
    linear: bool


def harmonic_analysis(hessian: np.ndarray, masses: np.ndarray, positions: np.ndarray,
                      dipole_derivatives: np.ndarray | None = None) -> Vibrations:
    """Normal modes of a Cartesian Hessian.

    Args:
        hessian: (3n, 3n) d2E/dx_i dx_j, Eh/bohr^2 (atom-major: x0 y0 z0 x1 ...).
        masses: (n,) amu.
        positions: (n, 3) bohr (for the rotations).
        dipole_derivatives: (3n, 3) dmu_k / dx_i in e (e bohr per bohr), or None.
    """
    n = len(masses)
    if hessian.shape != (3 * n, 3 * n):
        raise ValueError(f"hessian of shape {hessian.shape} for {n} atoms")
    inv = 1.0 / np.sqrt(np.repeat(masses, 3))
    hmw = hessian * inv[:, None] * inv[None, :]
    ext = external_modes(positions, masses)
    q, _ = np.linalg.qr(ext, mode="complete")
    internal = q[:, ext.shape[1]:]  # (3n, m): orthonormal complement of the translations and rotations
    lam, u = np.linalg.eigh(internal.T @ hmw @ internal)
    modes = internal @ u  # (3n, m) mass-weighted, orthonormal
    freqs = np.sign(lam) * np.sqrt(np.abs(lam)) * WAVENUMBER_PER_AU
    cart = modes * inv[:, None]  # bohr / sqrt(amu) per unit of Q
    intens = None
    if dipole_derivatives is not None:
        if dipole_derivatives.shape != (3 * n, 3):
            raise ValueError(f"dipole derivatives of shape {dipole_derivatives.shape} for {n} atoms")
        dmu_dq = dipole_derivatives.T @ cart  # (3, m), e / sqrt(amu)
        intens = KM_MOL_PER_AU * (dmu_dq ** 2).sum(0)
    return Vibrations(freqs, intens, cart.T.reshape(-1, n, 3), linear=ext.shape[1] == 5)


def lorentzian_spectrum(frequencies: np.ndarray, intensities: np.ndarray, grid: np.ndarray, fwhm: float,
                        normalize: bool = True) -> np.ndarray:
    """(G,) sum over modes of I_k (fwhm/2)^2 / ((grid - nu_k)^2 + (fwhm/2)^2): a Lorentzian of peak height I_k per
    mode; with ``normalize`` divided by its maximum (an all-zero spectrum raises :class:`SimulationError`)."""
    hw2 = (0.5 * fwhm) ** 2
    f = np.asarray(frequencies, dtype=np.float64)
    w = np.asarray(intensities, dtype=np.float64)
    spec = (w[None, :] * hw2 / ((grid[:, None] - f[None, :]) ** 2 + hw2)).sum(1)
    if normalize:
        top = spec.max() if spec.size else 0.0
        if not (np.isfinite(top) and top > 0):
            raise SimulationError("no IR intensity on the wavenumber grid (no IR-active mode)")
        spec = spec / top
    return spec


# ----------------------------------------------------------------------------------------------- GFN2-xTB

@dataclass
class Point:
    """One single point: energy (Eh), gradient (n, 3) Eh/bohr, dipole (3,) e bohr, and tblite's result (a
    wavefunction to restart from)."""

    energy: float
    gradient: np.ndarray
    dipole: np.ndarray
    result: object = field(repr=False, default=None)


class XTB:
    """A tblite calculator for one molecule (fixed atoms, charge and spin; positions in bohr).

    Args:
        numbers: (n,) atomic numbers; positions: (n, 3) bohr; charge: total charge; uhf: unpaired electrons.
    """

    def __init__(self, numbers: np.ndarray, positions: np.ndarray, charge: int = 0, uhf: int = 0,
                 method: str = "GFN2-xTB", accuracy: float = 1.0):
        from tblite.interface import Calculator

        try:
            self._calc = Calculator(method, np.asarray(numbers), np.asarray(positions, dtype=np.float64),
                                    charge=float(charge), uhf=int(uhf))
            self._calc.set("verbosity", 0)
            self._calc.set("accuracy", float(accuracy))
        except Exception as err:  # tblite's own exception types
            raise SimulationError(f"{method}: cannot set up the calculator ({err})") from None
        self.method = method
        self.calls = 0

    def point(self, positions: np.ndarray, guess: Point | None = None) -> Point:
        """A single point at ``positions`` (n, 3) bohr, the SCC started from ``guess``'s wavefunction if given."""
        self.calls += 1
        try:
            self._calc.update(np.asarray(positions, dtype=np.float64))
            res = self._calc.singlepoint(guess.result, copy=True) if guess is not None else self._calc.singlepoint()
        except Exception as err:  # tblite's own exception types (SCC not converged, ...)
            raise SimulationError(f"{self.method} single point failed: {str(err).strip()}") from None
        return Point(float(res.get("energy")), np.array(res.get("gradient")), np.array(res.get("dipole")), res)


@dataclass
class Relaxation:
    """positions: (n, 3) bohr; steps: BFGS iterations; max_gradient: largest gradient component, Eh/bohr."""

    positions: np.ndarray
    point: Point
    steps: int
    max_gradient: float


BFGS_FORCE_CONSTANT = 0.5  # Eh/bohr^2: the relaxation's initial Hessian guess, a typical bond force constant


def relax(xtb: XTB, positions: np.ndarray, settings: IRSettings = IRSettings()) -> Relaxation:
    """BFGS (scipy) on the Cartesian coordinates (bohr) to a largest gradient component of ``relax_gtol``, with
    :data:`BFGS_FORCE_CONSTANT` times the identity as the initial Hessian (by running BFGS on coordinates scaled
    by its square root). Ending above ``relax_accept`` raises :class:`SimulationError`."""
    from scipy.optimize import minimize

    shape = positions.shape
    scale = math.sqrt(BFGS_FORCE_CONSTANT)
    last: dict[str, Point] = {}

    def fun(y):
        p = xtb.point(y.reshape(shape) / scale, last.get("p"))
        last["p"] = p
        return p.energy, p.gradient.ravel() / scale

    y0 = np.asarray(positions, dtype=np.float64).ravel() * scale
    opt = minimize(fun, y0, jac=True, method="BFGS",
                   options={"gtol": settings.relax_gtol / scale, "norm": np.inf,
                            "maxiter": settings.relax_max_steps})
    opt.x = opt.x / scale
    pos = opt.x.reshape(shape)
    final = xtb.point(pos, last.get("p"))
    gmax = float(np.abs(final.gradient).max())
    if not gmax <= settings.relax_accept:
        raise SimulationError(f"{xtb.method} relaxation stopped after {opt.nit} steps with a largest gradient "
                              f"component of {gmax:.2e} Eh/bohr (> {settings.relax_accept:g}): {opt.message}")
    return Relaxation(pos, final, int(opt.nit), gmax)


def fd_hessian(xtb: XTB, positions: np.ndarray, step: float = 0.005,
               reference: Point | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(3n, 3n) Hessian (Eh/bohr^2, symmetrised) and (3n, 3) dipole derivatives dmu_k/dx_i (e) by central
    differences of analytic gradients and dipoles, ``step`` bohr each way (6n single points)."""
    n = len(positions)
    ref = reference if reference is not None else xtb.point(positions)
    hess = np.zeros((3 * n, 3 * n))
    dmu = np.zeros((3 * n, 3))
    for i in range(3 * n):
        a, c = divmod(i, 3)
        p = np.array(positions, dtype=np.float64)
        p[a, c] += step
        plus = xtb.point(p, ref)
        p[a, c] -= 2 * step
        minus = xtb.point(p, ref)
        hess[i] = (plus.gradient - minus.gradient).ravel() / (2 * step)
        dmu[i] = (plus.dipole - minus.dipole) / (2 * step)
    return 0.5 * (hess + hess.T), dmu


@dataclass
class IRResult:
    """The IR spectrum of one molecule.

    Attributes:
        frequencies: (m,) harmonic wavenumbers, cm^-1, ascending (imaginary modes left out, see ``dropped``).
        intensities: (m,) IR intensities, km/mol.
        wavenumber: (G,) the grid, cm^-1; intensity: (G,) the broadened spectrum, max 1.
        energy: total energy at the geometry of the Hessian, Eh.
        positions: (n, 3) that geometry, Angstrom.
        relax_steps: BFGS iterations in all (0 without relaxation); gradient_calls: single points in all.
        dropped: wavenumbers (cm^-1, negative) of the imaginary modes left out: those above the cutoff and
            those of a flat double well (see :class:`IRSettings`).
        linear: whether the molecule was treated as linear (3n - 5 modes).
        restarts: relaxations restarted from a saddle point.
    """

    frequencies: np.ndarray
    intensities: np.ndarray
    wavenumber: np.ndarray
    intensity: np.ndarray
    energy: float
    positions: np.ndarray
    relax_steps: int
    gradient_calls: int
    dropped: list[float]
    linear: bool
    restarts: int = 0


WELL_SCAN = (0.05, 0.1, 0.2, 0.3)  # bohr: largest atomic displacement of the scan along an imaginary mode


def well_depth(xtb: XTB, positions: np.ndarray, reference: Point, displacement: np.ndarray) -> float:
    """The lowest energy (Eh, relative to ``reference``) on a straight scan along ``displacement`` (n, 3) both ways,
    the largest atomic step at each of :data:`WELL_SCAN` bohr (8 single points); 0 or more when no point of the
    scan is lower."""
    unit = displacement / np.abs(displacement).max()
    energies = [xtb.point(positions + sign * a * unit, reference).energy for a in WELL_SCAN for sign in (1, -1)]
    return min(energies) - reference.energy


def simulate_ir(elements: Sequence[str], positions: np.ndarray, charge: int = 0, uhf: int = 0,
                settings: IRSettings = IRSettings()) -> IRResult:
    """The GFN2-xTB IR spectrum of a molecule (see the module docstring). ``positions``: (n, 3) Angstrom.
    Raises :class:`SimulationError` with the reason for a molecule it cannot do."""
    numbers, masses = atomic_data(elements)
    pos = np.asarray(positions, dtype=np.float64) * ANGSTROM_TO_BOHR
    if pos.shape != (len(numbers), 3) or not np.isfinite(pos).all():
        raise SimulationError(f"positions of shape {pos.shape} (or not finite) for {len(numbers)} atoms")
    if len(numbers) < 2:
        raise SimulationError("one atom: no vibrations")
    xtb = XTB(numbers, pos, charge, uhf, settings.method, settings.accuracy)
    steps, restarts = 0, 0
    while True:
        if settings.relax:
            rel = relax(xtb, pos, settings)
            pos, ref, steps = rel.positions, rel.point, steps + rel.steps
        else:
            ref = xtb.point(pos)
        hess, dmu = fd_hessian(xtb, pos, settings.step, ref)
        vib = harmonic_analysis(hess, masses, pos, dmu)
        # a mode below the cutoff is a saddle unless the energy hardly drops along it (a flat double well)
        saddle = [k for k in np.flatnonzero(vib.frequencies < settings.imaginary_cutoff)
                  if well_depth(xtb, pos, ref, vib.displacements[k]) <= -settings.flat_well_energy]
        if not saddle:
            break
        lowest = float(vib.frequencies[saddle[0]])
        if not settings.relax or restarts >= settings.imaginary_restarts:
            tried = f" after {restarts} restart(s) displaced along it" if restarts else ""
            raise SimulationError(f"imaginary mode at {lowest:.1f} cm^-1 (below {settings.imaginary_cutoff:g})"
                                  f"{tried}: not a minimum")
        # a saddle point (often a symmetric structure that the relaxation kept): step off it along the mode
        disp = vib.displacements[saddle[0]]
        pos = pos + disp * (settings.restart_displacement / np.abs(disp).max())
        restarts += 1
    keep = vib.frequencies >= 0
    freqs, intens = vib.frequencies[keep], vib.intensities[keep]
    grid = settings.grid()
    spec = lorentzian_spectrum(freqs, intens, grid, settings.fwhm)
    return IRResult(freqs, intens, grid, spec, ref.energy, pos / ANGSTROM_TO_BOHR, steps, xtb.calls,
                    [float(f) for f in vib.frequencies[~keep]], vib.linear, restarts)
