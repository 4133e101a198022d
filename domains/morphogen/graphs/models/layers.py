"""Dense graph layers of GDSS: GCN convolution over a (noisy, weighted) adjacency, an MLP, graph multi-head
attention (Baek et al. 2021) and the masking helpers. Every tensor is dense and padded: x (B, N, F), adj (B, N, N),
node mask (B, N)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


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
    (tanh), adjacency channels by an MLP over [attention maps, input channels], symmetrised and masked."""

    def __init__(self, linears: int, in_dim: int, attn_dim: int, out_dim: int, c_in: int, c_out: int, heads: int = 4):
        super().__init__()
        self.attn = nn.ModuleList(GraphMultiHeadAttention(in_dim, attn_dim, out_dim, heads) for _ in range(c_in))
        hidden = 2 * max(c_in, c_out)
        self.mlp = MLP(linears, 2 * c_in, hidden, c_out)
        self.mix = MLP(2, c_in * out_dim, hidden, out_dim)

    def forward(self, x: Tensor, adjc: Tensor, mask: Tensor | None) -> tuple[Tensor, Tensor]:
        """x (B, N, F), adjc (B, C_in, N, N) -> x (B, N, out_dim), adjc (B, C_out, N, N).

        All C_in attention modules and their Q, K, V convolutions run as one batched computation (the weights of
        ``attn[c].q/k/v`` are stacked on the fly, so the parameters and the state dict are those of the per-channel
        modules); it equals running ``attn[c](x, adjc[:, c])`` channel by channel."""
        b, c, n, _ = adjc.shape
        first = self.attn[0]
        heads, ad, od = first.heads, first.q.weight.shape[1], first.out_dim
        # (F, C * D) with D = 2 * attn_dim + out_dim: per channel the columns of Q, K and V
        w = torch.stack([torch.cat([m.q.weight, m.k.weight, m.v.weight], 1) for m in self.attn], 1)
        bias = torch.stack([torch.cat([m.q.bias, m.k.bias, m.v.bias]) for m in self.attn])  # C, D
        xw = (x @ w.reshape(w.shape[0], -1)).reshape(b, n, c, -1).transpose(1, 2)  # B, C, N, D
        h = gcn_normalize(adjc) @ xw + bias[:, None, :]  # B, C, N, D
        q = h[..., :ad].reshape(b, c, n, heads, -1).transpose(2, 3)  # B, C, H, N, d
        k = h[..., ad:2 * ad].reshape(b, c, n, heads, -1).transpose(2, 3)
        att = torch.tanh(q @ k.transpose(-1, -2) / math.sqrt(od)).mean(2)  # B, C, N, N
        maps = 0.5 * (att + att.transpose(-1, -2))
        vs = h[..., 2 * ad:].transpose(1, 2).reshape(b, n, c * od)  # [v_0 | v_1 | ...] per node
        x_out = torch.tanh(mask_nodes(self.mix(vs), mask))
        pair = torch.cat([maps, adjc], 1).permute(0, 2, 3, 1)  # B, N, N, 2 C_in
        a = self.mlp(pair).permute(0, 3, 1, 2)
        return x_out, mask_pairs(a + a.transpose(-1, -2), mask)
