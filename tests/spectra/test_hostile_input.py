"""Hostile input (issue 15) for `morphogen spectra ...`: every bad input is refused by the real entry point with one
line naming the culprit, exit code 2 and no traceback, before any simulation, training or sampling; a refused run
writes no output (the runs go through :func:`tests.cli_runs.run_command`, in this process)."""
from __future__ import annotations

import json

import pytest

pytest.importorskip("rdkit")

from tests.cli_runs import assert_refused, run_sweep  # noqa: E402

# one xdist worker runs the whole sweep (its module fixture runs the cases once, not once per worker)
pytestmark = pytest.mark.xdist_group("spectra_hostile")

GRID = [400.0 + 2.0 * k for k in range(1801)]
GOOD = {"id": 1, "formula": "CH4", "smiles": "C", "ir": {"wavenumber": GRID, "intensity": [0.5] * 1801}}
EL = ["elucidate", "--checkpoint", "{t}/tiny", "--num-samples", "2", "--steps", "1", "--out", "{t}/out"]


def el(spectra: str, *extra: str) -> list[str]:
    return EL[:2] + [EL[2], "--spectra", spectra] + EL[3:] + list(extra)


SIM = ["simulate", "--molecules", "{t}/mols.smi", "--workers", "1", "--out", "{t}/out"]
CASES: list[tuple[str, list[str], str]] = [
    # simulate
    ("simulate-workers-0", SIM[:4] + ["0"] + SIM[5:], "--workers"),
    ("simulate-limit-0", SIM + ["--limit", "0"], "--limit"),
    ("simulate-molecules-missing", ["simulate", "--molecules", "{t}/nope.smi", "--out", "{t}/out"], "nope.smi"),
    ("simulate-indices-without-qm9", SIM + ["--indices", "{t}/idx.json"], "--indices"),
    ("simulate-indices-not-json", ["simulate", "--molecules", "qm9", "--indices", "{t}/bad_idx.json", "--out",
                                   "{t}/out"], "bad_idx.json"),
    ("simulate-indices-negative", ["simulate", "--molecules", "qm9", "--indices", "{t}/neg_idx.json", "--out",
                                   "{t}/out"], "neg_idx.json"),
    ("simulate-binary-smiles", ["simulate", "--molecules", "{t}/binary.smi", "--out", "{t}/out"], "binary.smi"),
    # elucidate: options
    ("elucidate-num-samples-0", EL[:3] + ["--spectra", "{t}/good.jsonl", "--num-samples", "0", "--out", "{t}/out"],
     "--num-samples"),
    ("elucidate-steps-0", el("{t}/good.jsonl", "--steps", "0"), "--steps"),
    ("elucidate-batch-size-0", el("{t}/good.jsonl", "--batch-size", "0"), "--batch-size"),
    ("elucidate-sampler-unknown", el("{t}/good.jsonl", "--sampler", "teleport"), "--sampler"),
    ("elucidate-checkpoint-missing", ["elucidate", "--checkpoint", "{t}/none.safetensors", "--spectra",
                                      "{t}/good.jsonl", "--out", "{t}/out"], "none.safetensors"),
    ("elucidate-checkpoint-binary", ["elucidate", "--checkpoint", "{t}/binary.safetensors", "--spectra",
                                     "{t}/good.jsonl", "--out", "{t}/out"], "binary.safetensors"),
    ("elucidate-checkpoint-other-domain", ["elucidate", "--checkpoint", "{other}", "--spectra", "{t}/good.jsonl",
                                           "--out", "{t}/out"], "not a spectra model"),
    ("elucidate-out-is-a-file", EL[:2] + ["{t}/tiny", "--spectra", "{t}/good.jsonl", "--out", "{t}/good.jsonl"],
     "--out"),
    ("elucidate-out-holds-its-input", EL[:2] + ["{t}/tiny", "--spectra", "{t}/same/elucidation.json", "--out",
                                                "{t}/same"], "replace its input"),
    # elucidate: records
    ("record-nan", el("{t}/nan.jsonl"), "nan.jsonl:2"),
    ("record-wrong-grid", el("{t}/grid.jsonl"), "grid.jsonl:2"),
    ("record-negative-intensity", el("{t}/negative.jsonl"), "negative.jsonl:2"),
    ("record-bad-formula", el("{t}/formula.jsonl"), "formula.jsonl:2"),
    ("record-unknown-element", el("{t}/element.jsonl"), "element.jsonl:2"),
    ("record-no-atom-count", el("{t}/count.jsonl"), "count.jsonl:2"),
    ("record-too-many-atoms", el("{t}/big.jsonl"), "big.jsonl:2"),
    ("record-bad-smiles", el("{t}/smiles.jsonl"), "smiles.jsonl:2"),
    ("record-duplicate-id", el("{t}/dupe.jsonl"), "dupe.jsonl:2"),
    ("record-not-json", el("{t}/broken.jsonl"), "broken.jsonl:2"),
    ("record-binary-file", el("{t}/binary.jsonl"), "binary.jsonl"),
    ("record-no-spectrum", el("{t}/nospec.jsonl"), "nospec.jsonl:2"),
    ("record-nmr-for-an-ir-model", el("{t}/nmr.jsonl"), "nmr.jsonl:2"),
    ("formula-known-without-formula", el("{t}/count_ok.jsonl", "--formula-known"), "count_ok.jsonl:1"),
    ("spectra-file-missing", el("{t}/missing.jsonl"), "missing.jsonl"),
    # evaluate and train
    ("evaluate-not-a-folder", ["evaluate", "--candidates", "{t}/nothing", "--truth", "{t}/good.jsonl"], "nothing"),
    ("evaluate-truth-without-smiles", ["evaluate", "--candidates", "{t}/cands", "--truth", "{t}/nosmiles.jsonl"],
     "nosmiles.jsonl:1"),
    ("evaluate-unmatched-ids", ["evaluate", "--candidates", "{t}/cands", "--truth", "{t}/other_ids.jsonl"],
     "matched by id"),
    ("train-preset-unknown", ["train", "--preset", "qm9-uv", "--out", "{t}/out"], "qm9-uv"),
    ("train-out-is-a-file", ["train", "--preset", "qm9-ir", "--data", "{t}/good.jsonl", "--out", "{t}/good.jsonl"],
     "good.jsonl: exists and is not a folder"),
    ("train-data-missing", ["train", "--preset", "qm9-ir", "--data", "{t}/none.jsonl", "--out", "{t}/out"],
     "none.jsonl"),
    ("train-only-test-molecules", ["train", "--preset", "qm9-ir", "--data", "{t}/test_only.jsonl", "--out",
                                   "{t}/out"], "outside the test split"),
]


