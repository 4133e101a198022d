"""Ranking IR candidates by their re-simulated spectra: each candidate structure's GFN2-xTB IR spectrum is computed
(:func:`morphogen.spectra.simulate.compute_record`: an RDKit geometry relaxed by GFN2-xTB, the finite-difference
Hessian and dipole derivatives, broadened on the record's grid) and compared with the query spectrum.

The distance is ``1 - cosine`` of the two broadened spectra (both on :data:`~morphogen.spectra.data.molecules.IR_GRID`):
0 for identical spectra, 1 for spectra without a common band. A candidate that cannot be simulated (no convergence,
a saddle point) gets ``inf`` and its reason is kept in :attr:`IRResimulation.failures`.

This is the computed-spectrum analogue of the NMR shift ranking (:mod:`morphogen.spectra.shifts`), with a
difference a reader must keep in mind: on the ``qm9-ir`` benchmark the query spectra were computed by the same
method, so a candidate equal to the truth reproduces the query up to its conformer and relaxation; on measured
spectra the method's own error (GFN2-xTB harmonic frequencies are off by a few per cent) enters the distance.
It costs about 2 s of one core per distinct candidate (QM9-sized molecules); ``max_candidates`` bounds how many of a
record's candidates (the most agreed-upon plausible ones first) are simulated, ``workers`` parallelises them over
processes of one thread each. Spectra are kept per SMILES, so a structure proposed for several records is simulated
once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from morphogen.spectra.data.ir import IRSettings


def cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    """``1 - cos`` of two spectra (G,) on one grid; 1.0 when either is all zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"spectra on different grids: {a.shape} and {b.shape}")
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 or nb == 0.0:
        return 1.0
    return float(1.0 - np.dot(a, b) / (na * nb))


@dataclass
class IRResimulation:
    """Attributes:
        settings: the simulation (the defaults are those of ``morphogen spectra simulate`` and of ``data/qm9_ir``).
        workers: processes of one thread each (1: in this process).
        max_candidates: at most this many candidates of a record are simulated; the rest rank after them.
        spectra: SMILES -> broadened spectrum (G,) or None when the simulation failed (filled as it goes).
        failures: SMILES -> the reason its simulation failed.
    """

    settings: IRSettings = field(default_factory=IRSettings)
    workers: int = 1
    max_candidates: int = 20
    spectra: dict = field(default_factory=dict, repr=False)
    failures: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.workers < 1:
            raise ValueError(f"workers must be >= 1, got {self.workers}")
        if self.max_candidates < 1:
            raise ValueError(f"max_candidates must be >= 1, got {self.max_candidates}")

    def simulate(self, smiles: Sequence[str]) -> None:
        """Compute the spectra of the SMILES not done yet (in parallel over :attr:`workers`)."""
        import json

        from morphogen.spectra.data.sources import Molecule
        from morphogen.spectra.simulate import _results

        todo = [Molecule(s, s, f"candidate {s}") for s in dict.fromkeys(smiles) if s and s not in self.spectra]
        for mol, (ok, text) in _results(todo, self.settings, self.workers):
            if ok:
                self.spectra[mol.smiles] = np.asarray(json.loads(text)["ir"]["intensity"], dtype=np.float64)
            else:
                self.spectra[mol.smiles] = None
                self.failures[mol.smiles] = text

    def distances(self, smiles: Sequence[str], query: np.ndarray) -> list[float]:
        """``1 - cosine`` between each candidate's simulated spectrum and ``query`` (G,); inf where it failed."""
        self.simulate(smiles)
        out = []
        for s in smiles:
            spec = self.spectra.get(s)
            out.append(float("inf") if spec is None else cosine_distance(spec, query))
        return out
