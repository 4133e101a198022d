"""`morphogen spectra simulate`: the record format, failures, resuming after a kill, settings checks, QM9 indices
with molecules qm9pack lacks, worker processes, and the command's errors."""
import csv
import json

import pytest
from typer.testing import CliRunner

from morphogen.spectra.cli import app
from morphogen.spectra.data.ir import IRSettings
from morphogen.spectra.errors import SpectraDataError
from morphogen.spectra.simulate import simulate_set

pytest.importorskip("tblite")

SMILES = "O water\nC methane\nN ammonia\nC1CC( broken\n"


def _records(path):
    return [json.loads(line) for line in (path / "spectra.jsonl").read_text().splitlines()]


def _failed(path):
    with open(path / "failed.csv", newline="") as fh:
        return list(csv.reader(fh))


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("sim")
    smi = root / "tiny.smi"
    smi.write_text(SMILES)
    out = root / "out"
    summary = simulate_set(smi, out, workers=1, progress=False)
    return smi, out, summary, (out / "spectra.jsonl").read_bytes()


def test_records_and_failures(first_run):
    smi, out, s, _ = first_run
    assert (s.selected, s.skipped, s.written, s.failed) == (4, 0, 3, 1)
    recs = _records(out)
    assert [r["id"] for r in recs] == ["water", "methane", "ammonia"]
    water = recs[0]
    assert list(water)[:5] == ["id", "smiles", "formula", "num_atoms", "ir"]
    assert (water["smiles"], water["formula"], water["num_atoms"]) == ("O", "H2O", 3)
    assert set(water["ir"]) == {"wavenumber", "intensity"}
    wn, it = water["ir"]["wavenumber"], water["ir"]["intensity"]
    assert len(wn) == len(it) == 1801 and wn[0] == 400.0 and wn[-1] == 4000.0 and max(it) == 1.0
    assert len(water["frequencies"]) == len(water["intensities"]) == 3
    assert 1500 < water["frequencies"][0] < 1650  # the bend
    assert recs[2]["formula"] == "H3N" and len(recs[2]["frequencies"]) == 6
    rows = _failed(out)
    assert rows[0] == ["id", "smiles", "reason"] and rows[1][:2] == ["broken", "C1CC("]
    assert rows[1][2].startswith(f"{smi}:4: RDKit cannot parse")  # the reason names the line
    assert s.reasons == {"RDKit cannot parse the SMILES": 1}
    settings = json.loads((out / "settings.json").read_text())
    assert settings["molecules"] == str(smi.resolve()) and settings["settings"]["fwhm"] == 20.0


def test_resume_after_a_kill(first_run, tmp_path):
    smi, out, _, original = first_run
    work = tmp_path / "out"
    work.mkdir()
    for name in ("settings.json", "failed.csv"):
        (work / name).write_bytes((out / name).read_bytes())
    # a kill in the middle of writing the last record: its line is cut short, without its newline
    (work / "spectra.jsonl").write_bytes(original[: len(original) - 5000])
    s = simulate_set(smi, work, workers=1, progress=False)
    assert (s.skipped, s.written, s.failed) == (3, 1, 0) and s.repaired == ["spectra.jsonl"]
    assert (work / "spectra.jsonl").read_bytes() == original  # the same records, none twice
    assert len(_failed(work)) == 2
    again = simulate_set(smi, work, workers=1, progress=False)
    assert (again.skipped, again.written, again.failed, again.repaired) == (4, 0, 0, [])
    assert (work / "spectra.jsonl").read_bytes() == original


def test_damaged_files_and_other_settings(first_run, tmp_path):
    smi, out, _, original = first_run
    work = tmp_path / "out"
    work.mkdir()
    (work / "settings.json").write_bytes((out / "settings.json").read_bytes())
    (work / "spectra.jsonl").write_bytes(original.replace(b'{"id":"methane"', b'{"x":"methane"'))
    with pytest.raises(SpectraDataError, match="not a spectrum record") as err:
        simulate_set(smi, work, workers=1, progress=False)
    assert err.value.where.endswith("spectra.jsonl:2")
    (work / "spectra.jsonl").write_bytes(original)
    with pytest.raises(SpectraDataError, match=r"settings.fwhm: 20.0 there, 10.0 now"):
        simulate_set(smi, work, workers=1, settings=IRSettings(fwhm=10.0), progress=False)
    with pytest.raises(SpectraDataError, match="molecules: "):
        simulate_set("qm9", work, limit=1, workers=1, progress=False)
    with pytest.raises(ValueError, match="workers"):
        simulate_set(smi, work, workers=0, progress=False)


def test_qm9_indices_with_a_molecule_qm9pack_lacks(tmp_path):
    idx = tmp_path / "idx.json"
    idx.write_text("[3, 58, 1]")
    s = simulate_set("qm9", tmp_path / "out", indices=idx, workers=1, progress=False)
    assert (s.selected, s.written, s.failed) == (3, 2, 1)
    recs = _records(tmp_path / "out")
    assert [(r["id"], r["formula"]) for r in recs] == [(3, "H2O"), (1, "CH4")]
    rows = _failed(tmp_path / "out")
    assert rows[1][0] == "58" and "not in qm9pack" in rows[1][2]
    s = simulate_set("qm9", tmp_path / "out", indices=idx, workers=1, progress=False)
    assert (s.skipped, s.written, s.failed) == (3, 0, 0)


def test_cli_with_two_workers_and_limit(tmp_path):
    smi = tmp_path / "m.smi"
    smi.write_text(SMILES)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["simulate", "--molecules", str(smi), "--limit", "2", "--workers", "2",
                                   "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "2 selected, 0 done before, 2 written, 0 failed" in res.output
    assert sorted(r["id"] for r in _records(out)) == ["methane", "water"]
    res = CliRunner().invoke(app, ["simulate", "--molecules", str(smi), "--workers", "1", "--out", str(out),
                                   "--no-progress"])
    assert res.exit_code == 0 and "4 selected, 2 done before, 1 written, 1 failed" in res.output
    assert "failed: 1 x RDKit cannot parse the SMILES" in res.output


def test_cli_errors(tmp_path):
    smi = tmp_path / "m.smi"
    smi.write_bytes(b"O\nC\xe9\n")  # line 2 is not UTF-8
    run = CliRunner().invoke
    res = run(app, ["simulate", "--molecules", str(smi), "--workers", "0", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--workers" in res.output
    res = run(app, ["simulate", "--molecules", str(smi), "--limit", "0", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--limit" in res.output
    res = run(app, ["simulate", "--molecules", str(smi), "--out", str(tmp_path / "o"), "--no-progress"])
    assert isinstance(res.exception, SpectraDataError) and res.exception.where == f"{smi}:2"
    bad = tmp_path / "idx.json"
    bad.write_text('{"rows": [1]}')
    res = run(app, ["simulate", "--molecules", "qm9", "--indices", str(bad), "--out", str(tmp_path / "o")])
    assert isinstance(res.exception, SpectraDataError) and str(bad) in str(res.exception)
    res = run(app, ["simulate", "--molecules", str(smi), "--indices", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--indices" in res.output
    res = run(app, ["simulate", "--molecules", str(tmp_path / "nope.smi"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "--molecules" in res.output


def test_plugin_is_registered():
    from morphogen.cli.plugins import discover

    assert discover()["spectra"].typer_app() is app
