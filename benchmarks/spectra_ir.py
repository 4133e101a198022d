"""Structure elucidation from computed GFN2-xTB IR spectra of held-out QM9 molecules (spectra, issue 13).

The held-out molecules are the GDSS QM9 test molecules of the packed set `data/qm9_ir` (the `qm9-ir` preset's test
split: gdb = row of valid_idx_qm9.json + 1; never trained on), the first ``--limit`` of them in the set's order (a
fixed, seeded interleaving: scripts/spectra/qm9_ir_indices.py). Scored as `morphogen spectra evaluate` scores: top-k
by the InChIKey connectivity layer, ranked as `elucidate` ranks (plausible candidates first - one fragment, closed
shell, neutral - then by how many samples agree), any-of-k samples (DiffSpectra's protocol), validity, mean top-1
Tanimoto. One sampling run of K candidates gives the rows of every k <= K (its first k samples).

    python benchmarks/spectra_ir.py --write-inputs T [--limit 200]
    morphogen spectra elucidate --checkpoint qm9-ir --spectra T --num-samples 50 --formula-known --out D
    python benchmarks/spectra_ir.py --row model --from D --num-samples 1 10 50 [--limit 200]
    python benchmarks/spectra_ir.py --row retrieval [--limit 200]

Retrieval: the training molecules of the set whose broadened spectra have the largest cosine with the query's (with
a known formula, only those of that formula). QM9 holds each molecule once, so its exact top-k is 0 by construction;
its Tanimoto says how close the nearest known molecules are.

Rows merge into benchmarks/results/spectra_ir.json (key: row, label, formula, steps, candidates, valence, n); the .md
is rewritten from all rows.
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info, merge_rows  # noqa: E402

RESULTS = Path(__file__).parent / "results"
NAME = "spectra_ir"
DEFAULT_LIMIT = 200


def split(limit: int | None):
    """(training molecules, the first ``limit`` test molecules) of the qm9-ir preset's packed set."""
    from morphogen.spectra.data.molecules import qm9_ir_molecules
    from morphogen.spectra.training import load_preset, spectra_file, test_ids

    preset = load_preset("qm9-ir")
    mols = qm9_ir_molecules(spectra_file(preset, None))
    held = test_ids(preset)
    test = [m for m in mols if m.id in held]
    train = [m for m in mols if m.id not in held]
    return train, (test[:limit] if limit else test)


def write_records(test, path: Path) -> Path:
    """The test molecules as an `elucidate` input file (spectrum, formula, truth)."""
    from morphogen.spectra.data.molecules import IR_GRID, IR_POINTS
    from morphogen.spectra.inputs import formula_of_smiles

    lo, _, step = IR_GRID
    grid = [round(lo + step * i, 6) for i in range(IR_POINTS)]
    with open(path, "w", encoding="utf-8") as fh:
        for m in test:
            fh.write(json.dumps({"id": str(m.id), "smiles": m.smiles, "formula": formula_of_smiles(m.smiles, m.where),
                                 "ir": {"wavenumber": grid,
                                        "intensity": [round(float(v), 5) for v in m.ir]}}) + "\n")
    return path


