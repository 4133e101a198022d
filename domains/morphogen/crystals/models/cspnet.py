"""A periodic E(3)-invariant graph network of the CSPNet kind (DiffCSP, Jiao et al. 2023; the CrysBFN backbone).

Every layer passes messages over *all* atom pairs of the cell (a dense, padded, masked N x N graph, no radius
cutoff): m_ij = MLP(h_i, h_j, lattice features, Fourier features of x_j - x_i), aggregated by a masked mean over j,
then h_i <- h_i + MLP(h_i, mean_j m_ij). The inputs are invariant by construction:

* the lattice enters through its six standardised parameters (:class:`morphogen.crystals.data.LatticeCodec`), a
  function of L^T L, hence invariant to rotations and reflections of the crystal;
* positions enter only through differences of fractional coordinates, through sin / cos(2 pi k d), k = 1..F:
  invariant to integer shifts of any atom and to a common translation of all atoms;
* the network is permutation equivariant over atoms (shared weights, symmetric aggregation).

Heads, one per field, with the prediction kind of each field chosen in the constructor, so the same network runs
under the periodic Bayesian flow, wrapped-normal diffusion and torus flow matching:

* coordinates (B, N, 3): an invariant displacement delta_i per atom; kind ``"x1"`` returns value + delta (an
  endpoint, read modulo 1: equivariant to translations), every other kind (``"score"``, ``"noise"``,
  ``"velocity"``) returns delta (invariant);
* lattice (B, 6): an MLP of the mean node feature (any kind the lattice's process accepts: ``"x1"``, ``"noise"``,
  ``"velocity"``...);
* atom types (B, N, 100) logits (generation only).

Conditioning: t through a sinusoidal embedding (the BFN accuracy schedules are functions of t), and for the
periodic Bayesian flow the concentration ``extra["kappa"]`` of each coordinate's belief, as log(1 + kappa) /
log(1 + kappa_scale) (CrysBFN's entropy conditioning: the entropy of a von Mises belief is a monotone function of
kappa). Atom types enter as one-hot vectors (given composition in CSP), as probabilities (a Bayesian flow's
belief (B, N, 100)) or as tokens (B, N) with class 100 = mask (masked diffusion).
"""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import Tensor, nn

from morphogen.crystals.models.inputs import NUM_ELEMENTS, TASKS, node_mask, prediction_kinds, type_features
from morphogen.nn.embeddings import SinusoidalEmbedding
from morphogen.utils.config import Configurable

__all__ = ["NUM_ELEMENTS", "TASKS", "CrystalDenoiser", "fourier_features"]


def fourier_features(d: Tensor, num_freqs: int) -> Tensor:
    """(..., 3) fractional differences -> (..., 6 F): sin and cos of 2 pi k d, k = 1..F (period 1 in every d)."""
    k = torch.arange(1, num_freqs + 1, device=d.device, dtype=d.dtype)
    arg = 2.0 * math.pi * d.unsqueeze(-1) * k  # (..., 3, F)
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1).flatten(-2)


class _Layer(nn.Module):
    def __init__(self, hidden: int, num_freqs: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.src, self.dst = nn.Linear(hidden, hidden), nn.Linear(hidden, hidden, bias=False)
        self.lat = nn.Linear(6, hidden, bias=False)
        self.geo = nn.Linear(6 * num_freqs, hidden, bias=False)
        self.edge = nn.Sequential(nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())
        self.node = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden))

    def forward(self, h: Tensor, lat: Tensor, ff: Tensor, pair_mask: Tensor) -> Tensor:
        x = self.norm(h)
        # the first edge layer on the concatenation (h_i, h_j, lattice, Fourier), written as a sum of projections
        e = self.src(x).unsqueeze(2) + self.dst(x).unsqueeze(1) + self.lat(lat)[:, None, None, :] + self.geo(ff)
        m = self.edge(e) * pair_mask.unsqueeze(-1)
        agg = m.sum(2) / pair_mask.sum(2, keepdim=True).clamp_min(1.0)
        return h + self.node(torch.cat([x, agg], dim=-1))


