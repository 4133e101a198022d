"""One tiny spectra model for the command tests, trained once per test session through `morphogen spectra train`."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def tiny_spectra(tmp_path_factory):
    """(run folder, the training records) of a 1-step model on 8 QM9 molecules with made-up IR spectra."""
    pytest.importorskip("rdkit")
    from tests.cli_runs import run_command
    from tests.spectra.test_spectra_cli import _records

    t = tmp_path_factory.mktemp("tiny_spectra")
    recs = _records(8)
    data = t / "spectra.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in recs))
    res = run_command("spectra", "train", "--preset", "qm9-ir", "--data", data, "--max-steps", "1", "--batch-size",
                      "4", "--out", t / "run")
    assert res.code == 0, res.stderr[-3000:]
    return t / "run", recs
