"""Hostile input to ``morphogen graphs prepare | train | sample | evaluate`` (issue 15): every case runs the real
command line in a subprocess and must be refused with a non-zero exit (2: one of the project's errors or an option
error), no traceback, and a message naming the culprit (file, record or option) and, where there is one, the
limit. The files are written here, tiny; a model is the shipped ``qm9`` (or crystals' ``perov_5`` as a model of
another domain). Each refusal comes before any expensive work (featurising a reference, sampling, training)."""
from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

# one xdist worker runs the whole sweep (its module fixture runs the cases once, not once per worker)
pytestmark = pytest.mark.xdist_group("graphs_hostile")

ROOT = Path(__file__).resolve().parents[2]
CRYSTALS_MODEL = ROOT / "domains/morphogen/crystals/checkpoints/perov_5.safetensors"
LONG = "C" * 20_000
BINARY = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x81"
ZINC_OK = "smiles\nCCO\nCCN\nc1ccccc1\nCC(=O)O\n"


def _graphs(*rows) -> str:
    return json.dumps({"graphs": list(rows)})


OK_GRAPH = {"num_nodes": 3, "edges": [[0, 1], [1, 2]]}


def _write(tmp: Path, name: str, data: str | bytes | None) -> Path:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    elif data is not None:
        p.write_text(data, encoding="utf-8")
    return p


