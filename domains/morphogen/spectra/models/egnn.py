"""The molecule denoiser of DiffSpectra-style structure elucidation: an SE(3)-equivariant graph transformer over
all atoms (hydrogens included) that denoises atom types, bonds and 3-D coordinates jointly, conditioned on the
spectral encoder's tokens through cross-attention.

Fields (the joint process's; shared t):
- ``atoms``: (B, N) long, the element of each atom (K classes) or the mask token K (masked diffusion);
- ``bonds``: (B, P) long over the P = N (N - 1) / 2 atom pairs i < j in ``torch.triu_indices(N, N, 1)`` order:
  0 none, 1 single, 2 double, 3 triple (Kekulé form), or the mask token;
- ``pos``: (B, N, 3) coordinates in Angstrom, zero centre of mass (:class:`~morphogen.processes.ZeroCoMGaussian`).
Padded atoms (``state["atoms"].mask`` False) are ignored everywhere.

Each layer, for atoms i, j with features h_i, pair features e_ij and distance d_ij (radial basis):
- multi-head attention of i over j with logits q_i . k_j + a bias from (e_ij, rbf(d_ij)), messages
  m_ij = MLP(h_i, h_j, e_ij, rbf(d_ij)) (its first layer applied to h_i and h_j per atom, not per pair); h_i += W sum_j a_ij m_ij; e_ij += MLP(m_ij), kept symmetric;
- an EGNN coordinate update x_i += sum_j (x_i - x_j) / (d_ij + 1) phi(m_ij) / (n - 1): equivariant under
  rotations, reflections and translations, since only differences and distances enter;
- cross-attention of h_i over the spectral tokens, then a feed-forward block.
Heads: element logits from h_i, bond logits from e_ij + e_ji, and the coordinates' x1 estimate: the last x,
centred. Invariant outputs (atoms, bonds) are invariant and the coordinates equivariant
(``morphogen.testing.assert_equivariant`` checks both).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from morphogen.nn.embeddings import SinusoidalEmbedding
from morphogen.utils.config import Configurable


def pair_index(n: int, device=None) -> tuple[Tensor, Tensor]:
    """The (i, j) of the P = n (n - 1) / 2 pairs i < j, in the bonds field's order."""
    idx = torch.triu_indices(n, n, 1, device=device)
    return idx[0], idx[1]


def num_atoms_of_pairs(p: int) -> int:
    """n with n (n - 1) / 2 = p."""
    n = int(round((1 + math.sqrt(1 + 8 * p)) / 2))
    if n * (n - 1) // 2 != p:
        raise ValueError(f"{p} pairs is not n (n - 1) / 2 for any n")
    return n


def pairs_to_dense(pairs: Tensor, n: int, diagonal: int) -> Tensor:
    """(B, P) pair values -> (B, n, n) symmetric, ``diagonal`` on the diagonal."""
    b = pairs.shape[0]
    i, j = pair_index(n, pairs.device)
    out = torch.full((b, n, n), diagonal, dtype=pairs.dtype, device=pairs.device)
    out[:, i, j] = pairs
    out[:, j, i] = pairs
    return out


class RadialBasis(nn.Module):
    """d (...) in Angstrom -> (..., num) Gaussians on [0, cutoff]."""

    def __init__(self, num: int = 16, cutoff: float = 8.0):
        super().__init__()
        self.register_buffer("centers", torch.linspace(0.0, cutoff, num), persistent=False)
        self.width = cutoff / num

    def forward(self, d: Tensor) -> Tensor:
        return torch.exp(-((d[..., None] - self.centers) / self.width) ** 2)


