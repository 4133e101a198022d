"""The folders of ``crystals predict`` / ``generate`` and the metrics.json of ``evaluate`` (issue 15): every file
atomic, ``index.csv`` written last and an earlier run's removed first, and a full disk in the middle of a run named
in one line with no 0-byte or truncated CIF, no temporary file and no index left. Tiny untrained models."""
from __future__ import annotations

import csv
import json

import pytest

from ..output_faults import FullDisk, check_full_disk_run, folder_files, run_command
from .crystal_helpers import perovskite, write_cdvae_csv

TINY = ("denoiser:\n  class: morphogen.crystals.models.cspnet.CrystalDenoiser\n"
        "  args: {hidden: 16, layers: 1, num_freqs: 2}\n")
PREDICTED = ["0_0.cif", "1_0.cif", "0_1.cif", "1_1.cif", "index.csv"]  # in the order they are written (sample-major)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(folder, csp model, gen model, the two-perovskite CDVAE CSV: compositions and reference)."""
    import torch

    from morphogen.crystals.data import LatticeCodec
    from morphogen.crystals.experiment import PRESET_DIR, build_model, load_preset
    from morphogen.utils.padding import CountHistogram

    t = tmp_path_factory.mktemp("atomic")
    text = (PRESET_DIR / "perov_5.yaml").read_text()
    preset = t / "tiny.yaml"
    preset.write_text(text[:text.index("denoiser:")] + TINY + text[text.index("train:"):])
    torch.manual_seed(0)
    hist = CountHistogram.from_counts([5] * 4)
    csp = build_model(load_preset(preset), "csp", "bfn", LatticeCodec(), hist).save(t / "csp.safetensors")
    gen = build_model(load_preset(preset), "gen", "flow", LatticeCodec(), hist).save(t / "gen.safetensors")
    data = write_cdvae_csv(t / "pair.csv", [perovskite("Sr", "Ti"), perovskite("Ba", "Zr", a=4.2)], ids=["a", "b"])
    return t, csp, gen, data


def _predict(setup, out):
    _, csp, _, data = setup
    return run_command("crystals", "predict", "--checkpoint", csp, "--compositions", data, "--num-samples", "2",
                       "--steps", "2", "--out", out)


def _generate(setup, out):
    return run_command("crystals", "generate", "--checkpoint", setup[2], "--num-samples", "3", "--steps", "2",
                       "--out", out)


def test_predict_writes_every_file_atomically_and_the_index_last(setup, tmp_path, monkeypatch):
    disk = FullDisk().install(monkeypatch)
    res = _predict(setup, tmp_path / "o")
    assert res.code == 0, res.stderr[-3000:]
    assert [p.name for p in disk.written] == PREDICTED
    assert sorted(folder_files(tmp_path / "o")) == sorted(PREDICTED)  # no file written around it
    with open(tmp_path / "o" / "index.csv", newline="") as fh:
        assert [r["path"] for r in csv.DictReader(fh)] == sorted(PREDICTED[:-1])  # rows by (row, sample)


@pytest.mark.parametrize("k", range(len(PREDICTED)), ids=PREDICTED)
def test_a_full_disk_during_predict(setup, tmp_path, monkeypatch, k):
    disk = FullDisk(fail_at=k).install(monkeypatch)
    check_full_disk_run(_predict(setup, tmp_path / "o"), disk, tmp_path / "o", "index.csv")
    assert disk.refused.name == PREDICTED[k]


def test_a_full_disk_during_generate(setup, tmp_path, monkeypatch):
    disk = FullDisk().install(monkeypatch)
    assert _generate(setup, tmp_path / "g").code == 0
    assert [p.name for p in disk.written] == ["gen_0.cif", "gen_1.cif", "gen_2.cif", "index.csv"]
    for k in (1, 3):
        disk = FullDisk(fail_at=k).install(monkeypatch)
        check_full_disk_run(_generate(setup, tmp_path / f"g{k}"), disk, tmp_path / f"g{k}", "index.csv")


def test_an_earlier_runs_index_and_metrics_go_first(setup, tmp_path, monkeypatch):
    """A second predict into a folder with a complete, evaluated run that stops before its index leaves no index
    and no metrics.json: nothing in the folder claims to be a whole run."""
    out = tmp_path / "o"
    assert _predict(setup, out).code == 0
    res = run_command("crystals", "evaluate", "--predictions", out, "--reference", setup[3])
    assert res.code == 0 and "k1" in json.loads((out / "metrics.json").read_text())["csp"], res.stderr[-3000:]
    disk = FullDisk(fail_at=4).install(monkeypatch)
    res = _predict(setup, out)
    assert res.code == 2 and disk.refused == out / "index.csv"
    assert sorted(folder_files(out)) == sorted(PREDICTED[:-1])


def test_a_full_disk_during_evaluate_leaves_no_metrics(setup, tmp_path, monkeypatch):
    out = tmp_path / "o"
    assert _predict(setup, out).code == 0
    disk = FullDisk(fail_at=0).install(monkeypatch)
    res = run_command("crystals", "evaluate", "--predictions", out, "--reference", setup[3])
    assert res.code == 2 and disk.refused == out / "metrics.json", res.stderr[-3000:]
    assert res.stderr.strip().splitlines()[-1] == f"error: {out / 'metrics.json'}: cannot write the file (No space " \
                                                  "left on device)"
    assert sorted(folder_files(out)) == sorted(PREDICTED)


def test_the_cell_picture_is_atomic(tmp_path, monkeypatch):
    from morphogen.crystals.io.draw import draw_cells
    from morphogen.utils.outputs import OutputWriteError

    FullDisk(fail_at=0).install(monkeypatch)
    with pytest.raises(OutputWriteError, match="cell.png: cannot write the file"):
        draw_cells([perovskite()], ["SrTiO3"], tmp_path / "cell.png")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert draw_cells([perovskite()], ["SrTiO3"], tmp_path / "cell.png").read_bytes()[:4] == b"\x89PNG"
