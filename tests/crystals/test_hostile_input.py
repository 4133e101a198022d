"""Hostile input (issue 15): every bad input to ``morphogen crystals ...``, run through the real command line, ends in
one line naming the culprit and exit code 2 (no traceback, nothing sampled first). The files are written here; a
model, where one is needed, is the shipped ``perov_5`` by name."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# one xdist worker runs the whole sweep (its module fixture runs the cases once, not once per worker)
pytestmark = pytest.mark.xdist_group("crystals_hostile")

MAIN = "from morphogen.cli.main import main; main()"
GRAPHS_CKPT = Path(__file__).resolve().parents[2] / "domains" / "morphogen" / "graphs" / "checkpoints" / "qm9.safetensors"


def _cif(lengths=(3.9, 3.9, 3.9), species=("Sr", "Ti", "O", "O", "O")) -> str:
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter

    coords = [[0, 0, 0], [.5, .5, .5], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]][:len(species)]
    return str(CifWriter(Structure(Lattice.orthorhombic(*lengths), list(species), coords)))


def _cdvae(path: Path, rows) -> Path:
    """A CDVAE-format CSV of (material_id, cif text) rows."""
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["", "material_id", "cif"])
        for i, (mid, cif) in enumerate(rows):
            w.writerow([i, mid, cif])
    return path


def _folder(path: Path, rows, cifs: dict) -> Path:
    """A predictions folder: index rows (row, material_id, formula, sample, path) and CIF texts by name."""
    path.mkdir()
    lines = ["row,material_id,formula,sample,path"] + [",".join(str(x) for x in r) for r in rows]
    (path / "index.csv").write_text("\n".join(lines) + "\n")
    for name, text in cifs.items():
        (path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _write(p: Path, content) -> Path:
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00\x01"
PREDICT = ["predict", "--checkpoint", "perov_5", "--steps", "2"]


def _comps(t: Path, text) -> str:
    return str(_write(t / "comps.csv", text))


def _ok(t: Path) -> str:
    return _comps(t, "formula,material_id\nSrTiO3,a\n")


def _ref(t: Path) -> str:
    return str(_cdvae(t / "ref.csv", [("a", _cif())]))


def _pred_dir(t: Path) -> Path:
    (t / "pred").mkdir()
    return t / "pred"


def _good_pred(t: Path) -> str:
    return str(_folder(t / "pred", [(0, "a", "SrTiO3", 0, "0_0.cif")], {"0_0.cif": _cif()}))


# (id, args built from the tmp folder, strings stderr must contain)
CASES = [
    # -- predict: counts and sizes -------------------------------------------------------------------------------
    ("predict-num-samples-0", lambda t: PREDICT + ["--compositions", _ok(t), "--num-samples", "0", "--out", str(t / "o")],
     ["--num-samples", ">= 1"]),
    ("predict-num-samples-neg", lambda t: PREDICT + ["--compositions", _ok(t), "--num-samples", "-5", "--out",
                                                     str(t / "o")], ["--num-samples", "-5"]),
    ("predict-steps-0", lambda t: ["predict", "--checkpoint", "perov_5", "--steps", "0", "--compositions", _ok(t),
                                   "--out", str(t / "o")], ["--steps"]),
    ("predict-batch-size-0", lambda t: PREDICT + ["--compositions", _ok(t), "--batch-size", "0", "--out", str(t / "o")],
     ["--batch-size"]),
    ("predict-max-atoms-0", lambda t: PREDICT + ["--compositions", _ok(t), "--max-atoms", "0", "--out", str(t / "o")],
     ["--max-atoms"]),
    ("predict-H1000", lambda t: PREDICT + ["--compositions", _comps(t, "formula,material_id\nH1000,big\n"),
                                           "--out", str(t / "o")], ["comps.csv", "H1000", "limit of 10 atoms"]),
    ("predict-H100000", lambda t: PREDICT + ["--compositions", _comps(t, "formula,material_id\nSrTiO3,a\nH100000,big\n"),
                                             "--out", str(t / "o")], ["comps.csv", "H100000", "limit of 1000"]),
    ("predict-H1e12", lambda t: PREDICT + ["--compositions", _comps(t, "formula\nH1000000000000\n"), "--out",
                                           str(t / "o")], ["comps.csv", "limit of 1000"]),
    ("predict-sampler-unknown", lambda t: PREDICT + ["--compositions", _ok(t), "--sampler", "nosuch", "--out",
                                                     str(t / "o")], ["--sampler", "nosuch"]),
    ("predict-out-is-file", lambda t: PREDICT + ["--compositions", _ok(t), "--out", str(_write(t / "taken", "x"))],
     ["--out", "taken"]),
    ("predict-compositions-in-out", lambda t: PREDICT + ["--compositions", str(_write(
        _pred_dir(t) / "index.csv", "formula,material_id\nSrTiO3,a\n")), "--out", str(t / "pred")],
     ["--out", "index.csv", "replace its input"]),
    ("train-out-is-file", lambda t: ["train", "--preset", "perov_5", "--data", _ref(t), "--max-steps", "1", "--out",
                                     str(_write(t / "taken", "x"))], ["--out", "taken"]),
    # -- predict: the compositions file ------------------------------------------------------------------------------
    ("comps-missing", lambda t: PREDICT + ["--compositions", str(t / "nope.csv"), "--out", str(t / "o")],
     ["nope.csv", "not found"]),
    ("comps-directory", lambda t: PREDICT + ["--compositions", str(t), "--out", str(t / "o")],
     ["is a directory"]),
    ("comps-empty", lambda t: PREDICT + ["--compositions", _comps(t, ""), "--out", str(t / "o")], ["comps.csv", "empty"]),
    ("comps-header-only", lambda t: PREDICT + ["--compositions", _comps(t, "formula,material_id\n"), "--out",
                                               str(t / "o")], ["comps.csv", "no records"]),
    ("comps-binary", lambda t: PREDICT + ["--compositions", _comps(t, BINARY), "--out", str(t / "o")],
     ["comps.csv", "binary"]),
    ("comps-latin1", lambda t: PREDICT + ["--compositions", _comps(t, "formula,material_id\nSrTiO3,caf\xe9\n".encode(
        "latin-1")), "--out", str(t / "o")], ["comps.csv", "UTF-8"]),
    ("comps-no-formula-column", lambda t: PREDICT + ["--compositions", _comps(t, "name,id\nSrTiO3,a\n"), "--out",
                                                     str(t / "o")], ["comps.csv", "'formula'"]),
    ("comps-bom-names-material-id", lambda t: PREDICT + ["--compositions", _comps(
        t, "\ufeffmaterial_id,formula\nm-17,Xx2\n".encode("utf-8")), "--out", str(t / "o")], ["comps.csv", "'m-17'"]),
    ("comps-bad-formula", lambda t: PREDICT + ["--compositions", _comps(t, "formula,material_id\nSrTiO3,a\nQq3,b\n"),
                                               "--out", str(t / "o")], ["comps.csv", "record 1", "Qq3"]),
    ("comps-fractional", lambda t: PREDICT + ["--compositions", _comps(t, "formula\nSr0.5TiO3\n"), "--out",
                                              str(t / "o")], ["comps.csv", "non-integer"]),
    ("comps-truncated-cif", lambda t: PREDICT + ["--compositions", str(_cdvae(t / "comps.csv", [("a", _cif()[:300])])),
                                                 "--out", str(t / "o")], ["comps.csv", "record 0", "truncated"]),
    ("comps-ragged-row", lambda t: PREDICT + ["--compositions", _comps(t, "formula,material_id\nSrTiO3,a,extra,more\n"),
                                              "--out", str(t / "o")], ["comps.csv", "more fields"]),
    # -- the checkpoint ------------------------------------------------------------------------------------------------
    ("ckpt-graphs-model", lambda t: ["predict", "--checkpoint", str(GRAPHS_CKPT), "--compositions", _ok(t), "--out",
                                     str(t / "o")], ["qm9.safetensors", "graphs"]),
    ("ckpt-unknown-name", lambda t: ["predict", "--checkpoint", "mp_999", "--compositions", _ok(t), "--out",
                                     str(t / "o")], ["--checkpoint", "mp_999"]),
    ("ckpt-binary-junk", lambda t: ["predict", "--checkpoint", str(_write(t / "junk.safetensors", BINARY * 10)),
                                    "--compositions", _ok(t), "--out", str(t / "o")], ["junk.safetensors"]),
    ("ckpt-empty-file", lambda t: ["predict", "--checkpoint", str(_write(t / "empty.safetensors", b"")),
                                   "--compositions", _ok(t), "--out", str(t / "o")], ["empty.safetensors"]),
    ("generate-with-csp-model", lambda t: ["generate", "--checkpoint", "perov_5", "--num-samples", "2", "--steps", "2",
                                           "--out", str(t / "o")], ["--checkpoint", "predict"]),
    ("generate-num-samples-0", lambda t: ["generate", "--checkpoint", "perov_5", "--num-samples", "0", "--out",
                                          str(t / "o")], ["--num-samples"]),
    # -- evaluate --------------------------------------------------------------------------------------------------
    ("eval-unrelated-reference", lambda t: ["evaluate", "--predictions", _good_pred(t), "--reference", str(_cdvae(
        t / "other.csv", [("zz-1", _cif()), ("zz-2", _cif())]))], ["index.csv", "other.csv", "'a'"]),
    ("eval-unrelated-by-row", lambda t: ["evaluate", "--predictions", str(_folder(
        t / "pred", [(0, "", "SrTiO3", 0, "0_0.cif")], {"0_0.cif": _cif()})), "--reference", str(_cdvae(
            t / "other.csv", [("", _cif(species=("Ba", "Zr", "O", "O", "O")))]))], ["index.csv", "other.csv", "row 0"]),
    ("eval-row-beyond-reference", lambda t: ["evaluate", "--predictions", str(_folder(
        t / "pred", [(7, "", "SrTiO3", 0, "7_0.cif")], {"7_0.cif": _cif()})), "--reference", _ref(t)],
     ["index.csv", "ref.csv", "row 7"]),
    ("eval-truncated-cif", lambda t: ["evaluate", "--predictions", str(_folder(
        t / "pred", [(0, "a", "SrTiO3", 0, "0_0.cif")], {"0_0.cif": _cif()[:250]})), "--reference", _ref(t)],
     ["0_0.cif", "truncated"]),
    ("eval-binary-cif", lambda t: ["evaluate", "--predictions", str(_folder(
        t / "pred", [(0, "a", "SrTiO3", 0, "0_0.cif")], {"0_0.cif": BINARY})), "--reference", _ref(t)],
     ["0_0.cif", "binary"]),
    ("eval-cif-missing", lambda t: ["evaluate", "--predictions", str(_folder(
        t / "pred", [(0, "a", "SrTiO3", 0, "0_0.cif")], {})), "--reference", _ref(t)], ["0_0.cif", "not found"]),
    ("eval-degenerate-reference-cif", lambda t: ["evaluate", "--predictions", _good_pred(t), "--reference", str(_cdvae(
        t / "ref.csv", [("a", _cif().replace("_cell_angle_alpha   90.00000000", "_cell_angle_alpha   0"))]))],
     ["ref.csv", "record 0", "'a'", "cell"]),
    ("eval-singular-reference-cif", lambda t: ["evaluate", "--predictions", _good_pred(t), "--reference", str(_cdvae(
        t / "ref.csv", [("a", _cif().replace("_cell_length_a   3.90000000", "_cell_length_a   0"))]))],
     ["ref.csv", "record 0", "degenerate"]),
    ("eval-predictions-missing", lambda t: ["evaluate", "--predictions", str(t / "nowhere"), "--reference", _ref(t)],
     ["nowhere", "not found"]),
    ("eval-predictions-is-file", lambda t: ["evaluate", "--predictions", _ref(t), "--reference", _ref(t)],
     ["ref.csv", "not a folder"]),
    ("eval-no-index", lambda t: ["evaluate", "--predictions", str(_pred_dir(t)), "--reference", _ref(t)], ["index.csv"]),
    ("eval-index-binary", lambda t: ["evaluate", "--predictions", str(_write(_pred_dir(t) / "index.csv", BINARY).parent),
                                     "--reference", _ref(t)], ["index.csv", "binary"]),
    ("eval-index-missing-columns", lambda t: ["evaluate", "--predictions", str(_write(
        _pred_dir(t) / "index.csv", "row,path\n0,0_0.cif\n").parent), "--reference", _ref(t)],
     ["index.csv", "missing columns"]),
    ("eval-index-bad-number", lambda t: ["evaluate", "--predictions", str(_folder(
        t / "pred", [("zero", "a", "SrTiO3", 0, "0_0.cif")], {"0_0.cif": _cif()})), "--reference", _ref(t)],
     ["index.csv", "line 2"]),
    ("eval-reference-no-cif-column", lambda t: ["evaluate", "--predictions", _good_pred(t), "--reference",
                                                _ok(t)], ["comps.csv", "'cif'"]),
    ("eval-reference-binary", lambda t: ["evaluate", "--predictions", _good_pred(t), "--reference",
                                         str(_write(t / "ref.csv", BINARY))], ["ref.csv", "binary"]),
    ("eval-reference-empty", lambda t: ["evaluate", "--predictions", _good_pred(t), "--reference",
                                        str(_write(t / "ref.csv", ""))], ["ref.csv", "empty"]),
    ("eval-out-is-folder", lambda t: ["evaluate", "--predictions", _good_pred(t), "--reference", _ref(t), "--out",
                                      str(t)], ["--out"]),
    # -- prepare ----------------------------------------------------------------------------------------------------
    ("prepare-limit-0", lambda t: ["prepare", "--preset", "perov_5", "--data", _ref(t), "--limit", "0", "--out",
                                   str(t / "p.json.gz")], ["--limit"]),
    ("prepare-limit-neg", lambda t: ["prepare", "--preset", "perov_5", "--data", _ref(t), "--limit", "-3", "--out",
                                     str(t / "p.json.gz")], ["--limit", "-3"]),
    ("prepare-data-missing", lambda t: ["prepare", "--preset", "perov_5", "--data", str(t / "absent.csv"), "--out",
                                        str(t / "p.json.gz")], ["absent.csv"]),
    ("prepare-data-binary", lambda t: ["prepare", "--preset", "perov_5", "--data", str(_write(t / "pool.csv", BINARY)),
                                       "--out", str(t / "p.json.gz")], ["pool.csv", "binary"]),
    ("prepare-preset-unknown", lambda t: ["prepare", "--preset", "perov_55", "--out", str(t / "p.json.gz")],
     ["perov_55"]),
]


@pytest.mark.parametrize("args,expect", [pytest.param(a, e, id=i) for i, a, e in CASES])
def test_hostile_input_is_refused_in_one_line(tmp_path, args, expect):
    env = {k: v for k, v in os.environ.items() if k != "MORPHOGEN_DEBUG"}
    env["OMP_NUM_THREADS"] = "1"
    argv = args(tmp_path)
    r = subprocess.run([sys.executable, "-c", MAIN, "crystals", *argv], capture_output=True, text=True, env=env,
                       cwd=tmp_path, timeout=120)
    err = " ".join(r.stderr.split())  # typer's box wraps long lines
    assert r.returncode == 2, (r.returncode, r.stdout[-2000:], r.stderr[-3000:])
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    for word in expect:
        assert word.replace(" ", "") in err.replace(" ", "").replace("│", ""), (word, r.stderr[-3000:])
    assert not (tmp_path / "o").exists(), "nothing is written for a refused input"


def test_bom_csv_keeps_material_id(tmp_path):
    """A UTF-8 byte order mark before the header (Excel's 'CSV UTF-8') no longer empties the first column."""
    from morphogen.crystals.data import read_compositions

    p = _write(tmp_path / "c.csv", "\ufeffmaterial_id,formula\nm-1,SrTiO3\n".encode("utf-8"))
    [rec] = read_compositions(p)
    assert rec.material_id == "m-1" and rec.num_atoms == 5