class EquivariantLayer(nn.Module):
    """One layer (see the module docstring): (h (B,N,d), e (B,N,N,de), x (B,N,3)) -> updated, masked."""

    def __init__(self, d: int, de: int, heads: int, rbf: int, dropout: float = 0.0):
        super().__init__()
        if d % heads:
            raise ValueError(f"d_model {d} is not a multiple of heads {heads}")
        self.d, self.heads = d, heads
        self.norm1 = nn.LayerNorm(d)
        self.q, self.k = nn.Linear(d, d), nn.Linear(d, d)
        self.bias = nn.Linear(de + rbf, heads)
        # the message MLP's first layer on [h_i, h_j, e_ij, rbf_ij], split into its node and pair parts: the node
        # parts are computed once per atom instead of once per pair (the same function, ~2x less work per layer)
        self.msg_node = nn.Linear(d, 2 * d, bias=False)
        self.msg_pair = nn.Linear(de + rbf, d)
        self.msg_out = nn.Sequential(nn.SiLU(), nn.Linear(d, d))
        self.node_out = nn.Linear(d, d)
        self.edge_up = nn.Sequential(nn.Linear(d, de), nn.SiLU(), nn.Linear(de, de))
        self.edge_norm = nn.LayerNorm(de)
        self.coord = nn.Sequential(nn.Linear(d, d // 2), nn.SiLU(), nn.Linear(d // 2, 1))
        nn.init.zeros_(self.coord[-1].weight)
        nn.init.zeros_(self.coord[-1].bias)
        self.norm2 = nn.LayerNorm(d)
        self.cross = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.norm3 = nn.LayerNorm(d)
        self.ffn = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(4 * d, d))

    def forward(self, h, e, x, rbf, node_mask, cond, cond_pad):
        b, n, _ = h.shape
        pair_ok = node_mask[:, :, None] & node_mask[:, None, :] & ~torch.eye(n, dtype=torch.bool, device=h.device)
        diff = x[:, :, None, :] - x[:, None, :, :]
        dist = torch.sqrt((diff * diff).sum(-1) + 1e-8)
        r = rbf(dist)
        pair = torch.cat([self.edge_norm(e), r], dim=-1)
        hn = self.norm1(h)
        a_i, a_j = self.msg_node(hn).chunk(2, dim=-1)
        m = self.msg_out(a_i[:, :, None] + a_j[:, None] + self.msg_pair(pair))
        dh = self.d // self.heads
        q = self.q(hn).view(b, n, self.heads, dh)
        k = self.k(hn).view(b, n, self.heads, dh)
        logits = torch.einsum("bihc,bjhc->bhij", q, k) / math.sqrt(dh) + self.bias(pair).permute(0, 3, 1, 2)
        logits = logits.masked_fill(~pair_ok[:, None], float("-inf"))
        att = torch.softmax(logits, dim=-1).nan_to_num(0.0)  # an atom with no partner attends to nothing
        agg = torch.einsum("bhij,bijhc->bihc", att, m.view(b, n, n, self.heads, dh)).reshape(b, n, self.d)
        h = h + self.node_out(agg)
        de = self.edge_up(m)
        e = e + 0.5 * (de + de.transpose(1, 2))
        w = self.coord(m)[..., 0] * pair_ok
        count = (node_mask.sum(-1, keepdim=True) - 1).clamp_min(1).to(x.dtype)[:, :, None]
        x = x + (diff / (dist[..., None] + 1.0) * w[..., None]).sum(2) / count
        if cond is not None:
            hq = self.norm2(h)
            h = h + self.cross(hq, cond, cond, key_padding_mask=cond_pad, need_weights=False)[0]
        h = h + self.ffn(self.norm3(h))
        keep = node_mask[..., None].to(h.dtype)
        return h * keep, e, x * keep


class MoleculeDenoiser(Configurable, nn.Module):
    """Args:
        num_atom_types: K elements (the atoms field's classes; QM9: H, C, N, O, F).
        num_bond_types: bond classes (0 none, 1 single, 2 double, 3 triple).
        d_model, d_edge, layers, heads: widths and depth.
        rbf, cutoff: radial basis of distances (Angstrom).
        encoder: arguments of :class:`~morphogen.spectra.models.encoder.SpectrumEncoder` (its ``d_model`` is
            this model's); None: unconditional.
        dropout: inside the layers.
    """

    def __init__(self, num_atom_types: int = 5, num_bond_types: int = 4, d_model: int = 128, d_edge: int = 32,
                 layers: int = 6, heads: int = 4, rbf: int = 16, cutoff: float = 8.0,
                 encoder: Mapping[str, Any] | None = None, dropout: float = 0.0):
        super().__init__()
        self.k_atoms, self.k_bonds = int(num_atom_types), int(num_bond_types)
        self.prediction_kinds = {"atoms": "logits", "bonds": "logits", "pos": "x1"}
        self.atom_emb = nn.Embedding(self.k_atoms + 1, d_model)  # + the mask token
        self.bond_emb = nn.Embedding(self.k_bonds + 2, d_edge)  # + the mask token + the diagonal
        self.temb = SinusoidalEmbedding(d_model)
        self.rbf = RadialBasis(rbf, cutoff)
        self.layers = nn.ModuleList([EquivariantLayer(d_model, d_edge, heads, rbf, dropout) for _ in range(layers)])
        self.atom_head = nn.Sequential(nn.LayerNorm(d_model), nn.Linear(d_model, self.k_atoms))
        self.bond_head = nn.Sequential(nn.LayerNorm(d_edge), nn.Linear(d_edge, d_edge), nn.SiLU(),
                                       nn.Linear(d_edge, self.k_bonds))
        self.encoder = None
        if encoder is not None:
            from morphogen.spectra.models.encoder import SpectrumEncoder

            self.encoder = SpectrumEncoder(d_model=d_model, **dict(encoder))

    def forward(self, state, condition=None, drop_condition=None) -> dict[str, Tensor]:
        atoms, bonds, pos = state["atoms"], state["bonds"], state["pos"]
        b, n = atoms.value.shape
        node_mask = atoms.mask.bool() if atoms.mask is not None else torch.ones(b, n, dtype=torch.bool,
                                                                                  device=atoms.value.device)
        node_mask = node_mask.reshape(b, n)
        h = self.atom_emb(atoms.value) + self.temb(atoms.t)[:, None]
        e = self.bond_emb(pairs_to_dense(bonds.value, n, self.k_bonds + 1))
        x = pos.value
        cond = pad = None
        if self.encoder is not None and condition is not None:
            cond, pad = self.encoder(condition, b, device=h.device)
            if drop_condition is not None:
                pad = pad.clone()
                pad[drop_condition, 1:] = True  # an unconditional row keeps only the CLS token
                cond = torch.where(drop_condition[:, None, None], cond * 0, cond)
        keep = node_mask[..., None].to(h.dtype)
        h = h * keep
        for layer in self.layers:
            h, e, x = layer(h, e, x, self.rbf, node_mask, cond, pad)
        i, j = pair_index(n, h.device)
        bond_logits = self.bond_head(0.5 * (e + e.transpose(1, 2)))[:, i, j]
        from morphogen.processes.zero_com import center

        return {"atoms": self.atom_head(h), "bonds": bond_logits, "pos": center(x, node_mask[..., None])}
