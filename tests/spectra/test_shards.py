"""Packed IR sets (morphogen.spectra.data.shards): a round trip through `spectra pack` / `unpack` keeps every record
(frequencies exactly, intensities to float16, the rebuilt spectrum within 2e-3 of its maximum), packing is
incremental, a run's half-written last line waits, and the training reader reads a packed folder as the file."""
from __future__ import annotations

import json

import numpy as np
import pytest

from morphogen.spectra.data import shards
from morphogen.spectra.data.ir import IRSettings, lorentzian_spectrum
from morphogen.spectra.errors import SpectraDataError

SETTINGS = {"format": 1, "molecules": "qm9", "settings": IRSettings().to_dict()}


def _record(i: int, rng) -> dict:
    n = int(rng.integers(3, 40))
    f = np.sort(rng.uniform(0, 3900, n)).round(2)
    w = rng.uniform(0, 400, n).round(3)
    grid = IRSettings().grid()
    spec = lorentzian_spectrum(f, w, grid, IRSettings().fwhm)
    return {"id": i, "smiles": "C" * (1 + i % 5), "formula": f"C{1 + i % 5}H4", "num_atoms": 5 + i % 5,
            "ir": {"wavenumber": [round(float(x), 6) for x in grid], "intensity": [round(float(v), 4) for v in spec]},
            "frequencies": f.tolist(), "intensities": w.tolist(), "energy": -4.0 - i / 7}


def _run(folder, recs, partial: str = ""):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(SETTINGS))
    (folder / "spectra.jsonl").write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in recs) + partial)
    (folder / "failed.csv").write_text("id,smiles,reason\n99,CC,no convergence\n")
    return folder


def test_round_trip(tmp_path, monkeypatch):
    monkeypatch.setattr(shards, "SHARD_SIZE", 4)
    rng = np.random.default_rng(0)
    recs = [_record(i, rng) for i in range(10)]
    run = _run(tmp_path / "run", recs, partial='{"id":10,"smi')  # a run still writing its 11th line
    c = shards.pack(run, tmp_path / "packed")
    assert c == {"records": 10, "shards": 3, "written": 3, "failed": 1}
    back = [r for _, r in shards.iter_packed(tmp_path / "packed")]
    assert [r["id"] for r in back] == list(range(10))
    for a, b in zip(recs, back):
        assert a["frequencies"] == b["frequencies"]
        np.testing.assert_allclose(b["intensities"], a["intensities"], rtol=1 / 2048, atol=1e-3)
        assert np.abs(np.subtract(a["ir"]["intensity"], b["ir"]["intensity"])).max() < 2e-3
        assert (a["smiles"], a["formula"], a["num_atoms"], a["energy"]) == (b["smiles"], b["formula"], b["num_atoms"],
                                                                           b["energy"])
        assert a["ir"]["wavenumber"] == b["ir"]["wavenumber"]
    # incremental: nothing changed, nothing written; two more records rewrite only the last shard
    assert shards.pack(run, tmp_path / "packed")["written"] == 0
    recs += [_record(10, rng), _record(11, rng)]
    _run(run, recs)
    assert shards.pack(run, tmp_path / "packed") == {"records": 12, "shards": 3, "written": 1, "failed": 1}
    # unpack gives a simulate folder again, which the reader reads as the packed one
    assert shards.unpack(tmp_path / "packed", tmp_path / "again") == 12
    from morphogen.spectra.data.molecules import iter_spectra

    ids = [r["id"] for _, r in iter_spectra(tmp_path / "again" / "spectra.jsonl")]
    assert ids == [r["id"] for _, r in iter_spectra(tmp_path / "packed")] == list(range(12))
    assert (tmp_path / "again" / "failed.csv").read_text().splitlines()[1] == "99,CC,no convergence"
    with pytest.raises(SpectraDataError, match="already holds records"):
        shards.unpack(tmp_path / "packed", tmp_path / "again")


def test_refuses_other_settings_and_names_a_bad_shard(tmp_path):
    rng = np.random.default_rng(1)
    run = _run(tmp_path / "run", [_record(0, rng)])
    shards.pack(run, tmp_path / "packed")
    other = dict(SETTINGS, settings=dict(SETTINGS["settings"], fwhm=10.0))
    (run / "settings.json").write_text(json.dumps(other))
    with pytest.raises(SpectraDataError, match="other settings"):
        shards.pack(run, tmp_path / "packed")
    (tmp_path / "packed" / "shard-000.npz").write_bytes(b"not a zip")
    with pytest.raises(SpectraDataError, match="shard-000.npz"):
        list(shards.iter_packed(tmp_path / "packed"))
    with pytest.raises(SpectraDataError, match="not a spectra simulate folder"):
        shards.pack(tmp_path / "nowhere", tmp_path / "p2")


def test_cli_pack_unpack(tmp_path):
    from tests.cli_runs import run_command

    rng = np.random.default_rng(2)
    run = _run(tmp_path / "run", [_record(i, rng) for i in range(3)])
    res = run_command("spectra", "pack", "--run", run, "--out", tmp_path / "packed")
    assert res.code == 0, res.stderr
    assert "3 records in 1 shard(s)" in res.stdout
    res = run_command("spectra", "unpack", "--packed", tmp_path / "packed", "--out", tmp_path / "back")
    assert res.code == 0, res.stderr
    assert len((tmp_path / "back" / "spectra.jsonl").read_text().splitlines()) == 3


def test_the_committed_set_reads():
    """data/qm9_ir: gdb ids in the order of scripts/spectra/qm9_ir_indices.py (its first molecule a GDSS test
    molecule), spectra on the settings' grid, and the qm9-ir preset pointing at it."""
    from itertools import islice

    from morphogen.spectra.training import load_preset, spectra_file

    folder = spectra_file(load_preset("qm9-ir"), None)
    assert folder.name == "qm9_ir" and shards.is_packed(folder)
    recs = [r for _, r in islice(shards.iter_packed(folder), 12)]
    assert recs[0]["id"] == 7279  # valid_idx_qm9.json's first entry (row 7278) + 1
    grid = IRSettings(**json.loads((folder / "settings.json").read_text())["settings"]).grid()
    for r in recs:
        assert len(r["ir"]["intensity"]) == grid.size and max(r["ir"]["intensity"]) == 1.0
        assert len(r["frequencies"]) == len(r["intensities"]) <= 3 * r["num_atoms"] - 5
