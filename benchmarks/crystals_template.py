"""The fixed cubic perovskite template on the held-out Perov-5 test split (seed 0, 80/10/10 of the pool).

Rows: electronegativity order (least electronegative on A), the same with A and B exchanged, and the best of the
template's symmetry-distinct site assignments. Metrics: DiffCSP's match rate / RMSE (StructureMatcher stol=0.5,
angle_tol=10, ltol=0.3). Writes benchmarks/results/crystals_template.{json,md}.

    python benchmarks/crystals_template.py [--data ../shared/data/crystals/perov_5/pool.csv]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from morphogen.crystals.data import read_cdvae_csv, record_to_structure, split_indices
    from morphogen.crystals.metrics import csp_match
    from morphogen.crystals.models.template import template_assignments, template_structure

    default = Path(os.environ.get("MORPHOGEN_TEST_DATA", ROOT.parent / "shared" / "data")) / "crystals/perov_5/pool.csv"
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=default)
    args = ap.parse_args()
    recs = read_cdvae_csv(args.data)
    test = [recs[i] for i in split_indices(len(recs), seed=0).test]
    refs = [record_to_structure(r) for r in test]
    mixed = [len(set(r.atomic_numbers.tolist())) > 3 for r in test]
    rows = {}
    for name, fn in (("template (electronegativity order)", lambda r: [template_structure(r.atomic_numbers)]),
                     ("template (A/B exchanged)", lambda r: [template_structure(r.atomic_numbers, swap_ab=True)]),
                     ("template (best of site assignments)", lambda r: template_assignments(r.atomic_numbers))):
        t0 = time.time()
        res = csp_match([fn(r) for r in test], refs)
        sub = {}
        for label, want in (("ABX3", False), ("mixed anions", True)):
            idx = [i for i, m in enumerate(mixed) if m == want]
            import numpy as np

            rms = res.rms[idx]
            sub[label] = {"n": len(idx), "match_rate": float(np.isfinite(rms).mean()),
                          "rmse": float(np.nanmean(rms)) if np.isfinite(rms).any() else float("nan")}
        rows[name] = {**res.as_dict(), "seconds": time.time() - t0, "by_anion_pattern": sub}
    out = {"data": str(args.data), "split": "seed 0, fractions 0.8/0.1/0.1, test", "n_test": len(test), "rows": rows}
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _machine import command_line

    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    (res_dir / "crystals_template.json").write_text(json.dumps(out, indent=2))
    lines = ["| baseline | samples/composition | match rate | RMSE | ABX3 match | mixed-anion match |", "|---|---|---|---|---|---|"]
    for name, r in rows.items():
        a, m = r["by_anion_pattern"]["ABX3"], r["by_anion_pattern"]["mixed anions"]
        lines.append(f"| {name} | {r['k']} | {r['match_rate']:.3f} | {r['rmse']:.4f} | {a['match_rate']:.3f} (n={a['n']}) "
                     f"| {m['match_rate']:.3f} (n={m['n']}) |")
    (res_dir / "crystals_template.md").write_text(f"Command: `{command_line()}`\n\nPerov-5 held-out test split (n = {len(test)})\n\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
