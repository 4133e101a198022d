"""CSPNet, the periodic message-passing network of DiffCSP (Jiao et al., NeurIPS 2023) that CrysBFN (Wu et al.,
ICLR 2025) reuses, written for dense padded batches (B cells of at most N atoms, a node mask).

One layer, on the fully connected graph of each cell (every ordered pair i, j of real atoms, i = j included, as
DiffCSP's block-diagonal graph)::

    x_i  = LayerNorm(h_i)
    m_ij = SiLU(W2 SiLU(W1 [x_i, x_j, g, psi(f_j - f_i)]))            (edge MLP)
    h_i <- h_i + SiLU(V2 SiLU(V1 [x_i, mean_j m_ij]))                 (node MLP, residual)

* g: the lattice as invariants. For the ``"matrix"`` lattice field (B, 3, 3) (rows = lattice vectors, the
  :class:`morphogen.crystals.data.LatticeMatrixCodec` scaling) g is the six distinct entries of the Gram matrix
  Z Z^T (DiffCSP flattens all nine; three are repeats); for the ``"params"`` field (B, 6)
  (:class:`morphogen.crystals.data.LatticeCodec`) g is the field itself (lengths and angles, a function of L L^T).
* psi(d) = (sin 2 pi k d, cos 2 pi k d) for k = 0 .. F - 1 per coordinate (6 F numbers): the zero frequency is
  included as in DiffCSP (its cosine is a constant input), and every feature has period 1 in every d.
* W1 acts on a concatenation; it is computed as the sum of a per-node, a per-node, a per-cell and a per-edge
  projection, which is the same linear map at a fraction of the cost on the N^2 edges.

Inputs of the atoms: a linear embedding of the type (one-hot class Z - 1 in CSP, a belief (B, N, 100) of a
Bayesian flow or tokens with a mask class in generation) concatenated with a sinusoidal embedding of t (DiffCSP's
time) and, for the periodic Bayesian flow, the per-coordinate accuracy feature log(1 + kappa) / log(1 + kappa_scale)
(CrysBFN's entropy conditioning: a von Mises belief's entropy is a monotone function of kappa), then one linear map.
``conditioning`` selects ``"time+entropy"`` (CrysBFN), ``"time"`` or ``"entropy"`` (the ablations).

Outputs, after a final LayerNorm:

* coordinates (B, N, 3): delta_i = W_c h_i (no bias, as DiffCSP), invariant to permutations of the other atoms, to
  integer shifts of any atom and to a common translation. Kind ``"x1"`` returns f_i + delta_i (an endpoint read
  modulo 1, equivariant to translations, CrysBFN's output), every other kind (score, noise, velocity) delta_i.
* lattice, ``"matrix"`` field: Y Z with Y = reshape(W_l mean_i h_i) (3, 3), no bias. Y is invariant, so the output
  rotates with the input (Z R^T -> Y Z R^T for any R in O(3)), as DiffCSP's and CrysBFN's lattice outputs. Every
  O(3)-equivariant function of a full-rank Z has this form (O(Z) Z^-1 is invariant), so a general Y loses nothing;
  a symmetric Y would. ``"params"`` field: an MLP of mean_i h_i (invariant, 6 numbers).
* atom types (generation): logits (B, N, 100).

Differences from DiffCSP's code: dense masked tensors instead of edge lists; the six distinct Gram entries instead
of nine; types through a linear map of one-hot vectors (equal to an embedding table, and it also reads beliefs);
the time embedding is this package's (:class:`morphogen.nn.embeddings.SinusoidalEmbedding`, t in [0, 1]) at width
``time_dim``.
"""
from __future__ import annotations

import math
from typing import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from morphogen.crystals.models.inputs import NUM_ELEMENTS, node_mask, prediction_kinds, type_features
from morphogen.nn.embeddings import SinusoidalEmbedding
from morphogen.utils.config import Configurable

LATTICE_FORMS = ("matrix", "params")
CONDITIONINGS = ("time+entropy", "time", "entropy")


def periodic_features(d: Tensor, num_freqs: int) -> Tensor:
    """(..., 3) fractional differences -> (..., 6 F): sin and cos of 2 pi k d for k = 0 .. F - 1 (period 1)."""
    k = torch.arange(num_freqs, device=d.device, dtype=d.dtype)
    arg = 2.0 * math.pi * d.unsqueeze(-1) * k  # (..., 3, F)
    return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1).flatten(-2)


