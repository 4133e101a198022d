"""Where the first-sample RMSE of a Perov-5 CSP model comes from: its samples split by whether they put the two
cations on the true A / B sites, and by anion mix.

For each held-out composition the model's first sample (the default sampler, ``--steps``) is matched against the
truth with StructureMatcher(stol=0.5, angle_tol=10, ltol=0.3), as `benchmarks/crystals_csp.py` does. The sites of a
cell are read as `benchmarks/crystals_perov_sites.py` reads them (B: the cation whose six nearest anions are
closest). The table gives, per group, how many samples there are, how many match, the mean and median RMSE of the
matched ones and a histogram of those RMSEs; a sample whose sites cannot be read (no six anion neighbours) is its
own group.

    python benchmarks/crystals_perov_first_sample.py [--checkpoint perov_5] [--steps 20] [--seed 0]

Writes benchmarks/results/crystals_perov_first_sample.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
BINS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5)


def group_row(label: str, ok: np.ndarray, rms: np.ndarray) -> dict:
    f = rms[ok & np.isfinite(rms)]
    return {"group": label, "n": int(ok.sum()), "matched": int(f.size),
            "match_share": round(float(f.size / max(int(ok.sum()), 1)), 4),
            "rmse_mean": round(float(f.mean()), 4) if f.size else None,
            "rmse_median": round(float(np.median(f)), 4) if f.size else None,
            "histogram": np.histogram(f, bins=BINS)[0].tolist()}


def main() -> None:
    warnings.filterwarnings("ignore")
    from _machine import command_line, machine_info
    from crystals_perov_sites import sites

    from morphogen.crystals.data import record_to_structure
    from morphogen.crystals.experiment import load_model, load_preset, load_splits
    from morphogen.crystals.metrics import csp_match
    from morphogen.crystals.prediction import predict
    from morphogen.utils.outputs import atomic_json, atomic_text
    from morphogen.utils.threads import configure_threads

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--checkpoint", default="perov_5")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    configure_threads()
    test = load_splits(load_preset("perov_5")).test
    refs = [record_to_structure(r) for r in test]
    model = load_model(a.checkpoint)
    t0 = time.time()
    out = predict(model, test, num_samples=1, steps=a.steps, seed=a.seed)
    seconds = time.time() - t0
    first = [s[0] for s in out.per_composition()]
    res = csp_match([[s] for s in first], refs)
    rms = np.asarray(res.rms, dtype=np.float64)
    site_ok = np.zeros(len(test), dtype=bool)
    unread = np.zeros(len(test), dtype=bool)
    for i, (s, r) in enumerate(zip(first, test)):
        try:
            truth = sites(refs[i], r.atomic_numbers)
            got = sites(s, [site.specie.Z for site in s]) if s is not None else None
        except ValueError:
            got = None
        if got is None:
            unread[i] = True
        else:
            site_ok[i] = got == truth
    mixed = np.array([len(set(r.atomic_numbers.tolist())) > 3 for r in test])
    every = np.ones(len(test), dtype=bool)
    rows = [group_row("all", every, rms),
            group_row("sites right", site_ok, rms),
            group_row("sites swapped", ~site_ok & ~unread, rms),
            group_row("sites unreadable", unread, rms),
            group_row("ABX3, sites right", site_ok & ~mixed, rms),
            group_row("mixed anions, sites right", site_ok & mixed, rms)]
    cmd = command_line()
    result = {"command": cmd, "checkpoint": a.checkpoint, "sampler": str(model.sampler_spec), "steps": a.steps,
              "nfe": int(out.nfe), "seed": a.seed, "n": len(test),
              "match_rate": round(float(res.match_rate), 4), "rmse": round(float(res.rmse), 4),
              "seconds_sampling": round(seconds, 1), "rows": rows, "machine": machine_info()}
    results = ROOT / "benchmarks" / "results"
    atomic_json(results / "crystals_perov_first_sample.json", result)
    lines = ["# Perov-5 first samples: match and RMSE by site assignment", "",
             f"Command: `{cmd}`", "",
             f"Checkpoint `{a.checkpoint}`, {a.steps} steps ({out.nfe} NFE), seed {a.seed}, held-out n = {len(test)}: "
             f"match {res.match_rate:.3f}, RMSE {res.rmse:.4f}. RMSE histogram bins: "
             + ", ".join(f"{lo:g}-{hi:g}" for lo, hi in zip(BINS[:-1], BINS[1:])) + ".", "",
             "| group | n | matched | match share | RMSE mean | RMSE median | RMSE histogram |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['group']} | {r['n']} | {r['matched']} | {r['match_share']:.3f} | "
                     f"{'' if r['rmse_mean'] is None else format(r['rmse_mean'], '.4f')} | "
                     f"{'' if r['rmse_median'] is None else format(r['rmse_median'], '.4f')} | {r['histogram']} |")
    lines += ["", "Machine: `crystals_perov_first_sample.json` (`machine`)."]
    atomic_text(results / "crystals_perov_first_sample.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
