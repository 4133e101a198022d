"""PyTorch Geometric as the interface: train from an InMemoryDataset on disk (one the test writes, and a TUDataset
that PyG itself processes from TU text files), sample, and get the graphs back as ``Data`` objects."""
import json

import pytest
import torch

from morphogen.graphs.data.errors import GraphDataError

# torch_geometric is part of the [graphs] extra: the tests need it and fail without it


@pytest.fixture(scope="module")
def pyg():
    from morphogen.graphs.data.pyg import import_pyg

    return import_pyg()


def toy_graphs():
    """12 graphs of 4..8 nodes: cycles and paths, x = one-hot of a node label in 3 classes; some stored with one
    direction per edge only (PyG allows it; the dense tensors are undirected)."""
    from torch_geometric.data import Data

    out = []
    for k in range(12):
        n = 4 + k % 5
        pairs = [(i, i + 1) for i in range(n - 1)] + ([(n - 1, 0)] if k % 2 else [])
        ei = torch.tensor(pairs).t()
        if k % 3:
            ei = torch.cat([ei, ei.flip(0)], 1)
        x = torch.nn.functional.one_hot(torch.arange(n) % 3, 3).float()
        out.append(Data(x=x, edge_index=ei, y=torch.tensor([k % 2])))
    return out


@pytest.fixture
def toy_dataset(pyg, tmp_path):
    from torch_geometric.data import InMemoryDataset

    root = tmp_path / "toy"
    (root / "processed").mkdir(parents=True)
    InMemoryDataset.save(toy_graphs(), str(root / "processed" / "data.pt"))
    return root


def _undirected_pairs(d):
    return {(min(i, j), max(i, j)) for i, j in d.edge_index.t().tolist() if i != j}


def test_read_an_in_memory_dataset(toy_dataset):
    from morphogen.graphs.data.pyg import pyg_dataset_file, read_pyg_dataset

    want = toy_graphs()
    for where in (toy_dataset, toy_dataset / "processed", toy_dataset / "processed" / "data.pt"):
        assert pyg_dataset_file(where) == toy_dataset / "processed" / "data.pt"
        got = read_pyg_dataset(where)
        assert len(got) == 12
        for a, b in zip(got, want):
            assert a.num_nodes == b.num_nodes and torch.equal(a.edge_index, b.edge_index) and torch.equal(a.x, b.x)


def test_dense_tensors_match_the_networkx_featurisation(toy_dataset):
    from morphogen.graphs.data.generic import graphs_to_dense
    from morphogen.graphs.data.pyg import pyg_to_dense, pyg_to_networkx, read_pyg_dataset

    graphs = read_pyg_dataset(toy_dataset)
    dense = pyg_to_dense(graphs)
    ref = graphs_to_dense(pyg_to_networkx(graphs))  # GDSS's one-hot degree, from networkx
    assert torch.equal(dense.adj, ref.adj) and torch.equal(dense.x, ref.x) and torch.equal(dense.mask, ref.mask)
    assert dense.feature_names == ["degree=0", "degree=1", "degree=2"] and dense.max_nodes == 8
    assert torch.equal(dense.adj, dense.adj.transpose(1, 2))  # one-direction edges made undirected
    own = pyg_to_dense(graphs, max_nodes=10, node_features="x")
    assert own.x.shape == (12, 10, 3) and torch.equal(own.x[0, :4], graphs[0].x) and own.x[0, 4:].abs().sum() == 0
    with pytest.raises(GraphDataError, match="graph 0: a node of degree 2 does not fit 2 degree features"):
        pyg_to_dense(graphs, max_degree_feat=2)
    with pytest.raises(GraphDataError, match="graph 3: 7 nodes, more than max_nodes=6"):
        pyg_to_dense(graphs, max_nodes=6)


def test_a_file_that_needs_unpickling_is_refused(pyg, tmp_path):
    import fractions

    from torch_geometric.data import Data, InMemoryDataset

    from morphogen.graphs.data.pyg import read_pyg_dataset

    odd = tmp_path / "odd.pt"  # a class torch.load(weights_only=True) does not allow: never unpickled
    torch.save(({"x": torch.zeros(2, 1)}, {"x": torch.tensor([0, 2])}, fractions.Fraction(1, 3)), odd)
    with pytest.raises(GraphDataError, match="odd.pt: cannot be read without unpickling.*fractions.Fraction"):
        read_pyg_dataset(odd)
    # PyG < 2.4 pickled the Data object itself: refused too, read only when the caller trusts the file
    legacy = tmp_path / "legacy.pt"
    torch.save(InMemoryDataset.collate([Data(x=torch.ones(3, 1), edge_index=torch.tensor([[0, 1], [1, 2]]))] * 3),
               legacy)
    with pytest.raises(GraphDataError, match="allow_pickle=True"):
        read_pyg_dataset(legacy)
    assert [g.num_nodes for g in read_pyg_dataset(legacy, allow_pickle=True)] == [3, 3, 3]
    (tmp_path / "other.txt").write_text("no")
    with pytest.raises(GraphDataError, match="is not a PyG dataset"):
        read_pyg_dataset(tmp_path / "other.txt")