def gram_features(z: Tensor) -> Tensor:
    """(B, 3, 3) lattice rows -> (B, 6): the entries (00, 11, 22, 01, 02, 12) of Z Z^T (rotation invariants)."""
    g = z @ z.transpose(-1, -2)
    i, j = (0, 1, 2, 0, 0, 1), (0, 1, 2, 1, 2, 2)
    return g[:, i, j]


class _CSPLayer(nn.Module):
    """One message-passing layer (module docstring), dense over (B, N, N) pairs."""

    def __init__(self, hidden: int, lattice_dim: int, edge_dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.src = nn.Linear(hidden, hidden)
        self.dst = nn.Linear(hidden, hidden, bias=False)
        self.lat = nn.Linear(lattice_dim, hidden, bias=False)
        self.geo = nn.Linear(edge_dim, hidden, bias=False)
        self.edge2 = nn.Linear(hidden, hidden)
        self.node = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU())

    def forward(self, h: Tensor, g: Tensor, psi: Tensor, pair: Tensor, count: Tensor) -> Tensor:
        """h (B, N, H), g (B, G), psi (B, N, N, 6F), pair (B, N, N, 1) float mask, count (B, N, 1) -> (B, N, H)."""
        x = self.norm(h)
        e = self.src(x).unsqueeze(2) + self.dst(x).unsqueeze(1) + self.lat(g)[:, None, None, :] + self.geo(psi)
        m = F.silu(self.edge2(F.silu(e))) * pair
        agg = m.sum(2) / count
        return h + self.node(torch.cat([x, agg], dim=-1))


