"""``connected`` (valid without correction and one fragment as generated) is reported beside validity wherever
validity is: the molecule scores, ``graphs evaluate``, ``graphs sample`` (sampling.json), the demo row and the QM9
benchmark table. GDSS's validity allows fragments, so "CC.O" is valid but not connected."""
import importlib.util
import json
from pathlib import Path

import pytest

from morphogen.molecules.metrics import MoleculeMetrics
from morphogen.molecules.valency import decode_molecule_from_smiles

# valid and connected: CCO, benzene; valid, two fragments: CC.O, CCO.CC; over-valent carbon; an empty sample
SMILES = ["CCO", "CC.O", "C(C)(C)(C)(C)C", "", "C1=CC=CC=C1", "CCO.CC"]
REFERENCE = ["CCO", "CCN", "C1=CC=CC=C1", "CC(=O)O"]


def test_decoded_flags():
    flags = [(d.valid_without_correction, d.connected) for d in map(decode_molecule_from_smiles, SMILES)]
    assert flags == [(True, True), (True, False), (False, False), (False, False), (True, True), (True, False)]


def test_scores_report_connected_beside_validity():
    m = MoleculeMetrics(train_smiles={"CCO"}, test_smiles=REFERENCE, with_fcd=False, with_nspdk=False)
    m.update(decode_molecule_from_smiles(s) for s in SMILES)
    table = m.compute().as_dict()
    assert table["validity_without_correction"] == pytest.approx(4 / 6)
    assert table["connected"] == pytest.approx(2 / 6)
    keys = list(table)
    assert keys.index("connected") == keys.index("validity_without_correction") + 1


@pytest.fixture
def small_qm9(monkeypatch):
    """``prepare_data`` for the qm9 preset answers with four hand-made molecules instead of featurising QM9."""
    from morphogen.graphs.data import sources
    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.data.prepared import PreparedData

    monkeypatch.setenv("MORPHOGEN_CACHE", "off")
    monkeypatch.setattr(sources, "prepare_data",
                        lambda *a, **k: PreparedData(None, list(REFERENCE), ["CCO"], GraphKind.MOLECULE, "qm9"))


def _samples_folder(folder: Path) -> Path:
    from morphogen.molecules.io import write_smiles

    folder.mkdir(parents=True, exist_ok=True)
    write_smiles(SMILES, folder / "samples.smi")
    return folder


def test_evaluate_reports_connected(small_qm9, tmp_path):
    from typer.testing import CliRunner

    from morphogen.graphs.cli import app
    from morphogen.graphs.evaluation import evaluate_samples

    folder = _samples_folder(tmp_path / "s")
    table = evaluate_samples(folder, "qm9", with_fcd=False, with_nspdk=True)
    assert table["connected"] == pytest.approx(2 / 6) and table["validity_without_correction"] == pytest.approx(4 / 6)
    assert json.loads((folder / "metrics.json").read_text())["connected"] == pytest.approx(2 / 6)
    r = CliRunner().invoke(app, ["evaluate", "--samples", str(folder), "--reference", "qm9", "--no-fcd", "--no-nspdk"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["connected"] == pytest.approx(2 / 6)


def test_demo_row_shows_connected(small_qm9, monkeypatch, tmp_path):
    from morphogen.graphs import cli, evaluation
    from morphogen.graphs.io import samples
    from morphogen.graphs.io.samples import SamplingSummary

    def fake_write_samples(model, out, num, **kw):  # the demo's samples, without drawing 1,000 molecules
        _samples_folder(Path(out))
        return SamplingSummary(len(SMILES), 200, 1.0, 6.0, "qm9", "s4:steps=200", 0, "cpu", 4 / 6, 2 / 6)

    real = evaluation.evaluate_samples
    monkeypatch.setattr(samples, "write_samples", fake_write_samples)
    monkeypatch.setattr(evaluation, "evaluate_samples", lambda *a, **k: real(*a, **{**k, "with_fcd": False}))
    row = cli.demo(tmp_path / "demo")
    assert row.metric == "validity without correction / connected"
    assert row.value == "0.6667 / 0.3333"


def test_sampling_json_reports_connected(tmp_path):
    from morphogen.graphs.io.samples import write_samples
    from morphogen.molecules.io import read_smiles_lines

    info = write_samples("qm9", tmp_path, 4, steps=5, seed=0)
    saved = json.loads((tmp_path / "sampling.json").read_text())
    decoded = [decode_molecule_from_smiles(s) for s in read_smiles_lines(tmp_path / "samples.smi")]
    assert saved["connected"] == info.connected == pytest.approx(sum(d.connected for d in decoded) / 4)
    assert saved["connected"] <= saved["validity_without_correction"]
    from morphogen.graphs.io.samples import TIMED

    assert saved["timed"] == TIMED and saved["samples_per_second"] == pytest.approx(4 / saved["seconds"])


def test_qm9_benchmark_table_has_a_connected_column(monkeypatch, tmp_path):
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "graphs_qm9.py"
    spec = importlib.util.spec_from_file_location("graphs_qm9_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "ROOT", tmp_path)  # write the tables here, not over the recorded results
    row = {"sampler": "s4_200", "nfe": 200, "num_samples": 6, "validity_without_correction": 4 / 6,
           "connected": 2 / 6, "validity": 5 / 6, "uniqueness": 1.0, "novelty": 1.0, "nspdk_mmd": 0.1, "fcd": 3.0,
           "samples_per_second": 10.0}
    old = {k: v for k, v in row.items() if k != "connected"} | {"sampler": "s4_100"}  # a row recorded before
    bench.write_tables({"samples": "test", "n_test": 4, "checkpoint": "qm9", "rows": [row, old], "speed_here": None,
                        "gdss_reference": bench.GDSS_QM9}, "_test")
    lines = (tmp_path / "benchmarks" / "results" / "graphs_qm9_test.md").read_text().splitlines()
    header = [c.strip() for c in lines[2].strip("|").split("|")]
    assert header[3:5] == ["valid w/o corr.", "connected"]
    cells = {ln.split("|")[1].strip(): [c.strip() for c in ln.strip("|").split("|")] for ln in lines[4:]}
    assert cells["s4_200"][3:5] == ["0.6667", "0.3333"] and cells["s4_100"][4] == "not measured"
    assert all(len(c) == len(header) for c in cells.values())
    assert json.loads((tmp_path / "benchmarks" / "results" / "graphs_qm9_test.json").read_text())["rows"][0][
        "connected"] == pytest.approx(2 / 6)
