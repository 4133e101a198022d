"""The batched ScoreNetworkA (all channels, heads and Q/K/V at once) against a channel-by-channel, head-by-head
reference written from the GDSS formulas, and its state dict against the per-module layout of older checkpoints."""
import math

import pytest
import torch

from morphogen.graphs.models import ScoreNetworkA
from morphogen.graphs.models.layers import mask_nodes, mask_pairs

QM9 = dict(num_features=4, hidden=16, attn_dim=16, num_layers=3, num_linears=3, c_init=2, c_hid=8, c_final=4, heads=4)


def _gcn(conv, x, adj):
    n = adj.shape[-1]
    eye = torch.eye(n, dtype=adj.dtype)
    a = adj * (1 - eye) + eye
    d = a.sum(-1).clamp_min(1.0).pow(-0.5)
    return (d[:, :, None] * a * d[:, None, :]) @ (x @ conv.weight) + conv.bias


def _reference_layer(layer, x, adjc, mask):
    vs, maps = [], []
    for c, att in enumerate(layer.attn):
        adj = adjc[:, c]
        q, k, v = _gcn(att.q, x, adj), _gcn(att.k, x, adj), _gcn(att.v, x, adj)
        d = q.shape[-1] // att.heads
        score = 0
        for h in range(att.heads):
            qh, kh = q[..., h * d:(h + 1) * d], k[..., h * d:(h + 1) * d]
            score = score + torch.tanh(qh @ kh.transpose(1, 2) / math.sqrt(att.out_dim))
        score = score / att.heads
        maps.append(0.5 * (score + score.transpose(1, 2)))
        vs.append(v)
    x_out = torch.tanh(mask_nodes(layer.mix(torch.cat(vs, -1)), mask))
    pair = torch.cat([torch.stack(maps, -1), adjc.permute(0, 2, 3, 1)], -1)
    a = layer.mlp(pair).permute(0, 3, 1, 2)
    return x_out, mask_pairs(a + a.transpose(-1, -2), mask)


def _reference(net, x, adj, mask):
    x, adj = mask_nodes(x, mask), mask_pairs(adj, mask)
    chans = [adj]
    for _ in range(net.c_init - 1):
        chans.append(chans[-1] @ adj)
    adjc = torch.stack(chans, 1)
    stack = [adjc]
    for layer in net.layers:
        x, adjc = _reference_layer(layer, x, adjc, mask)
        stack.append(adjc)
    out = net.final(torch.cat(stack, 1).permute(0, 2, 3, 1)).squeeze(-1)
    out = 0.5 * (out + out.transpose(-1, -2))
    out = out * (1 - torch.eye(out.shape[-1], dtype=out.dtype))
    return mask_pairs(out, mask)


def _inputs(b=16, n=9, f=4, dtype=torch.float32):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(b, n, f, generator=g, dtype=dtype)
    a = torch.randn(b, n, n, generator=g, dtype=dtype).triu(1)
    mask = torch.arange(n)[None] < torch.randint(2, n + 1, (b,), generator=g)[:, None]
    return x, a + a.transpose(1, 2), mask


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 2e-6)])
def test_batched_equals_reference(dtype, tol):
    torch.manual_seed(0)
    net = ScoreNetworkA(**QM9).to(dtype)
    x, a, m = _inputs(dtype=dtype)
    out, ref = net(x, a, m), _reference(net, x, a, m)
    assert out.shape == (16, 9, 9)
    assert (out - ref).abs().max().item() < tol
    # gradients through the stacked weights reach each per-channel parameter as in the reference (the last
    # layer's node branch does not affect the output: no gradient in the reference, zeros in the batched one)
    params = list(net.parameters())
    g_out = torch.autograd.grad(out.square().sum(), params, allow_unused=True)
    g_ref = torch.autograd.grad(ref.square().sum(), params, allow_unused=True)
    for p, go, gr in zip(params, g_out, g_ref):
        go = torch.zeros_like(p) if go is None else go
        gr = torch.zeros_like(p) if gr is None else gr
        assert (go - gr).abs().max().item() < 100 * tol


def test_state_dict_keeps_per_channel_layout():
    net = ScoreNetworkA(**QM9)
    sd = net.state_dict()
    for layer, (c_in, f_in, ad) in enumerate([(2, 4, 16), (8, 16, 16), (8, 16, 16)]):
        for c in range(c_in):
            for part, width in (("q", ad), ("k", ad), ("v", 16)):
                assert sd[f"layers.{layer}.attn.{c}.{part}.weight"].shape == (f_in, width)
                assert sd[f"layers.{layer}.attn.{c}.{part}.bias"].shape == (width,)
    assert f"layers.0.attn.2.q.weight" not in sd
    ScoreNetworkA(**QM9).load_state_dict(sd)  # strict
