"""Structure elucidation from measured 13C + 1H shift lists on held-out NMRShiftDB2 molecules (spectra, issue 13).

The held-out molecules are the test split of the `nmrshiftdb2` preset (split by InChIKey connectivity layer, seed 0;
molecules of at most 9 heavy atoms, all C, N, O or F). Scored as `morphogen spectra evaluate` scores: top-k by the
connectivity layer, ranked (candidates by agreement of the samples) and any-of-k-samples (DiffSpectra's protocol),
validity, mean top-1 Tanimoto.

Rows (run separately, merged into benchmarks/results/spectra_nmr.json; the .md is rewritten from all rows):

    --row retrieval                     nearest training spectra (morphogen.spectra.retrieval), k = 10
    --row model --checkpoint nmr --num-samples 10 50 --steps 100 [--formula both|known|unknown]

    python benchmarks/spectra_nmr.py --row retrieval
    python benchmarks/spectra_nmr.py --row model --checkpoint nmr --num-samples 10 50 --steps 100
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

RESULTS = Path(__file__).parent / "results"
NAME = "spectra_nmr"


def split(limit: int | None = None):
    from morphogen.spectra.training import load_preset, nmr_split

    parts = nmr_split(load_preset("nmrshiftdb2"))
    return parts["train"], (parts["test"][:limit] if limit else parts["test"])


def write_records(test, path: Path) -> Path:
    """The test molecules as an `elucidate` input file (shifts, formula, truth)."""
    from morphogen.spectra.inputs import formula_of_smiles

    with open(path, "w", encoding="utf-8") as fh:
        for m in test:
            fh.write(json.dumps({"id": str(m.id), "nmr_13c": m.c13, "nmr_1h": m.h1, "smiles": m.smiles,
                                 "formula": formula_of_smiles(m.smiles, m.where)}) + "\n")
    return path


def row_retrieval(train, test, k: int = 10) -> list[dict]:
    from morphogen.spectra.evaluation import evaluate_folder
    from morphogen.spectra.inputs import formula_of_smiles
    from morphogen.spectra.retrieval import SpectralLibrary

    lib = SpectralLibrary.from_molecules(train)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_records(test, Path(tmp) / "test.jsonl")
        for known in (False, True):
            out = Path(tmp) / f"retrieval-{known}"
            out.mkdir()
            t0 = time.perf_counter()
            hits = {str(m.id): lib.query(m.c13, m.h1, formula_of_smiles(m.smiles, m.where) if known else None, k)
                    for m in test}
            seconds = time.perf_counter() - t0
            with open(out / "candidates.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(("id", "rank", "smiles", "score", "count"))
                for i, hs in hits.items():
                    for r, h in enumerate(hs, 1):
                        w.writerow((i, r, h.smiles, f"{h.score:.4f}", 1))
            with open(out / "samples.csv", "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(("id", "sample", "smiles"))
                for i, hs in hits.items():
                    for r, h in enumerate(hs):
                        w.writerow((i, r, h.smiles))
                    if not hs:  # no library molecule of that formula: a miss, counted (empty sample)
                        w.writerow((i, 0, ""))
            ev = evaluate_folder(out, truth)
            rows.append({"row": "retrieval", "label": "retrieval (nearest training spectra)", "formula_known": known,
                         "candidates": k, "steps": None, "nfe": 0, "n": len(test), "library": len(lib),
                         "molecules_per_second": round(len(test) / seconds, 1), **_metrics(ev)})
    return rows


def _metrics(ev: dict) -> dict:
    keep = {k: v for k, v in ev.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return keep


def row_model(checkpoint: str, test, samples_list, steps_list, formulas) -> list[dict]:
    from morphogen.bundle.store import load
    from morphogen.spectra.elucidation import run_elucidation
    from morphogen.spectra.evaluation import evaluate_folder

    model = load(checkpoint, domain="spectra")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_records(test, Path(tmp) / "test.jsonl")
        for known in formulas:
            for steps in steps_list:
                for k in samples_list:
                    out = Path(tmp) / f"m-{known}-{steps}-{k}"
                    info = run_elucidation(model, truth, out, k, known, steps)
                    ev = evaluate_folder(out, truth)
                    rows.append({"row": "model", "label": checkpoint, "formula_known": known, "candidates": k,
                                 "steps": steps, "nfe": info["nfe_per_sample"] * k, "n": len(test),
                                 "molecules_per_second": info["molecules_per_second"], **_metrics(ev)})
    return rows


def _fmt(v, nd=3):
    return "" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def write_table(rows: list[dict]) -> str:
    lines = ["# NMRShiftDB2 held-out molecules from measured 13C + 1H shifts", "",
             "Test split of the `nmrshiftdb2` preset (by connectivity layer, seed 0; <= 9 heavy atoms of C, N, O, F). "
             "Top-k: the connectivity layer of the InChIKey; ranked = candidates ordered by how many samples agree, "
             "any-of-k = one of the first k samples (DiffSpectra's protocol). NFE = network evaluations per molecule "
             "(steps x candidates).", "",
             "| model | formula | steps | candidates | NFE | top-1 | top-3 | top-10 | any-of-k top-1 | any-of-k top-10 "
             "| validity | Tanimoto top-1 | mol/s | n | command |", "|" + "---|" * 15]
    for r in rows:
        lines.append(f"| {r['label']} | {'known' if r['formula_known'] else 'unknown'} | {_fmt(r.get('steps'))} | "
                     f"{r['candidates']} | {r['nfe']} | {_fmt(r.get('top1'))} | {_fmt(r.get('top3'))} | "
                     f"{_fmt(r.get('top10'))} | {_fmt(r.get('top1_any_of_samples'))} | "
                     f"{_fmt(r.get('top10_any_of_samples'))} | "
                     f"{_fmt(r.get('validity'))} | {_fmt(r.get('top1_tanimoto'))} | "
                     f"{_fmt(r.get('molecules_per_second'), 2)} | {r['n']} | `{r['machine']['command']}` |")
    lines += ["", "Retrieval answers only with training molecules: against a split by structure its exact top-k is 0 "
                  "by construction; its Tanimoto says how close the nearest known molecules are.",
              "", "Machines: benchmarks/results/spectra_nmr.json (each row's `machine`)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--row", required=True, choices=["retrieval", "model"])
    ap.add_argument("--checkpoint", default="nmr")
    ap.add_argument("--num-samples", type=int, nargs="+", default=[10])
    ap.add_argument("--steps", type=int, nargs="+", default=[100])
    ap.add_argument("--formula", choices=["both", "known", "unknown"], default="both")
    ap.add_argument("--limit", type=int, default=None, help="first N test molecules (quick checks; not for results)")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    train, test = split(a.limit)
    formulas = {"both": (False, True), "known": (True,), "unknown": (False,)}[a.formula]
    rows = row_retrieval(train, test) if a.row == "retrieval" else \
        row_model(a.checkpoint, test, a.num_samples, a.steps, formulas)
    info = machine_info()
    for r in rows:
        r["machine"] = info
    print(json.dumps(rows, indent=1, default=str))
    if a.limit:
        return
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{NAME}.json"
    old = json.loads(path.read_text())["rows"] if path.is_file() else []
    key = lambda r: (r["row"], r["label"], r["formula_known"], r.get("steps"), r["candidates"])  # noqa: E731
    merged = {key(r): r for r in old}
    merged.update({key(r): r for r in rows})
    allrows = sorted(merged.values(), key=lambda r: (r["row"] != "retrieval", r["label"], r["formula_known"],
                                                      r.get("steps") or 0, r["candidates"]))
    from morphogen.utils.outputs import atomic_json, atomic_text

    atomic_json(path, {"rows": allrows})
    atomic_text(RESULTS / f"{NAME}.md", write_table(allrows))


if __name__ == "__main__":
    main()
