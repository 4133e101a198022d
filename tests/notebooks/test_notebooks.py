"""The notebooks of ``notebooks/`` run top to bottom (nbclient, the ``python3`` kernel of this environment) and
show what they promise: pictures and the metric tables. Each runs on a copy in a temporary folder with the
working directory set to ``notebooks/``; what a notebook writes goes to ``$MORPHOGEN_NOTEBOOK_OUT`` (here the
test's temporary folder). ``MORPHOGEN_NOTEBOOK_QUICK=1`` asks a notebook for its short settings (fewer records
read, a shorter training), which keep the suite within its time; a reader runs the full ones. The notebooks are
stored without outputs; a test checks that too."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CELL_TIMEOUT_S = 300

# name -> (needs ../shared/data, modules of its domain extra, least number of pictures, texts that must be printed)
CASES = {
    "graphs": (True, ["rdkit", "networkx"], 6, ["validity", "NSPDK", "benchmark graphs"]),
    "crystals": (True, ["pymatgen"], 4, ["match rate", "model, best of 5", "template, best of assignments",
                                          "bfn_end_back, best of 2", "bfn (receiver), 1 sample"]),
    "music": (False, ["music21"], 5, ["held-out chorales", "chord_share", "NLL bound"]),
    "medical": (True, ["monai"], 5, ["Dice", "HD95", "head circumference", "phantoms (generated, not HC18)"]),
    "spectra": (True, ["rdkit", "tblite"], 6, ["top-1", "Tanimoto top-1", "closed-shell",
                                               "retrieval, formula known (all "]),
}


def _outputs(nb) -> list:
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]


def _text(outputs) -> str:
    parts = []
    for o in outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif "text/plain" in o.get("data", {}):
            parts.append(o["data"]["text/plain"])
    return "\n".join(parts)


@pytest.mark.parametrize("name", sorted(CASES))
def test_notebook_is_stored_without_outputs(name):
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{name}.ipynb has no code cells"
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{name}.ipynb: cells {dirty} carry outputs; clear them before committing"
    assert "torch.set_num_threads(1)" in code[0].source, f"{name}.ipynb: the first code cell should limit torch to one thread"


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_notebook_runs(name, request, monkeypatch, tmp_path):
    needs_data, modules, min_images, texts = CASES[name]
    for mod in modules:
        pytest.importorskip(mod, reason=f"the {name} notebook needs the [{name}] extra ({mod})")
    if needs_data:
        data = request.getfixturevalue("shared_data")  # skipped when missing, a failure under CI=true
        monkeypatch.setenv("MORPHOGEN_DATA", str(data))
    monkeypatch.setenv("MORPHOGEN_NOTEBOOK_OUT", str(tmp_path / "out"))
    monkeypatch.setenv("MORPHOGEN_NOTEBOOK_QUICK", "1")

    copy = tmp_path / f"{name}.ipynb"
    shutil.copy(NOTEBOOKS / f"{name}.ipynb", copy)
    nb = nbformat.read(copy, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    start = time.time()
    try:
        client.execute()  # raises CellExecutionError, with the cell and its traceback, at the first failing cell
    finally:
        nbformat.write(nb, copy)  # the executed copy, for inspection
    seconds = time.time() - start

    outputs = _outputs(nb)
    errors = [o for o in outputs if o.output_type == "error"]
    assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
    images = sum("image/png" in o.get("data", {}) for o in outputs)
    assert images >= min_images, f"{name}: {images} pictures, expected at least {min_images} (executed copy: {copy})"
    text = _text(outputs)
    missing = [t for t in texts if t not in text]
    assert not missing, f"{name}: the outputs lack {missing} (executed copy: {copy})"
    print(f"{name}.ipynb ran in {seconds:.1f} s")
