"""Prepared files: a round trip of records, loading without pymatgen, and errors naming file, split and record."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

from .crystal_helpers import perovskite, write_cdvae_csv
from morphogen.crystals.data import CrystalRecord
from morphogen.crystals.data.prepared import PreparedDataError, read_prepared, write_prepared


def _rec(i: int) -> CrystalRecord:
    return CrystalRecord(np.array([4.0 + i, 4.0, 4.0, 90.0, 90.0, 90.0]),
                         np.array([[0.0, 0.0, 0.0], [0.5, 0.5, 0.5]]), np.array([38, 22]), f"m-{i}", i,
                         {"heat_ref": 0.5 * i})


def test_round_trip(tmp_path):
    splits = {"train": [_rec(0), _rec(1)], "val": [_rec(2)], "test": []}
    path = write_prepared(tmp_path / "p.json.gz", splits, "pool.csv", {"niggli": True, "primitive": False})
    back, header = read_prepared(path)
    assert header["source"] == "pool.csv" and header["options"]["niggli"] is True
    assert [len(back[k]) for k in ("train", "val", "test")] == [2, 1, 0]
    r = back["train"][1]
    assert np.allclose(r.lattice, splits["train"][1].lattice) and np.allclose(r.frac_coords, [[0, 0, 0], [.5, .5, .5]])
    assert r.atomic_numbers.tolist() == [38, 22] and r.material_id == "m-1" and r.row == 1
    assert r.properties == {"heat_ref": 0.5}


def test_bad_records_are_named(tmp_path):
    import morphogen.errors

    assert PreparedDataError is morphogen.errors.PreparedDataError  # the core's one class, not a crystals copy
    doc = {"format": "morphogen.crystals.prepared/1", "splits": {"train": [
        {"lattice": [4, 4, 4, 90, 90, 90], "frac_coords": [[0, 0, 0]], "atomic_numbers": [8]},
        {"lattice": [4, 4, 4, 90, 90], "frac_coords": [[0, 0, 0]], "atomic_numbers": [8]}]}}
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(gzip.compress(json.dumps(doc).encode()))
    with pytest.raises(PreparedDataError, match=r"bad.json.gz: split 'train', record 1: lattice"):
        read_prepared(bad)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "something/else"}))
    with pytest.raises(PreparedDataError, match="other.json: format"):
        read_prepared(other)


def test_prepare_then_train_without_pymatgen(tmp_path):
    from typer.testing import CliRunner

    from morphogen.crystals.cli import app

    pool = write_cdvae_csv(tmp_path / "pool.csv", [perovskite("Sr", "Ti", a=3.9 + 0.05 * i) for i in range(10)])
    prepared = tmp_path / "perov.json.gz"
    r = CliRunner().invoke(app, ["prepare", "--preset", "perov_5", "--data", str(pool), "--out", str(prepared)])
    assert r.exit_code == 0, r.output
    assert "8 train, 1 val, 1 test" in r.output
    code = (
        "import sys, torch; torch.set_num_threads(1)\n"
        "from typer.testing import CliRunner\n"
        "from morphogen.crystals.cli import app\n"
        f"r = CliRunner().invoke(app, ['train', '--preset', 'perov_5', '--data', r'{prepared}', '--out', "
        f"r'{tmp_path / 'run'}', '--max-steps', '2', '--batch-size', '4', '--accelerator', 'cpu'])\n"
        "assert r.exit_code == 0, r.output\n"
        "assert 'pymatgen' not in sys.modules, 'pymatgen was imported'\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    assert (tmp_path / "run" / "model.safetensors").is_file()