def _jsonl(path, rows):
    path.write_text("".join((json.dumps(r) if not isinstance(r, str) else r) + "\n" for r in rows))


def _write_inputs(t, tiny) -> None:
    run, recs = tiny
    (t / "tiny").symlink_to(run, target_is_directory=True)
    _jsonl(t / "good.jsonl", [GOOD])
    (t / "same").mkdir()  # an input named like an output, in --out
    _jsonl(t / "same" / "elucidation.json", [GOOD])
    bad = {
        "nan": dict(GOOD, id=2, ir={"wavenumber": GRID, "intensity": [float("nan")] * 1801}),
        "grid": dict(GOOD, id=2, ir={"wavenumber": GRID[::2], "intensity": [0.5] * 901}),
        "negative": dict(GOOD, id=2, ir={"wavenumber": GRID, "intensity": [-1.0] * 1801}),
        "formula": dict(GOOD, id=2, formula="C4H8O)"),
        "element": dict(GOOD, id=2, formula="C2H5Cl"),
        "count": {k: v for k, v in GOOD.items() if k != "formula"} | {"id": 2},
        "big": dict(GOOD, id=2, formula="C20H42"),
        "smiles": dict(GOOD, id=2, smiles="C1CC"),
        "dupe": dict(GOOD),
        "nospec": {"id": 2, "formula": "CH4"},
        "nmr": dict(GOOD, id=2, nmr_13c=[20.0, 30.0]),
    }
    for name, rec in bad.items():
        _jsonl(t / f"{name}.jsonl", [GOOD, rec])
    _jsonl(t / "broken.jsonl", [GOOD, '{"id": 2, "formula": '])
    _jsonl(t / "count_ok.jsonl", [{k: v for k, v in GOOD.items() if k != "formula"} | {"num_atoms": 5}])
    _jsonl(t / "nosmiles.jsonl", [{k: v for k, v in GOOD.items() if k != "smiles"}])
    _jsonl(t / "other_ids.jsonl", [dict(GOOD, id=99)])
    _jsonl(t / "test_only.jsonl", [dict(recs[0], id=7279)])
    noise = bytes((i * 97 + 13) % 256 for i in range(3000))
    for name in ("binary.jsonl", "binary.safetensors", "binary.smi"):
        (t / name).write_bytes(noise)
    (t / "mols.smi").write_text("C methane\n")
    (t / "idx.json").write_text("[1, 2]")
    (t / "bad_idx.json").write_text("[1, 2")
    (t / "neg_idx.json").write_text("[1, -2]")
    cands = t / "cands"
    cands.mkdir()
    (cands / "candidates.csv").write_text("id,rank,smiles,score,count\n1,1,C,1.0,2\n")
    (cands / "samples.csv").write_text("id,sample,smiles\n1,0,C\n1,1,C\n")


def _other_domain_model() -> str | None:
    from morphogen.bundle import shipped_models

    others = [p for k, p in sorted(shipped_models().items()) if not k.startswith("spectra/")]
    return str(others[0]) if others else None


@pytest.fixture(scope="module")
def results(tmp_path_factory, tiny_spectra):
    t = tmp_path_factory.mktemp("hostile")
    _write_inputs(t, tiny_spectra)
    return t, run_sweep("spectra", CASES, t, _other_domain_model())


def test_the_sweep_is_large_enough():
    assert len(CASES) >= 25 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("cid,args,culprit", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line(results, cid, args, culprit, shared_data):
    t, done = results
    assert cid in done, "no model of another domain is installed (the tests install every domain)"
    assert_refused(done[cid], culprit, t / f"out-{cid}")


def test_a_byte_order_mark_is_read(tmp_path):
    """A spectra file saved by an editor that writes a UTF-8 byte order mark is read (it was 'not a JSON record')."""
    from morphogen.spectra.data.molecules import iter_spectra

    p = tmp_path / "bom.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + (json.dumps(GOOD) + "\n" + json.dumps(dict(GOOD, id=2)) + "\n").encode())
    assert [rec["id"] for _, rec in iter_spectra(p)] == [1, 2]