class CrystalDenoiser(Configurable, nn.Module):
    """Denoiser of crystals: fields lattice (B, 6), fractional coordinates (B, N, 3) and, for generation, atom
    types (B, N, 100) or (B, N); see the module docstring. Follows :class:`morphogen.nn.denoiser.Denoiser`.

    The call's ``condition`` is a dict with ``"node_mask"`` (B, N) bool (optional: else taken from the coordinates'
    state mask) and, for CSP, ``"atom_types"`` (B, N) long class ids Z - 1.

    Args:
        task: ``"csp"`` (types given in the condition) or ``"gen"`` (types are a field).
        kinds: field -> prediction kind; default lattice ``"x1"``, coordinates ``"x1"``, types ``"logits"``.
        hidden: node / edge width.
        layers: message-passing layers.
        num_freqs: F, Fourier frequencies of the coordinate differences.
        kappa_scale: concentration that maps to 1 in the kappa feature (the periodic flow's beta1).
        lattice_field, coords_field, types_field: field names.
    """

    def __init__(self, task: str = "csp", kinds: Mapping[str, str] | None = None, hidden: int = 128,
                 layers: int = 4, num_freqs: int = 16, kappa_scale: float = 1000.0, lattice_field: str = "lattice",
                 coords_field: str = "frac_coords", types_field: str = "atom_types"):
        super().__init__()
        self.task = task
        self.lf, self.cf, self.tf = lattice_field, coords_field, types_field
        self.prediction_kinds = prediction_kinds(task, kinds, lattice_field, coords_field, types_field)
        self.num_freqs, self.kappa_log_scale = int(num_freqs), math.log1p(float(kappa_scale))
        self.type_in = nn.Linear(NUM_ELEMENTS + 1, hidden)
        self.time = SinusoidalEmbedding(hidden)
        self.kappa_in = nn.Linear(3, hidden)
        self.lattice_in = nn.Linear(6, hidden)
        self.layers = nn.ModuleList(_Layer(hidden, self.num_freqs) for _ in range(layers))
        self.out_norm = nn.LayerNorm(hidden)
        self.coord_head = nn.Linear(hidden, 3)
        self.lattice_head = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 6))
        self.type_head = nn.Linear(hidden, NUM_ELEMENTS) if task == "gen" else None

    # ----------------------------------------------------------------------------------------------------------
    def forward(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        cs = state[self.cf]
        x = cs.value
        b, n, _ = x.shape
        dtype = self.type_in.weight.dtype
        mask = node_mask(cs, condition)
        maskf = mask.to(dtype)
        lat = state[self.lf].value.to(dtype)
        h = self.type_in(type_features(self.task, state, condition, self.tf, dtype))
        h = h + self.time(cs.t)[:, None, :].to(dtype) + self.lattice_in(lat)[:, None, :]
        kappa = cs.extra.get("kappa")
        if kappa is not None:
            h = h + self.kappa_in((torch.log1p(kappa.to(dtype).clamp_min(0.0)) / self.kappa_log_scale))
        d = x.to(dtype).unsqueeze(1) - x.to(dtype).unsqueeze(2)  # d[b, i, j] = x_j - x_i
        ff = fourier_features(d, self.num_freqs)
        pair = maskf.unsqueeze(1) * maskf.unsqueeze(2)
        for layer in self.layers:
            h = layer(h, lat, ff, pair)
        h = self.out_norm(h) * maskf.unsqueeze(-1)
        pooled = h.sum(1) / maskf.sum(1, keepdim=True).clamp_min(1.0)
        delta = self.coord_head(h) * maskf.unsqueeze(-1)
        coords = x + delta.to(x.dtype) if self.prediction_kinds[self.cf] == "x1" else delta.to(x.dtype)
        out = {self.cf: coords * mask.unsqueeze(-1).to(x.dtype),
               self.lf: self.lattice_head(pooled).to(state[self.lf].value.dtype)}
        if self.type_head is not None:
            out[self.tf] = self.type_head(h).to(x.dtype if x.is_floating_point() else torch.float32)
        return out