def _metrics(ev: dict) -> dict:
    return {k: v for k, v in ev.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _write_folder(out: Path, ranked: dict[str, list[tuple[str, float]]], samples: dict[str, list[str]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "candidates.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("id", "rank", "smiles", "score", "count"))
        for i, hs in ranked.items():
            for r, (smi, score) in enumerate(hs, 1):
                w.writerow((i, r, smi, f"{score:.4f}", 1))
    with open(out / "samples.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(("id", "sample", "smiles"))
        for i, smis in samples.items():
            for n, s in enumerate(smis or [""]):  # no answer at all: one empty sample, counted as a miss
                w.writerow((i, n, s))


def row_retrieval(train, test, k: int = 10) -> list[dict]:
    from morphogen.spectra.evaluation import evaluate_folder
    from morphogen.spectra.inputs import formula_of_smiles

    lib = np.stack([m.ir for m in train]).astype(np.float64)
    lib /= np.linalg.norm(lib, axis=1, keepdims=True).clip(1e-12)
    lib_formula = np.array([formula_of_smiles(m.smiles, m.where) for m in train])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_records(test, Path(tmp) / "test.jsonl")
        for known in (False, True):
            t0 = time.perf_counter()
            ranked, samples = {}, {}
            for m in test:
                q = np.asarray(m.ir, dtype=np.float64)
                cos = lib @ (q / max(np.linalg.norm(q), 1e-12))
                if known:
                    cos = np.where(lib_formula == formula_of_smiles(m.smiles, m.where), cos, -np.inf)
                top = [int(i) for i in np.argsort(-cos, kind="stable")[:k] if np.isfinite(cos[i])]
                ranked[str(m.id)] = [(train[i].smiles, float(cos[i])) for i in top]
                samples[str(m.id)] = [train[i].smiles for i in top]
            seconds = time.perf_counter() - t0
            out = Path(tmp) / f"retrieval-{known}"
            _write_folder(out, ranked, samples)
            ev = evaluate_folder(out, truth)
            rows.append({"row": "retrieval", "label": "retrieval (nearest training spectra)", "formula_known": known,
                         "candidates": k, "steps": None, "nfe": 0, "n": len(test), "library": len(train),
                         "valence": None, "molecules_per_second": round(len(test) / seconds, 1),
                         "command": _command(), **_metrics(ev)})
    return rows


def rows_from_folder(folder: Path, truth: Path, samples_list, label: str, command: str, resim=None) -> list[dict]:
    """Rows for the first k samples of an `elucidate` output (k in ``samples_list``, at most its K), ranked as
    `elucidate` ranks IR candidates: plausible first, then agreement, or with ``resim`` (an
    :class:`~morphogen.spectra.resimulation.IRResimulation`) by the re-simulated spectra of the first
    ``resim.max_candidates`` (`elucidate --ir-ranking xtb`)."""
    from rdkit import Chem, RDLogger

    from morphogen.spectra.elucidation import rank
    from morphogen.spectra.evaluation import evaluate_folder

    RDLogger.DisableLog("rdApp.*")
    info = json.loads((folder / "elucidation.json").read_text())
    K = int(info["num_samples"])
    samples: dict[str, list[str]] = {}
    with open(folder / "samples.csv", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            samples.setdefault(r["id"], []).append(r["smiles"])
    wanted = {json.loads(line)["id"] for line in truth.read_text().splitlines() if line.strip()}
    if set(samples) != wanted:
        raise SystemExit(f"{folder}: its ids are not those of the held-out molecules chosen here "
                         f"({len(samples)} against {len(wanted)}; same --limit as --write-inputs?)")
    parsed = {i: [Chem.AddHs(m) if (m := Chem.MolFromSmiles(x) if x else None) is not None else None for x in smis]
              for i, smis in samples.items()}
    queries = {}  # the records' spectra as the model reads them, for the re-simulation ranking
    if resim is not None:
        from morphogen.spectra.data.molecules import check_ir

        for n, line in enumerate(truth.read_text().splitlines(), 1):
            if line.strip():
                r = json.loads(line)
                queries[r["id"]] = check_ir(r["ir"], f"{truth}:{n}")
    rows = []
    for k in sorted({min(int(k), K) for k in samples_list}):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            if resim is None:
                ranked = {i: [(c.smiles, c.score) for c in rank(mols[:k], k)] for i, mols in parsed.items()}
            else:
                ranked = {i: [(c.smiles, c.score) for c in rank(
                    mols[:k], k, lambda smis, q=queries[i]: resim.distances(smis, q), resim.max_candidates)]
                    for i, mols in parsed.items()}
            out = Path(tmp) / "d"
            _write_folder(out, ranked, {i: s[:k] for i, s in samples.items()})
            ev = evaluate_folder(out, truth)
        extra = {}
        if resim is not None:
            extra = {"ranking": f"xtb (first {resim.max_candidates})", "resimulated": len(resim.spectra),
                     "resimulation_failures": len(resim.failures),
                     "ranking_seconds": round(time.perf_counter() - t0, 1)}
        rows.append({"row": "model", "label": label + (f", xtb ranking of {resim.max_candidates}" if resim else ""),
                     "formula_known": bool(info["formula_known"]), **extra,
                     "candidates": k, "steps": int(info["nfe_per_sample"]), "valence": info.get("valence", "none"),
                     "nfe": int(info["nfe_per_sample"]) * k, "n": len(samples),
                     "molecules_per_second": info["molecules_per_second"] if k == K else None,
                     "command": command, **_metrics(ev)})
    return rows


def _command() -> str:
    return "python benchmarks/spectra_ir.py " + " ".join(sys.argv[1:])


def _fmt(v, nd=3):
    return "" if v is None else f"{v:.{nd}f}" if isinstance(v, float) else str(v)


def write_table(rows: list[dict]) -> str:
    lines = ["# QM9 held-out molecules from computed GFN2-xTB IR spectra", "",
             "GDSS QM9 test molecules of `data/qm9_ir` (never trained on), the first n in the set's order. Top-k: the "
             "InChIKey connectivity layer. Ranking: plausible candidates (one fragment, closed shell, neutral) first, "
             "then by agreement of the samples (`elucidate`'s ranking for IR). any-of-k: one of the first k samples "
             "(DiffSpectra's protocol; DiffSpectra gives the true atom count, which `formula unknown` here also gives). "
             "NFE = network evaluations per molecule (steps x candidates). Rows of k below the sampled K rank the first "
             "k samples of that run; mol/s is given where k = K. Valence: `elucidate --valence`.", "",
             "| model | formula | valence | steps | candidates | NFE | top-1 | top-3 | top-10 | any-of-k top-1 | "
             "any-of-k top-10 | validity | Tanimoto top-1 | mol/s | n | command |", "|" + "---|" * 16]
    for r in rows:
        lines.append(f"| {r['label']} | {'known' if r['formula_known'] else 'unknown'} | {r.get('valence') or ''} | "
                     f"{_fmt(r.get('steps'))} | {r['candidates']} | {r['nfe']} | {_fmt(r.get('top1'))} | "
                     f"{_fmt(r.get('top3'))} | {_fmt(r.get('top10'))} | {_fmt(r.get('top1_any_of_samples'))} | "
                     f"{_fmt(r.get('top10_any_of_samples'))} | {_fmt(r.get('validity'))} | "
                     f"{_fmt(r.get('top1_tanimoto'))} | {_fmt(r.get('molecules_per_second'), 2)} | {r['n']} | "
                     f"`{r['command']}` |")
    lines += ["", "Machines: benchmarks/results/spectra_ir.json (each row's `machine`)."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--row", choices=["retrieval", "model"], default=None)
    ap.add_argument("--checkpoint", default="qm9-ir", help="the label of --from rows")
    ap.add_argument("--num-samples", type=int, nargs="+", default=[1, 10, 50])
    ap.add_argument("--limit", type=int, default=DEFAULT_LIMIT,
                    help=f"the first N held-out molecules (default {DEFAULT_LIMIT}; 0 = all)")
    ap.add_argument("--write-inputs", type=Path, default=None, help="write the held-out molecules as an `elucidate` "
                    "input file and stop")
    ap.add_argument("--from", dest="source", type=Path, nargs="+", default=None,
                    help="score these `elucidate` outputs of the --write-inputs file (same --limit)")
    ap.add_argument("--ranking", choices=["agreement", "xtb"], default="agreement",
                    help="rank the candidates of --from as `elucidate --ir-ranking` does")
    ap.add_argument("--ir-candidates", type=int, default=20, help="--ranking xtb: candidates simulated per molecule")
    ap.add_argument("--workers", type=int, default=1, help="--ranking xtb: simulation processes")
    ap.add_argument("--dry-run", action="store_true", help="print the rows, write no result file")
    a = ap.parse_args()
    train, test = split(a.limit or None)
    if a.write_inputs is not None:
        write_records(test, a.write_inputs)
        print(f"{len(test)} held-out molecules: {a.write_inputs}")
        return
    lim = "" if a.limit == DEFAULT_LIMIT else f" --limit {a.limit}"
    if a.row == "retrieval":
        rows = row_retrieval(train, test)
    elif a.row == "model" and a.source:
        rows = []
        with tempfile.TemporaryDirectory() as tmp:
            truth = write_records(test, Path(tmp) / "test.jsonl")
            resim = None
            if a.ranking == "xtb":
                from morphogen.spectra.resimulation import IRResimulation

                resim = IRResimulation(workers=a.workers, max_candidates=a.ir_candidates)
            rank_opts = (f" --ranking xtb --ir-candidates {a.ir_candidates}" if resim else "")
            for src in a.source:
                info = json.loads((src / "elucidation.json").read_text())
                cmd = (f"python benchmarks/spectra_ir.py{lim} --write-inputs T; morphogen spectra elucidate "
                       f"--checkpoint {a.checkpoint} --spectra T --num-samples {info['num_samples']} --steps "
                       f"{info['nfe_per_sample']}{' --formula-known' if info['formula_known'] else ''} --valence "
                       f"{info.get('valence', 'none')} --out D; python benchmarks/spectra_ir.py{lim} --row model "
                       f"--from D --num-samples " + " ".join(map(str, a.num_samples)) + rank_opts)
                rows += rows_from_folder(src, truth, a.num_samples, a.checkpoint, cmd, resim)
    else:
        raise SystemExit("give --write-inputs T, --row retrieval, or --row model --from D")
    info = machine_info()
    for r in rows:
        r["machine"] = info
    print(json.dumps([{k: v for k, v in r.items() if k != "machine"} for r in rows], indent=1, default=str))
    if a.dry_run:
        return
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{NAME}.json"
    key = lambda r: (r["row"], r["label"], r["formula_known"], r.get("steps"), r["candidates"],  # noqa: E731
                     r.get("valence"), r["n"])
    allrows = merge_rows(path, rows, key, lambda r: (r["row"] != "retrieval", r["label"], r["formula_known"],
                                                      r.get("steps") or 0, r["candidates"]))
    from morphogen.utils.outputs import atomic_text

    atomic_text(RESULTS / f"{NAME}.md", write_table(allrows))


if __name__ == "__main__":
    main()
