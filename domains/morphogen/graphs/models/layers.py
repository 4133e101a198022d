"""Dense graph layers of GDSS: GCN convolution over a (noisy, weighted) adjacency, an MLP, graph multi-head
attention (Baek et al. 2021) and the masking helpers. Every tensor is dense and padded: x (B, N, F), adj (B, N, N),
node mask (B, N); the networks run their layers in the batch-last layout of :mod:`.batch_last` (``batch_last``
methods, :class:`AttentionLayer`)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from morphogen.graphs.models.batch_last import normalize_adjacency, propagate
from morphogen.graphs.models.pairs import PairLayout


def mask_nodes(x: Tensor, mask: Tensor | None) -> Tensor:
    """Zero padded rows of x (B, N, F); mask (B, N)."""
    return x if mask is None else x * mask[:, :, None].to(x.dtype)


def mask_pairs(a: Tensor, mask: Tensor | None) -> Tensor:
    """Zero rows and columns of padded nodes in a (B, N, N) or (B, C, N, N)."""
    if mask is None:
        return a
    m = mask.to(a.dtype)
    if a.dim() == 4:
        m = m[:, None]
    return a * m[..., :, None] * m[..., None, :]


def adjacency_powers(adj: Tensor, c: int) -> Tensor:
    """(B, N, N) -> (B, c, N, N): A, A^2, ..., A^c (the channels ScoreNetworkA starts from)."""
    out, cur = [adj], adj
    for _ in range(c - 1):
        cur = torch.bmm(cur, adj)
        out.append(cur)
    return torch.stack(out, dim=1)


def gcn_normalize(adj: Tensor) -> Tensor:
    """(..., N, N) -> D^-1/2 (A + I) D^-1/2 with the diagonal of A replaced by 1 and degrees clamped at 1."""
    n = adj.shape[-1]
    eye = torch.eye(n, dtype=adj.dtype, device=adj.device)
    a = adj * (1 - eye) + eye
    d = a.sum(-1).clamp_min(1.0).pow(-0.5)
    return d[..., :, None] * a * d[..., None, :]


class DenseGCN(nn.Module):
    """GCN layer on a dense weighted adjacency with self-loops set to 1: D^-1/2 (A + I) D^-1/2 X W + b, degrees
    clamped at 1 (as torch_geometric's DenseGCNConv, which GDSS uses)."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_dim, out_dim))
        self.bias = nn.Parameter(torch.zeros(out_dim))
        nn.init.xavier_uniform_(self.weight)

    def forward(self, x: Tensor, adj: Tensor) -> Tensor:
        """x (B, N, F_in), adj (B, N, N) -> (B, N, F_out)."""
        return gcn_normalize(adj) @ (x @ self.weight) + self.bias

    def batch_last(self, x: Tensor, a: Tensor) -> Tensor:
        """The same layer batch-last: x (F_in, N, B), a (N, N, B) already normalised (``normalize_adjacency`` of
        the adjacency with self-loops) -> (F_out, N, B); computed as (a x) W + b."""
        f, n, b = x.shape
        ax = propagate(a[None], x)[0].reshape(f, n * b)
        return torch.addmm(self.bias[:, None], self.weight.t(), ax).reshape(self.weight.shape[1], n, b)


class MLP(nn.Module):
    """``layers`` linear maps with ELU between them (GDSS's MLP without batch norm); layers=1 is linear."""

    def __init__(self, layers: int, in_dim: int, hidden: int, out_dim: int, act=F.elu):
        super().__init__()
        if layers < 1:
            raise ValueError("an MLP needs at least one layer")
        dims = [in_dim] + [hidden] * (layers - 1) + [out_dim]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.act = act

    def forward(self, x: Tensor) -> Tensor:
        for k, lin in enumerate(self.linears):
            x = lin(x)
            if k < len(self.linears) - 1:
                x = self.act(x)
        return x

    def columns(self, z: Tensor) -> Tensor:
        """The same map on columns (batch-last): z (in_dim, M) -> (out_dim, M)."""
        for k, lin in enumerate(self.linears):
            z = torch.addmm(lin.bias[:, None], lin.weight, z)
            if k < len(self.linears) - 1:
                z = self.act(z)
        return z


class GraphMultiHeadAttention(nn.Module):
    """GMH attention of GDSS: Q, K, V by GCN layers; the attention map tanh(Q K^T / sqrt(out_dim)) averaged over
    heads and symmetrised is the new adjacency channel; V the new node features."""

    def __init__(self, in_dim: int, attn_dim: int, out_dim: int, heads: int = 4):
        super().__init__()
        if attn_dim % heads:
            raise ValueError(f"attn_dim={attn_dim} must be divisible by heads={heads}")
        self.q, self.k, self.v = DenseGCN(in_dim, attn_dim), DenseGCN(in_dim, attn_dim), DenseGCN(in_dim, out_dim)
        self.heads, self.out_dim = heads, out_dim

    def forward(self, x: Tensor, adj: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, N, F), adj (B, N, N) -> V (B, N, out_dim), attention (B, N, N) symmetric."""
        b, n, _ = x.shape
        q = self.q(x, adj).reshape(b, n, self.heads, -1).transpose(1, 2)  # B, H, N, d
        k = self.k(x, adj).reshape(b, n, self.heads, -1).transpose(1, 2)
        att = torch.tanh(q @ k.transpose(-1, -2) / math.sqrt(self.out_dim)).mean(1)
        return self.v(x, adj), 0.5 * (att + att.transpose(-1, -2))


class AttentionLayer(nn.Module):
    """One layer of ScoreNetworkA: a GMH attention per input adjacency channel; node features mixed by an MLP
    (tanh), adjacency channels by an MLP over [attention maps, input channels], symmetrised and masked.

    It runs batch-last (:mod:`.batch_last`) and on node pairs i < j (:mod:`.pairs`): the adjacency channels are
    symmetric and their diagonals never reach ScoreNetworkA's output, so the pair MLP runs on those P pairs only.
    Its input is the same at (i, j) and (j, i), so GDSS's symmetrisation ``a + a^T`` is ``2 a`` there."""

    def __init__(self, linears: int, in_dim: int, attn_dim: int, out_dim: int, c_in: int, c_out: int, heads: int = 4):
        super().__init__()
        self.attn = nn.ModuleList(GraphMultiHeadAttention(in_dim, attn_dim, out_dim, heads) for _ in range(c_in))
        hidden = 2 * max(c_in, c_out)
        self.mlp = MLP(linears, 2 * c_in, hidden, c_out)
        self.mix = MLP(2, c_in * out_dim, hidden, out_dim)

    def _stacked_gcn(self, parts: str) -> tuple[Tensor, Tensor]:
        """The convolutions ``parts`` ("qk": Q and K, "v": V) of all channels as one batched map: weights (C, D, F),
        bias (C, D, 1). Stacked on the fly, so the parameters and the state dict stay those of the per-channel
        modules. Q is scaled by 2 / sqrt(out_dim) for the sigmoid form of the attention (see forward)."""
        if parts == "v":
            ws, bs = [m.v.weight for m in self.attn], [m.v.bias for m in self.attn]
        else:
            s = 2.0 / math.sqrt(self.attn[0].out_dim)
            ws = [torch.cat([m.q.weight * s, m.k.weight], 1) for m in self.attn]
            bs = [torch.cat([m.q.bias * s, m.k.bias]) for m in self.attn]
        return torch.stack(ws).transpose(1, 2), torch.stack(bs)[:, :, None]

    def forward(self, x: Tensor, pairs: Tensor, layout: PairLayout, node_mask: Tensor | None,
                pair_mask: Tensor | None, node_output: bool = True) -> tuple[Tensor | None, Tensor]:
        """Batch-last: x (F, N, B), pairs (C_in, P, B) (the channels at the pairs of ``layout``), node_mask (N, B)
        and pair_mask (P, B) (1 = real node / both nodes real; None: no padding) -> x (out_dim, N, B),
        pairs (C_out, P, B).

        ``node_output=False`` (ScoreNetworkA's last layer, whose node features nothing reads) skips V and the node
        MLP and returns None for x. Equals running ``attn[c]`` on adjacency channel c, channel by channel, then
        GDSS's MLPs (tests/graphs/test_score_a_batched.py)."""
        f, n, b = x.shape
        c = pairs.shape[0]
        first = self.attn[0]
        heads, ad, od = first.heads, first.q.weight.shape[1], first.out_dim
        # GCN of every channel: (a x) W + b, a = D^-1/2 (A_c + I) D^-1/2
        ax = propagate(normalize_adjacency(layout.unpack(pairs, diagonal=1.0)), x).reshape(c, f, n * b)
        w, bias = self._stacked_gcn("qk")
        qk = torch.baddbmm(bias, w, ax).reshape(c, 2, heads, -1, n, b)  # C, Q / K, H, d, N, B
        # attention maps: mean over heads of tanh(q.k / sqrt(od)) = 2 sigmoid(2 q.k / sqrt(od)) - 1 (q carries the
        # 2 / sqrt(od)); sigmoid costs half of tanh on the CPU
        q, k = qk[:, 0], qk[:, 1]
        s = q[:, :, 0, :, None] * k[:, :, 0, None, :]  # C, H, N, N, B
        for e in range(1, q.shape[2]):
            s.addcmul_(q[:, :, e, :, None], k[:, :, e, None, :])
        sig = torch.sigmoid(s).sum(1)  # C, N, N, B: heads times the mean
        maps = layout.pack_sum(sig).mul_(1.0 / heads).sub_(1.0)  # 0.5 (att_ij + att_ji) = mean_ij + mean_ji - 1
        a = self.mlp.columns(torch.cat([maps, pairs]).reshape(2 * c, layout.size * b))
        a = a.reshape(a.shape[0], layout.size, b)
        a = a + a  # a + a^T
        if pair_mask is not None:
            a = a * pair_mask
        if not node_output:
            return None, a
        w, bias = self._stacked_gcn("v")
        vs = torch.baddbmm(bias, w, ax).reshape(c * od, n * b)  # rows [v_0; v_1; ...]: GDSS's per-node concat
        x_out = self.mix.columns(vs).reshape(od, n, b)
        if node_mask is not None:
            x_out = x_out * node_mask
        return torch.tanh(x_out), a