class CSPNet(Configurable, nn.Module):
    """DiffCSP's CSPNet on dense padded cells (module docstring). Follows :class:`morphogen.nn.denoiser.Denoiser`.

    State fields: ``lattice`` (B, 3, 3) or (B, 6) (see ``lattice``), ``frac_coords`` (B, N, 3) with mask (B, N, 1)
    and, for the periodic Bayesian flow, ``extra["kappa"]`` (B, N, 3); for generation ``atom_types`` (B, N, 100)
    probabilities or (B, N) tokens (class 100 = mask). ``condition``: ``"node_mask"`` (B, N) bool (else the
    coordinates' mask) and, for CSP, ``"atom_types"`` (B, N) long class ids Z - 1.

    Args:
        task: ``"csp"`` (types given in the condition) or ``"gen"`` (types are a field).
        kinds: field -> prediction kind; default lattice ``"x1"``, coordinates ``"x1"``, types ``"logits"``.
        lattice: ``"matrix"`` (a (B, 3, 3) field, Gram invariants in, equivariant Y Z out) or ``"params"`` (the
            (B, 6) lengths-and-angles field, invariant in and out).
        hidden: node and edge width (DiffCSP: 512).
        layers: message-passing layers (DiffCSP: 6).
        num_freqs: F, frequencies 0 .. F - 1 of the coordinate differences (DiffCSP: 128, CrysBFN: 128).
        time_dim: width of the time embedding (DiffCSP: 256, CrysBFN: 128).
        conditioning: ``"time+entropy"``, ``"time"`` or ``"entropy"`` (which of t and kappa the atoms read; kappa is
            read only where the state carries it).
        kappa_scale: the concentration that maps to 1 in the entropy feature (the periodic flow's beta1).
        lattice_field, coords_field, types_field: field names.
    """

    def __init__(self, task: str = "csp", kinds: Mapping[str, str] | None = None, lattice: str = "matrix",
                 hidden: int = 128, layers: int = 4, num_freqs: int = 16, time_dim: int = 64,
                 conditioning: str = "time+entropy", kappa_scale: float = 1000.0, lattice_field: str = "lattice",
                 coords_field: str = "frac_coords", types_field: str = "atom_types"):
        super().__init__()
        if lattice not in LATTICE_FORMS:
            raise ValueError(f"lattice must be one of {LATTICE_FORMS}, got '{lattice}'")
        if conditioning not in CONDITIONINGS:
            raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got '{conditioning}'")
        if int(num_freqs) < 1 or int(hidden) < 1 or int(layers) < 0 or int(time_dim) < 2:
            raise ValueError(f"need num_freqs >= 1, hidden >= 1, layers >= 0, time_dim >= 2; got {num_freqs}, "
                             f"{hidden}, {layers}, {time_dim}")
        self.task, self.lattice_form, self.conditioning = task, lattice, conditioning
        self.lf, self.cf, self.tf = lattice_field, coords_field, types_field
        self.prediction_kinds = prediction_kinds(task, kinds, lattice_field, coords_field, types_field)
        self.num_freqs, self.kappa_log_scale = int(num_freqs), math.log1p(float(kappa_scale))
        hidden, time_dim = int(hidden), int(time_dim) + int(time_dim) % 2
        self.type_in = nn.Linear(NUM_ELEMENTS + 1, hidden)
        self.time = SinusoidalEmbedding(time_dim) if conditioning != "entropy" else None
        self.use_kappa = conditioning != "time"
        self.atom_in = nn.Linear(hidden + (time_dim if self.time is not None else 0) + 3 * self.use_kappa, hidden)
        lattice_dim = 6
        self.layers = nn.ModuleList(_CSPLayer(hidden, lattice_dim, 6 * self.num_freqs) for _ in range(int(layers)))
        self.out_norm = nn.LayerNorm(hidden)
        self.coord_head = nn.Linear(hidden, 3, bias=False)
        if lattice == "matrix":
            self.lattice_head = nn.Linear(hidden, 9, bias=False)
        else:
            self.lattice_head = nn.Sequential(nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 6))
        self.type_head = nn.Linear(hidden, NUM_ELEMENTS) if task == "gen" else None

    # ----------------------------------------------------------------------------------------------------------
    def _lattice_invariants(self, z: Tensor) -> Tensor:
        if self.lattice_form == "matrix":
            if z.shape[1:] != (3, 3):
                raise ValueError(f"the 'matrix' lattice field is (B, 3, 3), got shape {tuple(z.shape)}")
            return gram_features(z)
        if z.shape[1:] != (6,):
            raise ValueError(f"the 'params' lattice field is (B, 6), got shape {tuple(z.shape)}")
        return z

    def forward(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        cs = state[self.cf]
        x = cs.value
        b, n, _ = x.shape
        dtype = self.type_in.weight.dtype
        mask = node_mask(cs, condition)
        maskf = mask.to(dtype).unsqueeze(-1)  # (B, N, 1)
        z = state[self.lf].value.to(dtype)
        g = self._lattice_invariants(z)
        parts = [self.type_in(type_features(self.task, state, condition, self.tf, dtype))]
        if self.time is not None:
            parts.append(self.time(cs.t).to(dtype)[:, None, :].expand(b, n, -1))
        if self.use_kappa:
            kappa = cs.extra.get("kappa")
            feat = (torch.zeros(b, n, 3, dtype=dtype, device=x.device) if kappa is None
                    else torch.log1p(kappa.to(dtype).clamp_min(0.0)) / self.kappa_log_scale)
            parts.append(feat)
        h = self.atom_in(torch.cat(parts, dim=-1))
        xf = x.to(dtype)
        psi = periodic_features(xf.unsqueeze(1) - xf.unsqueeze(2), self.num_freqs)  # [b, i, j] <- f_j - f_i
        pair = (maskf.unsqueeze(1) * maskf.unsqueeze(2))  # (B, N, N, 1)
        count = pair.sum(2).clamp_min(1.0)  # (B, N, 1)
        for layer in self.layers:
            h = layer(h, g, psi, pair, count)
        h = self.out_norm(h) * maskf
        pooled = h.sum(1) / maskf.sum(1).clamp_min(1.0)
        delta = (self.coord_head(h) * maskf).to(x.dtype)
        coords = x + delta if self.prediction_kinds[self.cf] == "x1" else delta
        if self.lattice_form == "matrix":
            lattice = self.lattice_head(pooled).view(b, 3, 3) @ z
        else:
            lattice = self.lattice_head(pooled)
        out = {self.cf: coords * mask.unsqueeze(-1).to(x.dtype), self.lf: lattice.to(state[self.lf].value.dtype)}
        if self.type_head is not None:
            out[self.tf] = self.type_head(h).to(x.dtype if x.is_floating_point() else torch.float32)
        return out
