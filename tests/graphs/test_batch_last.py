"""The batch-last insides of the GDSS networks (models/batch_last.py, models/pairs.py) against GDSS's batch-first
formulas, in float64: pair packing round trips, propagation, ScoreNetworkX, and single-node graphs (no pairs)."""
import pytest
import torch

from morphogen.graphs.models import ScoreNetworkA, ScoreNetworkX
from morphogen.graphs.models.batch_last import normalize_adjacency, propagate, with_self_loops
from morphogen.graphs.models.layers import gcn_normalize, mask_nodes, mask_pairs
from morphogen.graphs.models.pairs import PairLayout


def _sym(b, n, g, dtype=torch.float64):
    a = torch.randn(b, n, n, generator=g, dtype=dtype).triu(1)
    return a + a.transpose(1, 2)


def test_pairs_round_trip_and_sums():
    g = torch.Generator().manual_seed(0)
    n, b, c = 6, 5, 3
    layout = PairLayout(n)
    assert layout.size == n * (n - 1) // 2
    a = torch.stack([_sym(b, n, g) for _ in range(c)]).permute(0, 2, 3, 1)  # C, N, N, B, zero diagonal
    pairs = layout.pack(a)
    assert pairs.shape == (c, layout.size, b)
    assert torch.equal(layout.unpack(pairs), a)
    eye = torch.eye(n, dtype=a.dtype)[None, :, :, None]
    assert torch.equal(layout.unpack(pairs, diagonal=1.0), a + eye)
    m = torch.randn(c, n, n, b, generator=g, dtype=torch.float64)  # not symmetric
    i, j = torch.triu_indices(n, n, 1)
    assert torch.equal(layout.pack_sum(m), m[:, i, j] + m[:, j, i])


def test_propagate_and_normalisation_match_dense_products():
    g = torch.Generator().manual_seed(1)
    b, n, f = 4, 7, 5
    adj, x = _sym(b, n, g), torch.randn(b, n, f, generator=g, dtype=torch.float64)
    a = normalize_adjacency(with_self_loops(adj))  # N, N, B
    assert torch.allclose(a.permute(2, 0, 1), gcn_normalize(adj), atol=1e-14)
    out = propagate(a[None], x.permute(2, 1, 0))[0]  # F, N, B
    assert torch.allclose(out.permute(2, 1, 0), gcn_normalize(adj) @ x, atol=1e-13)


def _gdss_x(net, x, adj, mask):
    """ScoreNetworkX by GDSS's batch-first formulas."""
    x, adj = mask_nodes(x, mask), mask_pairs(adj, mask)
    hs = [x]
    for conv in net.convs:
        x = torch.tanh(gcn_normalize(adj) @ (x @ conv.weight) + conv.bias)
        hs.append(x)
    return mask_nodes(net.final(torch.cat(hs, -1)), mask)


def test_score_x_equals_gdss_formula():
    torch.manual_seed(0)
    net = ScoreNetworkX(4, depth=2, hidden=16).double()
    g = torch.Generator().manual_seed(2)
    b, n = 6, 9
    x, adj = torch.randn(b, n, 4, generator=g, dtype=torch.float64), _sym(b, n, g)
    mask = torch.arange(n)[None] < torch.randint(2, n + 1, (b,), generator=g)[:, None]
    out, ref = net(x, adj, mask), _gdss_x(net, x, adj, mask)
    assert out.shape == (b, n, 4) and out.is_contiguous()
    assert (out - ref).abs().max().item() < 1e-12
    assert out[~mask].abs().max().item() == 0.0


@pytest.mark.parametrize("n", [1, 2])
def test_tiny_graphs(n):
    """One node has no pairs (P = 0): the adjacency score is all zeros, the node score still defined."""
    torch.manual_seed(0)
    a_net, x_net = ScoreNetworkA(4).double(), ScoreNetworkX(4).double()
    x, adj = torch.randn(3, n, 4, dtype=torch.float64), torch.zeros(3, n, n, dtype=torch.float64)
    mask = torch.ones(3, n, dtype=torch.bool)
    out = a_net(x, adj, mask)
    assert out.shape == (3, n, n) and torch.equal(out, out.transpose(1, 2))
    assert out.diagonal(dim1=1, dim2=2).abs().max().item() == 0.0
    assert torch.isfinite(x_net(x, adj, mask)).all()


def test_layout_cached_in_inference_mode_serves_autograd():
    """Sampling (under torch.inference_mode) and then training in one process share the cached pair layout."""
    from morphogen.graphs.models.pairs import pair_layout

    pair_layout.cache_clear()
    net = ScoreNetworkA(4, hidden=8, attn_dim=8, num_layers=2, c_hid=4, c_final=2)
    x, adj = torch.randn(2, 5, 4), torch.randn(2, 5, 5).triu(1)
    with torch.inference_mode():
        net(x, adj + adj.transpose(1, 2))
    net(x, adj + adj.transpose(1, 2)).sum().backward()
    assert all(p.grad is not None for p in net.final.parameters())
