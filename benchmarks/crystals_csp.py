"""Crystal structure prediction on a held-out split of a pool: match rate and RMSE per model and step count.

Perov-5 (one sample per composition; the bar: match >= 60 % and RMSE below the template's at <= 50 network
evaluations): CrysBFN vs DiffCSP-style diffusion vs flow matching, the same denoiser, at 10 / 20 / 50 / 100 network
evaluations, with the rates per anion pattern (ABX3 vs mixed anions) and structures per second on this CPU; the
best of k samples for every k of ``--k`` (issue 14's bar: k = 1 and k = 20 at 20 steps), with cRMSE (Martirossyan
et al. 2025: an unmatched reference counted at the tolerance). Carbon-24 (many polymorphs per formula): the best of
k = 1, 5, 20 samples.

    python benchmarks/crystals_csp.py --dataset perov_5 --models bfn=PATH,diffusion=PATH,flow=perov_5
    python benchmarks/crystals_csp.py --dataset carbon_24 --models bfn=carbon_24 --k 1,5,20 --steps 100
    python benchmarks/crystals_csp.py --models "flow=perov_5,flow-renoise=perov_5@renoise" --steps 50 --tag _samplers

A model is ``label=checkpoint`` or ``label=checkpoint@sampler`` (a sampler override as ``predict --sampler`` takes
it, e.g. ``renoise`` or ``renoise:start=0.5``). All max(k) samples of all compositions are drawn in the same
batches from one generator seeded with 0, exactly as ``morphogen crystals predict --num-samples K`` draws them
(:func:`morphogen.crystals.prediction.predict`; rows recorded before this change drew sample j with seed j, one
call per j); NFE is the sampler's own count of network evaluations (``SampleResult.nfe``):
the receiver sampler ``bfn`` of n steps makes n + 1, ``bfn_end_back`` n (n + 1 with ``final=evaluate``).

Models are shipped names or model files; the split is the preset's (seed 0, 80/10/10 of the pool in
../shared/data). Writes benchmarks/results/crystals_<dataset><tag>.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    from morphogen.utils.threads import configure_threads

    configure_threads(1)
    warnings.filterwarnings("ignore")
    from _machine import command_line, machine_info

    from morphogen.crystals.data import record_to_structure
    from morphogen.crystals.experiment import load_model, load_preset, load_splits
    from morphogen.crystals.prediction import predict
    from morphogen.crystals.metrics import csp_match

    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="perov_5")
    ap.add_argument("--data", default=None, help="pool CSV or prepared .json.gz (default: ../shared/data)")
    ap.add_argument("--models", default="flow=perov_5", help="label=checkpoint,...")
    ap.add_argument("--steps", default="10,20,50,100")
    ap.add_argument("--k", default="1")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--tag", default="", help="suffix of the result files")
    a = ap.parse_args()
    splits = load_splits(load_preset(a.dataset), a.data)
    test = splits.test[:a.limit] if a.limit else splits.test
    refs = [record_to_structure(r) for r in test]
    mixed = np.array([len(set(r.atomic_numbers.tolist())) > 3 for r in test])
    ks = [int(k) for k in a.k.split(",")]
    rows = []
    for spec in a.models.split(","):
        label, ckpt = spec.split("=", 1)
        ckpt, _, sampler = ckpt.partition("@")
        model = load_model(ckpt)
        for steps in [int(s) for s in a.steps.split(",")]:
            t0 = time.time()
            out = predict(model, test, num_samples=max(ks), steps=steps, seed=0, sampler=sampler or None)
            samples = out.per_composition()
            sec = time.time() - t0
            for k in ks:
                res = csp_match([s[:k] for s in samples], refs)
                row = {"model": label, "checkpoint": ckpt, "process": model.family,
                       "sampler": sampler or out.sampler.name, "steps": steps,
                       "nfe": out.nfe, "k": k, "match_rate": res.match_rate, "rmse": res.rmse, "crmse": res.crmse,
                       "n": res.n,
                       "structures_per_second": len(test) * max(ks) / sec}
                if a.dataset == "perov_5":
                    for name, sel in (("ABX3", ~mixed), ("mixed anions", mixed)):
                        rms = res.rms[sel]
                        row[name] = {"n": int(sel.sum()), "match_rate": float(np.isfinite(rms).mean()),
                                     "rmse": float(np.nanmean(rms)) if np.isfinite(rms).any() else float("nan")}
                rows.append(row)
                print(json.dumps(row), flush=True)
    out = {"dataset": a.dataset, "data": splits.source, "n_test": len(test), "split": "preset seed, test part",
           "machine": machine_info(), "rows": rows,
           "matcher": "StructureMatcher(stol=0.5, angle_tol=10, ltol=0.3); RMSE normalised by (V/N)^(1/3)"}
    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    (res_dir / f"crystals_{a.dataset}{a.tag}.json").write_text(json.dumps(out, indent=2))
    head = "| model | process | sampler | NFE | k | match rate | RMSE | cRMSE |"
    sep = "|---|---|---|---|---|---|---|---|"
    if a.dataset == "perov_5":
        head += " ABX3 match | mixed-anion match |"
        sep += "---|---|"
    head += " structures/s |"
    sep += "---|"
    lines = [f"{a.dataset}: held-out test split (n = {len(test)}), one thread of {out['machine']['cpu']}", "",
             head, sep]
    for r in rows:
        line = f"| {r['model']} | {r['process']} | {r['sampler']} | {r['nfe']} | {r['k']} | {r['match_rate']:.3f} | {r['rmse']:.4f} | {r['crmse']:.4f} |"
        if a.dataset == "perov_5":
            line += f" {r['ABX3']['match_rate']:.3f} | {r['mixed anions']['match_rate']:.3f} |"
        lines.append(line + f" {r['structures_per_second']:.1f} |")
    (res_dir / f"crystals_{a.dataset}{a.tag}.md").write_text(f"Command: `{command_line()}`\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
