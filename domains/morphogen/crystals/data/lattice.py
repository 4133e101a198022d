"""The lattice as a model field: six rotation-invariant numbers, standardised.

CDVAE represents the lattice by lengths and angles, with lengths scaled by N^(1/3) ("scale_length"); DiffCSP and
CrysBFN generate the 3x3 matrix L in the canonical orientation (the one ``Lattice.from_parameters`` builds), and
their networks read only L^T L, i.e. lengths and angles again. Here the lattice field is (B, 6):

    z = ((log(a / N^(1/3)), log(b / N^(1/3)), log(c / N^(1/3)), alpha, beta, gamma in radians) - mean) / std

with (mean, std) fitted on the training set. Log lengths keep decoded lengths positive; the codec is invertible
for every cell, and z is unchanged by any rotation of the crystal (it is a function of L^T L).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from torch import Tensor

from morphogen.utils.config import Configurable

DEFAULT_MEAN = (0.35, 0.35, 0.35, math.pi / 2, math.pi / 2, math.pi / 2)
DEFAULT_STD = (0.25, 0.25, 0.25, 0.25, 0.25, 0.25)
ANGLE_RANGE_DEG = (10.0, 170.0)


class LatticeCodec(Configurable):
    """Lattice parameters (a, b, c [A], alpha, beta, gamma [deg]) <-> standardised field z (see module docstring).

    Args:
        mean: (6,) mean of the unstandardised features on the training set.
        std: (6,) their standard deviations (a floor of 1e-3 is applied).
    """

    #: the shape of one cell's lattice field
    shape = (6,)
    form = "params"

    def __init__(self, mean: Sequence[float] = DEFAULT_MEAN, std: Sequence[float] = DEFAULT_STD):
        if len(mean) != 6 or len(std) != 6:
            raise ValueError(f"LatticeCodec needs 6 means and 6 stds, got {len(mean)} and {len(std)}")
        self.mean = [float(v) for v in mean]
        self.std = [max(float(v), 1e-3) for v in std]

    @staticmethod
    def features(params: np.ndarray, num_atoms: np.ndarray) -> np.ndarray:
        """(M, 6) parameters and (M,) atom counts -> (M, 6) unstandardised features."""
        params = np.asarray(params, dtype=np.float64).reshape(-1, 6)
        n = np.asarray(num_atoms, dtype=np.float64).reshape(-1, 1)
        return np.concatenate([np.log(params[:, :3] / np.cbrt(n)), np.radians(params[:, 3:])], axis=1)

    @classmethod
    def fit(cls, params: np.ndarray, num_atoms: np.ndarray) -> "LatticeCodec":
        """Fit mean and std on (M, 6) training parameters with (M,) atom counts."""
        f = cls.features(params, num_atoms)
        return cls(f.mean(0).tolist(), f.std(0).tolist())

    def encode(self, params: np.ndarray, num_atoms: np.ndarray) -> np.ndarray:
        """(M, 6) parameters, (M,) atom counts -> (M, 6) z (float64)."""
        return (self.features(params, num_atoms) - np.asarray(self.mean)) / np.asarray(self.std)

    def decode(self, z: np.ndarray | Tensor, num_atoms: np.ndarray | Tensor) -> np.ndarray:
        """(M, 6) z, (M,) atom counts -> (M, 6) parameters (float64). Angles are clipped to [10, 170] degrees
        (a network output outside that range is no cell of any benchmark)."""
        if isinstance(z, Tensor):
            z = z.detach().cpu().double().numpy()
        if isinstance(num_atoms, Tensor):
            num_atoms = num_atoms.detach().cpu().numpy()
        f = np.asarray(z, dtype=np.float64).reshape(-1, 6) * np.asarray(self.std) + np.asarray(self.mean)
        n = np.asarray(num_atoms, dtype=np.float64).reshape(-1, 1)
        lengths = np.exp(np.clip(f[:, :3], -10.0, 10.0)) * np.cbrt(n)
        angles = np.clip(np.degrees(f[:, 3:]), *ANGLE_RANGE_DEG)
        return np.concatenate([lengths, angles], axis=1)


def matrix_from_parameters(params: np.ndarray) -> np.ndarray:
    """(M, 6) lengths [A] and angles [deg] -> (M, 3, 3) lattice rows in the orientation of pymatgen's
    ``Lattice.from_parameters`` (the canonical form of every record): c along z, a in the xz plane,
    a = (a sin beta, 0, a cos beta), b = (-b sin alpha cos gamma*, b sin alpha sin gamma*, b cos alpha),
    c = (0, 0, c), with cos gamma* = (cos alpha cos beta - cos gamma) / (sin alpha sin beta) clipped to [-1, 1].
    Plain numpy (no pymatgen: training from a prepared file needs none)."""
    p = np.asarray(params, dtype=np.float64).reshape(-1, 6)
    a, b, c = p[:, 0], p[:, 1], p[:, 2]
    al, be, ga = (np.radians(p[:, k]) for k in (3, 4, 5))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_gs = np.clip((np.cos(al) * np.cos(be) - np.cos(ga)) / (np.sin(al) * np.sin(be)), -1.0, 1.0)
    gs = np.arccos(cos_gs)
    zero = np.zeros_like(a)
    rows_a = np.stack([a * np.sin(be), zero, a * np.cos(be)], -1)
    rows_b = np.stack([-b * np.sin(al) * np.cos(gs), b * np.sin(al) * np.sin(gs), b * np.cos(al)], -1)
    rows_c = np.stack([zero, zero, c], -1)
    return np.stack([rows_a, rows_b, rows_c], axis=1)


def parameters_from_matrix(rows: np.ndarray) -> np.ndarray:
    """(M, 3, 3) lattice rows a, b, c -> (M, 6): |a|, |b|, |c| and the angles alpha = (b, c), beta = (a, c),
    gamma = (a, b) in degrees (a function of the Gram matrix only; NaN angles next to a row of length 0)."""
    rows = np.asarray(rows, dtype=np.float64).reshape(-1, 3, 3)
    lengths = np.linalg.norm(rows, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        def angle(i, j):
            c = np.einsum("mk,mk->m", rows[:, i], rows[:, j]) / (lengths[:, i] * lengths[:, j])
            return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))

        return np.stack([lengths[:, 0], lengths[:, 1], lengths[:, 2], angle(1, 2), angle(0, 2), angle(0, 1)], axis=1)


class LatticeMatrixCodec(Configurable):
    """Lattice parameters <-> the (B, 3, 3) matrix field of DiffCSP and CrysBFN, scaled: Z = L / (N^(1/3) s).

    L holds the lattice vectors as rows in the canonical orientation of ``Lattice.from_parameters``; N is the atom
    count (CDVAE's length scaling) and s one scalar fitted on the training set (the RMS length of the rows of
    L / N^(1/3)), so the rows of Z have unit RMS length and the field suits a unit-variance prior. Only a scalar is
    divided out, so the field keeps the rotation action (Z R^T for a rotated cell): an equivariant network stays
    equivariant on it. Decoding reads lengths and angles off the rows (any orientation, reflections included).

    Args:
        scale: s in angstrom.
    """

    shape = (3, 3)
    form = "matrix"

    def __init__(self, scale: float = 2.0):
        if not float(scale) > 0:
            raise ValueError(f"LatticeMatrixCodec needs scale > 0, got {scale}")
        self.scale = float(scale)

    @classmethod
    def fit(cls, params: np.ndarray, num_atoms: np.ndarray) -> "LatticeMatrixCodec":
        """Fit s on (M, 6) training parameters with (M,) atom counts."""
        params = np.asarray(params, dtype=np.float64).reshape(-1, 6)
        n = np.asarray(num_atoms, dtype=np.float64).reshape(-1, 1)
        lengths = params[:, :3] / np.cbrt(n)
        return cls(float(np.sqrt(np.mean(lengths**2))))

    def encode(self, params: np.ndarray, num_atoms: np.ndarray) -> np.ndarray:
        """(M, 6) parameters, (M,) atom counts -> (M, 3, 3) Z (float64)."""
        n = np.asarray(num_atoms, dtype=np.float64).reshape(-1, 1, 1)
        return matrix_from_parameters(params) / (np.cbrt(n) * self.scale)

    def decode(self, z: np.ndarray | Tensor, num_atoms: np.ndarray | Tensor) -> np.ndarray:
        """(M, 3, 3) Z, (M,) atom counts -> (M, 6) parameters (float64; angles clipped to [10, 170] degrees as
        :meth:`LatticeCodec.decode`; a vanished row gives length 0 and NaN angles: no cell)."""
        if isinstance(z, Tensor):
            z = z.detach().cpu().double().numpy()
        if isinstance(num_atoms, Tensor):
            num_atoms = num_atoms.detach().cpu().numpy()
        n = np.asarray(num_atoms, dtype=np.float64).reshape(-1, 1, 1)
        p = parameters_from_matrix(np.asarray(z, dtype=np.float64).reshape(-1, 3, 3) * np.cbrt(n) * self.scale)
        p[:, 3:] = np.clip(p[:, 3:], *ANGLE_RANGE_DEG)
        return p


LATTICE_CODECS = {"params": LatticeCodec, "matrix": LatticeMatrixCodec}


def lattice_codec_class(form: str):
    """The codec class of a lattice form (``"params"``: :class:`LatticeCodec`, ``"matrix"``:
    :class:`LatticeMatrixCodec`)."""
    if form not in LATTICE_CODECS:
        raise ValueError(f"lattice form must be one of {sorted(LATTICE_CODECS)}, got '{form}'")
    return LATTICE_CODECS[form]
