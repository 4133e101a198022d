"""train -> elucidate -> evaluate through the commands on a tiny spectra file (QM9 molecules outside the GDSS
test split, made-up IR spectra on the model grid), and the refusals of bad records."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

pytest.importorskip("rdkit")

from tests.cli_runs import assert_refused, run_command  # noqa: E402

GRID = [400.0 + 2.0 * k for k in range(1801)]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _records(n: int):
    from morphogen.molecules.qm9 import read_qm9

    recs = read_qm9(limit=400)
    test = {7279}  # not in the first 400 anyway; the GDSS test split starts later
    out = []
    rng = np.random.default_rng(0)
    for r in recs[50:50 + n]:
        assert r.index + 1 not in test
        ir = np.abs(rng.normal(size=1801)).round(4).tolist()
        from rdkit import Chem

        mol = Chem.AddHs(Chem.MolFromSmiles(r.smiles))
        counts = {}
        for a in mol.GetAtoms():
            counts[a.GetSymbol()] = counts.get(a.GetSymbol(), 0) + 1
        formula = "".join(f"{e}{counts[e]}" for e in ("C", "H", "N", "O", "F") if e in counts)
        out.append({"id": r.index + 1, "smiles": r.smiles, "formula": formula, "num_atoms": mol.GetNumAtoms(),
                    "ir": {"wavenumber": GRID, "intensity": ir}})
    return out


def test_train_elucidate_evaluate(tmp_path, shared_data, tiny_spectra):
    run, recs = tiny_spectra  # trained by `morphogen spectra train` (tests/spectra/conftest.py)
    assert (run / "model.safetensors").is_file()
    query = _write(tmp_path / "query.jsonl", recs[:2])
    for flag in ([], ["--formula-known"], ["--formula-known", "--valence", "none"]):
        out = tmp_path / f"out{len(flag)}"
        res = run_command("spectra", "elucidate", "--checkpoint", run, "--spectra", query,
                          "--num-samples", "3", "--steps", "2", "--out", out, *flag)
        assert res.code == 0, res.stderr[-3000:]
        info = json.loads((out / "elucidation.json").read_text())
        assert info["records"] == 2 and info["num_samples"] == 3 and info["formula_known"] == bool(flag)
        assert info["valence"] == ("none" if "none" in flag else "complete")
        rows = list(csv.DictReader(open(out / "samples.csv")))
        assert len(rows) == 6 and {r["id"] for r in rows} == {str(recs[0]["id"]), str(recs[1]["id"])}
        assert (out / f"{recs[0]['id']}.png").is_file() and (out / "best.sdf").is_file()
        res = run_command("spectra", "evaluate", "--candidates", out, "--truth", query)
        assert res.code == 0, res.stderr[-3000:]
        ev = json.loads((out / "evaluation.json").read_text())
        assert ev["n"] == 2 and 0 <= ev["validity"] <= 1 and "top10_any_of_samples" in ev
    res = run_command("spectra", "elucidate", "--checkpoint", run, "--spectra", query, "--num-samples", "1",
                      "--valence", "always", "--out", tmp_path / "bad")
    assert res.code == 2 and "--valence" in res.stderr and "always" in res.stderr


def test_bad_records_are_refused_naming_the_line(tmp_path):
    good = {"id": 1, "formula": "CH4", "ir": {"wavenumber": GRID, "intensity": [0.5] * 1801}}
    cases = {
        "nan": dict(good, ir={"wavenumber": GRID, "intensity": [float("nan")] + [0.5] * 1800}),
        "grid": dict(good, ir={"wavenumber": GRID[:-1], "intensity": [0.5] * 1800}),
        "formula": dict(good, formula="C4Xx2"),
        "count": {k: v for k, v in good.items() if k != "formula"},
        "smiles": dict(good, smiles="C1CC"),
        "shifts": dict(good, nmr_13c=[]),
    }
    from morphogen.spectra.errors import SpectraDataError
    from morphogen.spectra.inputs import read_records

    for name, rec in cases.items():
        path = _write(tmp_path / f"{name}.jsonl", [good, rec])
        with pytest.raises(SpectraDataError, match=f"{name}.jsonl:2"):
            read_records(path, modalities=("ir", "c13"))
    res = run_command("spectra", "elucidate", "--checkpoint", tmp_path / "none.safetensors", "--spectra",
                      tmp_path / "nan.jsonl", "--out", tmp_path / "o")
    assert_refused(res, "none.safetensors", tmp_path / "o")