def test_train_sample_to_pyg(toy_dataset, tmp_path):
    from morphogen.bundle import load
    from morphogen.graphs import to_pyg
    from morphogen.graphs.pipeline import train
    from morphogen.train.options import TrainOptions

    res = train("pyg", tmp_path / "run", data=str(toy_dataset),
                options=TrainOptions(accelerator="cpu", max_steps=3, batch_size=4, progress=False))
    assert res.steps == 3
    model = load(tmp_path / "run")
    # 12 graphs, the first 20 % (2) held out as GDSS splits; N from the data, F = degree classes 0..2
    assert model.max_nodes == 8 and model.feature_names == ["degree=0", "degree=1", "degree=2"]
    assert sum(model.node_count_hist) == 10 and not model.molecules
    s = model.generate(2, steps=3, seed=0)
    data = to_pyg(s)
    assert len(data) == 2
    for k, d in enumerate(data):
        n = int(s.mask[k].sum())
        assert d.num_nodes == n and d.x.shape == (n, 3) and torch.equal(d.x.sum(1), torch.ones(n))
        ei = d.edge_index
        assert ei.dtype == torch.long and ei.shape[0] == 2 and (ei[0] != ei[1]).all()
        assert ei.numel() == 0 or int(ei.max()) < n
        assert sorted(map(tuple, ei.t().tolist())) == sorted(map(tuple, ei.flip(0).t().tolist()))  # symmetric
        kept = torch.triu((s.adj[k, :n, :n] >= 0.5).long(), 1).nonzero().tolist()
        assert _undirected_pairs(d) == {(i, j) for i, j in kept}


def test_to_pyg_bond_orders_and_raw_features(pyg):
    from morphogen.graphs.io.pyg import to_pyg

    x = torch.tensor([[[0.9, 0.2], [0.1, 0.7], [0.6, 0.4], [0.0, 0.0]]])
    adj = torch.zeros(1, 4, 4)
    adj[0, 0, 1] = adj[0, 1, 0] = 2.2  # a double bond
    adj[0, 1, 2] = adj[0, 2, 1] = 0.8  # a single bond
    adj[0, 2, 3] = adj[0, 3, 2] = 3.0  # node 3 is padding
    mask = torch.tensor([[True, True, True, False]])
    d = to_pyg((x, adj, mask), bond_orders=True)[0]
    assert d.num_nodes == 3 and d.edge_index.tolist() == [[0, 1, 1, 2], [1, 0, 2, 1]]
    assert d.edge_attr.flatten().tolist() == [2.0, 2.0, 1.0, 1.0]
    assert d.x.tolist() == [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    assert torch.equal(to_pyg((x, adj, mask), features="raw")[0].x, x[0, :3])
    assert to_pyg((x, adj, mask), threshold=1.0)[0].edge_index.tolist() == [[0, 1], [1, 0]]


def _write_tu(folder, name, graphs):
    """TU text files (1-based global node ids), what a user downloads from TU Dortmund."""
    folder.mkdir(parents=True)
    a, ind, lab, glab, base = [], [], [], [], 0
    for k, g in enumerate(graphs):
        for i in range(g.num_nodes):
            ind.append(k + 1)
            lab.append(int(g.x[i].argmax()))
        for i, j in g.edge_index.t().tolist():
            a.append(f"{i + base + 1}, {j + base + 1}")
        glab.append(int(g.y))
        base += g.num_nodes
    (folder / f"{name}_A.txt").write_text("\n".join(a) + "\n")
    (folder / f"{name}_graph_indicator.txt").write_text("\n".join(map(str, ind)) + "\n")
    (folder / f"{name}_node_labels.txt").write_text("\n".join(map(str, lab)) + "\n")
    (folder / f"{name}_graph_labels.txt").write_text("\n".join(map(str, glab)) + "\n")


def test_a_tudataset_through_the_cli(pyg, tmp_path):
    """PyG processes TU files into TUDataset(root, name)'s layout; train (node features = its one-hot node labels),
    sample and evaluate through the commands."""
    from torch_geometric.datasets import TUDataset
    from typer.testing import CliRunner

    from morphogen.graphs.cli import app
    from morphogen.graphs.pipeline import PRESET_DIR

    _write_tu(tmp_path / "tu" / "TOY" / "raw", "TOY", toy_graphs())
    ds = TUDataset(str(tmp_path / "tu"), "TOY")  # no download: the raw files are there
    assert len(ds) == 12 and (tmp_path / "tu" / "TOY" / "processed" / "data.pt").is_file()
    preset = tmp_path / "tu_labels.yaml"
    preset.write_text((PRESET_DIR / "pyg.yaml").read_text().replace("node_features: degree", "node_features: x"))
    folder = str(tmp_path / "tu" / "TOY")
    r = CliRunner().invoke(app, ["train", "--preset", str(preset), "--data", folder, "--out", str(tmp_path / "run"),
                                 "--max-steps", "2", "--batch-size", "4", "--accelerator", "cpu"])
    assert r.exit_code == 0, r.output
    assert "(2 optimiser steps)" in r.output
    r = CliRunner().invoke(app, ["sample", "--checkpoint", str(tmp_path / "run"), "--num-samples", "2",
                                 "--steps", "3", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert len(json.loads((tmp_path / "s" / "graphs.json").read_text())["graphs"]) == 2
    r = CliRunner().invoke(app, ["evaluate", "--samples", str(tmp_path / "s"), "--reference", str(preset),
                                 "--data", folder])
    assert r.exit_code == 0, r.output
    table = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert table["num_samples"] == 2 and all(table[k] >= 0 for k in ("degree", "clustering", "orbit"))
    from morphogen.bundle import load

    assert load(tmp_path / "run").feature_names == ["x[0]", "x[1]", "x[2]"]


def test_the_pyg_preset_needs_data(pyg):
    from morphogen.errors import NotFoundError
    from morphogen.graphs.data.sources import prepare_data
    from morphogen.graphs.pipeline import load_preset

    with pytest.raises(NotFoundError, match="--data"):
        prepare_data(load_preset("pyg"))
