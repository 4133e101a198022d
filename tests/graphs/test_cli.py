"""The real code path on a real subset: train (community-small), sample, evaluate, through the typer app."""
import json

import pytest


@pytest.fixture
def env(shared_data, monkeypatch):
    monkeypatch.setenv("MORPHOGEN_DATA", str(shared_data))
    return shared_data


def test_train_sample_evaluate_community_small(env, tmp_path):
    import csv

    from typer.testing import CliRunner

    from morphogen.graphs.cli import app

    r = CliRunner().invoke(app, ["train", "--preset", "community_small", "--out", str(tmp_path / "run"),
                                 "--max-steps", "60", "--batch-size", "32"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(next((tmp_path / "run").rglob("metrics.csv")))))
    losses = [float(x["train/loss"]) for x in rows if x.get("train/loss")]
    # noise-prediction MSE starts near 1 + ||eps_hat||^2; a short fit must bring it well below 1
    assert losses[-1] < 0.8 * losses[0] and losses[-1] < 0.9, losses
    r = CliRunner().invoke(app, ["sample", "--checkpoint", str(tmp_path / "run"), "--num-samples", "20",
                                 "--steps", "30", "--sampler", "euler_maruyama", "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    graphs = json.loads((tmp_path / "s" / "graphs.json").read_text())["graphs"]
    assert len(graphs) == 20 and (tmp_path / "s" / "grid.png").stat().st_size > 1000
    r = CliRunner().invoke(app, ["evaluate", "--samples", str(tmp_path / "s"), "--reference", "community_small"])
    assert r.exit_code == 0, r.output
    table = json.loads((tmp_path / "s" / "metrics.json").read_text())
    assert table["num_samples"] == 20 and all(table[k] >= 0 for k in ("degree", "clustering", "orbit"))
    # fine-tuning from the trained model starts where it ended, not at a fresh network's loss
    r = CliRunner().invoke(app, ["train", "--preset", "community_small", "--out", str(tmp_path / "ft"),
                                 "--max-steps", "10", "--batch-size", "32", "--init-from", str(tmp_path / "run"),
                                 "--lr", "1e-4"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(open(next((tmp_path / "ft").rglob("metrics.csv")))))
    ft = [float(x["train/loss"]) for x in rows if x.get("train/loss")]
    assert ft[0] < 0.8 * losses[0], (ft, losses)
    r = CliRunner().invoke(app, ["train", "--preset", "ego_small", "--out", str(tmp_path / "bad"), "--max-steps", "1",
                                 "--init-from", str(tmp_path / "run")])
    assert r.exit_code != 0 and "differs" in str(r.exception)


def test_unknown_preset_lists_presets():
    from morphogen.graphs.pipeline import load_preset

    with pytest.raises(FileNotFoundError, match="community_small"):
        load_preset("nope")


def test_cli_module_imports_nothing_heavy():
    import subprocess
    import sys

    code = ("import sys, morphogen.graphs.cli; "
            "print(any(m in sys.modules for m in ('torch', 'lightning', 'rdkit', 'networkx')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"
