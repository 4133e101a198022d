"""One tiny spectra model for the command tests, trained once per test session through `morphogen spectra train`."""
from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="session")
def tiny_spectra(tmp_path_factory):
    """(run folder, the training records) of a 1-step model on 8 QM9 molecules with made-up IR spectra (the qm9-ir
    preset without its 20,000 QM9 prior molecules, which only a real training needs)."""
    pytest.importorskip("rdkit")
    from tests.cli_runs import run_command
    from tests.spectra.test_spectra_cli import _records

    t = tmp_path_factory.mktemp("tiny_spectra")
    recs = _records(8)
    data = t / "spectra.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in recs))
    import yaml

    from morphogen.spectra.training import PRESET_DIR

    raw = yaml.safe_load((PRESET_DIR / "qm9-ir.yaml").read_text())
    raw["data"]["prior_molecules"] = 0
    preset = t / "qm9-ir.yaml"
    preset.write_text(yaml.safe_dump(raw, sort_keys=False))
    res = run_command("spectra", "train", "--preset", preset, "--data", data, "--max-steps", "1", "--batch-size",
                      "4", "--out", t / "run")
    assert res.code == 0, res.stderr[-3000:]
    return t / "run", recs
