"""Prepared datasets (``morphogen graphs prepare``), the QM9 featurisation cache, training on a prepared file
without RDKit / networkx / qm9pack, and the trainer options (``max_minutes``)."""
import subprocess
import sys
import textwrap

import pytest
import torch

# QM9-like molecules (C N O F, at most 9 heavy atoms)
SMILES = ["C", "N", "O", "CC", "CO", "C=O", "CN", "CCO", "CC#N", "C#C", "CC(C)O", "OCCO", "FC(F)F", "c1ccccc1",
          "CC(=O)O", "NC=O", "C1CC1", "C1CCC1O", "CC(C)(C)C", "N#CC#N", "OC1CC1", "CCCN", "COC=O", "CC=CC"]


@pytest.fixture
def env(shared_data, monkeypatch, tmp_path):
    monkeypatch.setenv("MORPHOGEN_DATA", str(shared_data))
    monkeypatch.setenv("MORPHOGEN_CACHE", str(tmp_path / "cache"))
    return shared_data


@pytest.fixture
def qm9_csv(tmp_path):
    path = tmp_path / "qm9_small.csv"
    path.write_text("smiles\n" + "\n".join(SMILES) + "\n")
    return path


def _prepare(args):
    from typer.testing import CliRunner

    from morphogen.graphs.cli import app

    r = CliRunner().invoke(app, ["prepare", *args])
    assert r.exit_code == 0, r.output
    return r.output


def test_prepare_then_train_without_rdkit_networkx_qm9pack(env, qm9_csv, tmp_path):
    from morphogen.graphs.data.prepared import is_prepared, read_prepared, read_prepared_info

    out = tmp_path / "qm9_small.safetensors"
    _prepare(["--preset", "qm9", "--data", str(qm9_csv), "--limit", "16", "--out", str(out)])
    assert is_prepared(out) and not is_prepared(qm9_csv)
    info = read_prepared_info(out)
    assert info["dataset"] == "qm9" and info["kind"] == "molecule" and info["max_nodes"] == 9
    assert info["feature_names"] and len(info["feature_names"]) == 4
    p = read_prepared(out)
    assert p.train.x.shape == (16, 9, 4) and p.train.x.dtype == torch.float32 and p.train.mask.dtype == torch.bool
    assert len(p.train.names) == 16 and len(p.train_smiles) + len(p.reference) == len(SMILES)
    assert p.train.x.sum(-1)[p.train.mask].eq(1).all()  # one-hot atoms survive the uint8 round trip

    code = textwrap.dedent("""
        import importlib.abc, importlib.util, sys
        BLOCKED = ("rdkit", "networkx", "qm9pack", "fcd")

        class Absent(importlib.abc.MetaPathFinder, importlib.abc.Loader):
            # as on a GPU machine without them: importing any of them fails
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    return importlib.util.spec_from_loader(name, self)

            def create_module(self, spec):
                raise ModuleNotFoundError("No module named " + repr(spec.name) + " (hidden by this test)")

            def exec_module(self, module):
                pass

        sys.meta_path.insert(0, Absent())
        import torch
        torch.set_num_threads(1)
        from morphogen.graphs.pipeline import train
        from morphogen.train.options import TrainOptions
        res = train("qm9", RUN, DATA, TrainOptions(accelerator="cpu", max_steps=2, batch_size=8, progress=False))
        print("WROTE", res.model_path, res.steps)
        print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED))
    """).replace("RUN", repr(str(tmp_path / "run"))).replace("DATA", repr(str(out)))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "LOADED []" in r.stdout, r.stdout
    assert (tmp_path / "run" / "model.safetensors").is_file() and " 2\n" in r.stdout


def test_qm9_featurisation_is_cached(env, qm9_csv, capsys):
    from morphogen.graphs.data.sources import prepare_data
    from morphogen.graphs.pipeline import load_preset

    preset = load_preset("qm9")
    first = prepare_data(preset, str(qm9_csv))
    assert "cached featurised qm9" in capsys.readouterr().out
    again = prepare_data(preset, str(qm9_csv), limit=5)
    assert "from the cache" in capsys.readouterr().out
    assert torch.equal(again.train.x, first.train.x[:5]) and torch.equal(again.train.adj, first.train.adj[:5])
    assert again.train_smiles == first.train_smiles and again.reference == first.reference
    prepare_data(preset, str(qm9_csv), skip_invalid=True)  # another option, another cache entry
    assert "cached featurised qm9" in capsys.readouterr().out


def test_cache_off(env, qm9_csv, monkeypatch, capsys, tmp_path):
    from morphogen.graphs.data.sources import prepare_data
    from morphogen.graphs.pipeline import load_preset

    monkeypatch.setenv("MORPHOGEN_CACHE", "off")
    prepare_data(load_preset("qm9"), str(qm9_csv))
    assert "cache" not in capsys.readouterr().out


def test_generic_graphs_round_trip_and_preset_check(env, tmp_path, qm9_csv):
    from morphogen.errors import PreparedDataError
    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.data.prepared import read_prepared
    from morphogen.graphs.data.sources import prepare_data
    from morphogen.graphs.pipeline import load_preset

    out = tmp_path / "cs.safetensors"
    _prepare(["--preset", "community_small", "--out", str(out)])
    src = prepare_data(load_preset("community_small"))
    p = read_prepared(out, networkx_reference=True)
    assert p.kind is GraphKind.GRAPH and p.train_smiles is None
    assert torch.equal(p.train.x, src.train.x) and torch.equal(p.train.adj, src.train.adj)
    assert [sorted(map(sorted, g.edges())) for g in p.reference] == [sorted(map(sorted, g.edges())) for g in src.reference]
    assert [g.number_of_nodes() for g in p.reference] == [g.number_of_nodes() for g in src.reference]
    raw = read_prepared(out)
    assert isinstance(raw.reference[0], dict) and set(raw.reference[0]) == {"num_nodes", "edges"}
    with pytest.raises(PreparedDataError, match="cs.safetensors.*community_small"):
        prepare_data(load_preset("qm9"), str(out))


def test_not_a_prepared_file(tmp_path):
    from morphogen.errors import PreparedDataError
    from morphogen.graphs.data.prepared import read_prepared

    bad = tmp_path / "x.safetensors"
    bad.write_bytes(b"\x00" * 16)
    with pytest.raises(PreparedDataError, match="x.safetensors"):
        read_prepared(bad)


def test_max_minutes_stops_and_exports_ema(env, tmp_path):
    import time

    from morphogen.graphs.pipeline import train
    from morphogen.train.options import TrainOptions

    t0 = time.time()
    res = train("community_small", tmp_path / "run", options=TrainOptions(accelerator="cpu", batch_size=16,
                                                                           max_minutes=0.03, progress=False),
                epochs=10_000)
    assert res.model_path.is_file() and time.time() - t0 < 60