# Each case: (id, files {name: content}, command line with {tmp} for the test folder, texts the error must name).
# A content of None makes a folder; "smi/..." files make a samples folder.
CASES = [
    # -- evaluate: the samples folder and its samples.smi / graphs.json
    ("eval-smiles-20000-chars", {"s/samples.smi": LONG + "\n"},
     "evaluate --samples {tmp}/s --reference qm9 --no-fcd --no-nspdk", ["samples.smi:1", "limit of 1000"]),
    ("eval-empty-samples", {"s/samples.smi": ""},
     "evaluate --samples {tmp}/s --reference qm9 --no-fcd --no-nspdk", ["samples.smi", "empty"]),
    ("eval-binary-samples", {"s/samples.smi": BINARY},
     "evaluate --samples {tmp}/s --reference qm9 --no-fcd --no-nspdk", ["samples.smi", "UTF-8"]),
    ("eval-nul-in-samples", {"s/samples.smi": "CCO\nC\x00C\n"},
     "evaluate --samples {tmp}/s --reference qm9 --no-fcd --no-nspdk", ["samples.smi:2", "NUL"]),
    ("eval-no-samples-folder", {},
     "evaluate --samples {tmp}/missing --reference qm9 --no-fcd --no-nspdk", ["missing"]),
    ("eval-samples-is-a-file", {"s.txt": "CCO\n"},
     "evaluate --samples {tmp}/s.txt --reference qm9 --no-fcd --no-nspdk", ["s.txt", "is a file"]),
    ("eval-folder-without-smi", {"s/other.txt": "x"},
     "evaluate --samples {tmp}/s --reference qm9 --no-fcd --no-nspdk", ["samples.smi", "not found"]),
    ("eval-smi-is-a-folder", {"s/samples.smi": None},
     "evaluate --samples {tmp}/s --reference qm9 --no-fcd --no-nspdk", ["samples.smi", "folder"]),
    ("eval-binary-graphs-json", {"s/graphs.json": BINARY},
     "evaluate --samples {tmp}/s --reference community_small", ["graphs.json", "UTF-8"]),
    ("eval-graphs-json-negative-nodes", {"s/graphs.json": _graphs(OK_GRAPH, {"num_nodes": -3, "edges": []})},
     "evaluate --samples {tmp}/s --reference community_small", ["graphs.json: graph 1", "num_nodes"]),
    ("eval-unknown-reference", {"s/samples.smi": "CCO\n"},
     "evaluate --samples {tmp}/s --reference nosuchbench", ["nosuchbench"]),
    # -- prepare: SMILES CSVs
    ("prepare-smiles-20000-chars-skip-invalid", {"z.csv": "smiles\n" + LONG + "\n"},
     "prepare --preset zinc250k --data {tmp}/z.csv --out {tmp}/p.safetensors --skip-invalid",
     ["z.csv:2", "limit of 1000", "1 skipped"]),
    ("prepare-smiles-20000-chars", {"z.csv": ZINC_OK + LONG + "\n"},
     "prepare --preset zinc250k --data {tmp}/z.csv --out {tmp}/p.safetensors", ["z.csv:6", "limit of 1000"]),
    ("prepare-binary-csv", {"z.csv": BINARY},
     "prepare --preset zinc250k --data {tmp}/z.csv --out {tmp}/p.safetensors", ["z.csv", "UTF-8"]),
    ("prepare-empty-csv", {"z.csv": ""},
     "prepare --preset zinc250k --data {tmp}/z.csv --out {tmp}/p.safetensors", ["z.csv:1", "empty"]),
    ("prepare-csv-without-smiles-column", {"z.csv": "name,formula\na,CCO\n"},
     "prepare --preset zinc250k --data {tmp}/z.csv --out {tmp}/p.safetensors", ["z.csv:1", "smiles"]),
    ("prepare-unparsable-smiles", {"z.csv": ZINC_OK + "C1CC(\n"},
     "prepare --preset zinc250k --data {tmp}/z.csv --out {tmp}/p.safetensors", ["z.csv:6", "C1CC("]),
    ("prepare-not-gzip", {"moses/train.csv.gz": b"SMILES\nCCO\n", "moses/test.csv.gz": b"SMILES\nCCO\n"},
     "prepare --preset moses --data {tmp}/moses --out {tmp}/p.safetensors", ["train.csv.gz", "gzip"]),
    ("prepare-data-is-a-folder", {"d/x": "1"},
     "prepare --preset zinc250k --data {tmp}/d --out {tmp}/p.safetensors", ["/d"]),
    ("prepare-limit-0", {}, "prepare --preset community_small --limit 0 --out {tmp}/p.safetensors", ["--limit"]),
    ("prepare-unknown-preset", {}, "prepare --preset nosuchpreset --out {tmp}/p.safetensors", ["nosuchpreset"]),
    # -- train: graph JSON files
    ("train-negative-num-nodes", {"g.json": _graphs(*[OK_GRAPH] * 4, {"num_nodes": -3, "edges": []})},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1", ["g.json: graph 4", "-3"]),
    ("train-too-many-nodes", {"g.json": _graphs(*[OK_GRAPH] * 4, {"num_nodes": 50, "edges": []})},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1",
     ["g.json: graph 4", "limit of 20"]),
    ("train-huge-num-nodes", {"g.json": _graphs({"num_nodes": 10 ** 12, "edges": []})},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1", ["g.json: graph 0"]),
    ("train-float-num-nodes", {"g.json": _graphs({"num_nodes": 2.5, "edges": []})},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1", ["g.json: graph 0", "2.5"]),
    ("train-edge-out-of-range", {"g.json": _graphs(*[OK_GRAPH] * 4, {"num_nodes": 2, "edges": [[0, 5]]})},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1", ["g.json: graph 4", "(0, 5)"]),
    ("train-empty-graph-list", {"g.json": _graphs()},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1", ["g.json", "empty"]),
    ("train-binary-json", {"g.json": BINARY},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1", ["g.json", "UTF-8"]),
    ("train-bad-json", {"g.json": '{"graphs": [\n{"num_nodes": 3,,}]}'},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/run --max-steps 1", ["g.json:2", "JSON"]),
    ("train-missing-data", {},
     "train --preset community_small --data {tmp}/nothing.json --out {tmp}/run --max-steps 1", ["nothing.json"]),
    ("train-limit-0", {}, "train --preset community_small --limit 0 --out {tmp}/run", ["--limit"]),
    ("train-epochs-0", {}, "train --preset community_small --epochs 0 --out {tmp}/run", ["--epochs"]),
    ("train-out-is-a-file", {"afile": "x", "g.json": _graphs(*[OK_GRAPH] * 4)},
     "train --preset community_small --data {tmp}/g.json --out {tmp}/afile --max-steps 1", ["--out", "afile"]),
    # -- sample: counts and checkpoints
    ("sample-num-samples-0", {}, "sample --checkpoint qm9 --out {tmp}/s --num-samples 0", ["--num-samples"]),
    ("sample-num-samples-negative", {}, "sample --checkpoint qm9 --out {tmp}/s --num-samples -5", ["--num-samples"]),
    ("sample-steps-0", {}, "sample --checkpoint qm9 --out {tmp}/s --steps 0", ["--steps"]),
    ("sample-batch-size-0", {}, "sample --checkpoint qm9 --out {tmp}/s --batch-size 0", ["--batch-size"]),
    ("sample-crystals-checkpoint", {},
     f"sample --checkpoint {CRYSTALS_MODEL} --out {{tmp}}/s --num-samples 2", ["perov_5", "crystals model"]),
    ("sample-binary-checkpoint", {"m.safetensors": BINARY},
     "sample --checkpoint {tmp}/m.safetensors --out {tmp}/s --num-samples 2", ["m.safetensors"]),
    ("sample-unknown-checkpoint", {}, "sample --checkpoint nosuchmodel --out {tmp}/s --num-samples 2",
     ["nosuchmodel"]),
]


def _squash(text: str) -> str:
    """The text without whitespace and box-drawing characters (typer wraps an option error in a box)."""
    return re.sub(r"[\s\u2500-\u257f]", "", text)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_refused_in_one_line(case, tmp_path):
    name, files, command, culprits = case
    for rel, content in files.items():
        if content is None:
            (tmp_path / rel).mkdir(parents=True)
        else:
            _write(tmp_path, rel, content)
    if name == "prepare-not-gzip":  # real gzip container, damaged inside (the first file is not gzip at all)
        (tmp_path / "moses/test.csv.gz").write_bytes(gzip.compress(b"SMILES\nCCO\n"))
    env = {k: v for k, v in os.environ.items() if k != "MORPHOGEN_DEBUG"}
    env.update(OMP_NUM_THREADS="1", MORPHOGEN_CACHE="off", COLUMNS="300")
    args = command.format(tmp=tmp_path).split()
    r = subprocess.run([sys.executable, "-c", "from morphogen.cli.main import main; main()", "graphs", *args],
                       capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 2, f"exit {r.returncode}\n{out[-3000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    for c in culprits:
        assert _squash(c) in _squash(out), f"{c!r} not named in:\n{out[-3000:]}"
    assert not (tmp_path / "run" / "model.safetensors").exists()
    assert not (tmp_path / "p.safetensors").exists()


def test_skip_invalid_says_how_many_rows_it_skipped(tmp_path):
    csv = _write(tmp_path, "z.csv", ZINC_OK + LONG + "\nXyz\n")
    env = {k: v for k, v in os.environ.items() if k != "MORPHOGEN_DEBUG"}
    env.update(OMP_NUM_THREADS="1", MORPHOGEN_CACHE="off")
    r = subprocess.run([sys.executable, "-c", "from morphogen.cli.main import main; main()", "graphs", "prepare",
                        "--preset", "zinc250k", "--data", str(csv), "--out", str(tmp_path / "p.safetensors"),
                        "--skip-invalid"], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "skipped 2 invalid records" in r.stdout and "training graphs kept" in r.stdout, r.stdout
    assert "z.csv:6" in r.stdout and "limit of 1000" in r.stdout


def test_bom_csv_is_read(tmp_path):
    from morphogen.molecules.io import read_smiles_csv

    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + ZINC_OK.encode())
    assert [s for _, s in read_smiles_csv(p)] == ["CCO", "CCN", "c1ccccc1", "CC(=O)O"]
