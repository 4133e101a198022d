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
