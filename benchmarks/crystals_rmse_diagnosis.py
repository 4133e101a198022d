"""Where the RMSE of a Perov-5 CSP model comes from: the metric, the lattice, the arrangement, or generalisation.

    python benchmarks/crystals_rmse_diagnosis.py --models shipped=perov_5,new=runs/x/model.safetensors [--limit 379]

For each model (one sample per composition, the model's default sampler at ``--steps``):

* match rate / RMSE / cRMSE on the held-out split, overall and by arrangement of the reference: *ideal* (every
  fractional coordinate on {0, 1/2} up to a common shift along each axis, the cubic perovskite) or *displaced*
  (atoms off that grid along one axis), beside the cubic template's;
* the same on the first ``--train-limit`` training compositions (generalisation gap);
* lattice vs coordinates: the RMSE with the reference lattice put under the sampled coordinates, and the median
  largest error of the sampled length ratios (lengths / V^(1/3)) and angles;
* one-step precision: the true cell corrupted to t = 0.5 / 0.8 / 0.95 by the model's coordinate process, the
  normalised coordinate RMS (mean shift removed, Cartesian in the true lattice, / (V/N)^(1/3)) of the input and of
  the network's one-call endpoint estimate.

Also a check of the metric itself: atoms displaced by a known Cartesian N(0, (sigma (V/N)^(1/3))^2) step give a
normalised RMS near sigma sqrt(3 (N - 1) / N). Writes benchmarks/results/crystals_rmse_diagnosis.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def free_axes(frac: np.ndarray, tol: float = 0.01) -> int:
    """Axes along which some atom is off the {0, 1/2} grid after the best common shift along that axis."""
    f = np.mod(frac, 1.0)
    out = 0
    for ax in range(3):
        x = f[:, ax]
        dev = [np.max(np.minimum(np.mod(x - s, 0.5), 0.5 - np.mod(x - s, 0.5))) for s in x]
        out += int(min(dev) > tol)
    return out


def groups(res, ideal: np.ndarray) -> dict:
    out = {}
    for name, sel in (("all", np.ones_like(ideal)), ("ideal", ideal), ("displaced", ~ideal)):
        rms = res.rms[sel]
        matched = np.isfinite(rms)
        out[name] = {"n": int(sel.sum()), "match_rate": float(matched.mean()),
                     "rmse": float(rms[matched].mean()) if matched.any() else float("nan"),
                     "crmse": float(np.where(matched, rms, res.tolerance).mean())}
    return out


def one_step_precision(model, records, ts=(0.5, 0.8, 0.95), seed: int = 0) -> dict:
    import torch

    from morphogen.crystals.data import CrystalDataset, collate_crystals
    from morphogen.crystals.data.lattice import matrix_from_parameters
    from morphogen.processes.wrapped import wrap_diff

    lat = torch.as_tensor(matrix_from_parameters(np.stack([r.lattice for r in records])))
    n = torch.as_tensor([r.num_atoms for r in records], dtype=torch.float64)
    scale = (torch.abs(torch.det(lat)) / n) ** (1 / 3)
    ds = CrystalDataset(records, model.codec, model.task)
    batch = collate_crystals([ds[i] for i in range(len(records))])
    mask = batch["condition"]["node_mask"].double().unsqueeze(-1)

    def rms(d):
        d = d.double() * mask
        d = (d - d.sum(1, keepdim=True) / mask.sum(1, keepdim=True)) * mask
        cart = torch.einsum("bnk,bkj->bnj", d, lat)
        return (torch.sqrt((cart**2).sum(-1).sum(-1) / mask[..., 0].sum(-1)) / scale).mean().item()

    g = torch.Generator().manual_seed(seed)
    model.denoiser.eval()
    proc, kind = model.process["frac_coords"], model.denoiser.prediction_kinds["frac_coords"]
    out = {}
    for t in ts:
        tt = torch.full((len(records),), float(t))
        cor = {k: model.process[k].corrupt(batch["fields"][k], tt, batch["masks"].get(k), generator=g)
               for k in model.process.fields}
        state = {k: c.state for k, c in cor.items()}
        with torch.no_grad():
            pred = model.denoiser(state, batch["condition"])["frac_coords"]
        x = state["frac_coords"].value
        try:
            x1 = pred if kind == "x1" else proc.convert(x, tt, pred, kind, "x1")
        except Exception:  # a process without a conversion to an endpoint
            continue
        truth = batch["fields"]["frac_coords"]
        out[f"t={t}"] = {"input": rms(wrap_diff(x - truth)), "estimate": rms(wrap_diff(x1 - truth))}
    return out


def main() -> None:
    from morphogen.utils.threads import configure_threads

    configure_threads(1)
    warnings.filterwarnings("ignore")
    from _machine import command_line, machine_info
    from pymatgen.core import Structure

    from morphogen.crystals.data import record_to_structure
    from morphogen.crystals.experiment import load_model, load_preset, load_splits, sample_structures
    from morphogen.crystals.metrics import csp_match, match_rms, structure_matcher
    from morphogen.crystals.models.template import template_structure

    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="shipped=perov_5", help="label=checkpoint,...")
    ap.add_argument("--data", default=None, help="pool CSV or prepared .json.gz (default: ../shared/data)")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--limit", type=int, default=None, help="held-out cells (default: all)")
    ap.add_argument("--train-limit", type=int, default=100)
    ap.add_argument("--tag", default="")
    a = ap.parse_args()
    splits = load_splits(load_preset("perov_5"), a.data)
    test = splits.test[:a.limit] if a.limit else splits.test
    train = splits.train[:a.train_limit]
    refs, train_refs = [record_to_structure(r) for r in test], [record_to_structure(r) for r in train]
    ideal = np.array([free_axes(r.frac_coords) == 0 for r in test])
    matcher = structure_matcher()
    rng = np.random.default_rng(0)
    metric_check = {}
    for sigma in (0.02, 0.05, 0.1):
        got = []
        for s in refs[:50]:
            t = s.copy()
            n = len(t)
            d = rng.normal(size=(n, 3)) * sigma * (t.volume / n) ** (1 / 3)
            d -= d.mean(0)
            for i in range(n):
                t.translate_sites([i], d[i], frac_coords=False, to_unit_cell=True)
            r = matcher.get_rms_dist(t, s)
            got.append(r[0] if r else np.nan)
        metric_check[str(sigma)] = {"rms": float(np.nanmean(got)), "expected": float(sigma * np.sqrt(3 * 4 / 5))}
    template = csp_match([[template_structure(r.atomic_numbers)] for r in test], refs)
    rows = [{"model": "template", "held_out": groups(template, ideal)}]
    for spec in a.models.split(","):
        label, ckpt = spec.split("=", 1)
        model = load_model(ckpt)
        out = sample_structures(model, [r.atomic_numbers for r in test], steps=a.steps, seed=0)
        res = csp_match([[s] for s in out.structures], refs)
        swapped, dlen, dang = [], [], []
        for s, r in zip(out.structures, refs):
            if s is None:
                continue
            swapped.append(match_rms(Structure(r.lattice, s.species, s.frac_coords), r, matcher))
            ls = np.sort(np.array(s.lattice.abc)) / np.cbrt(s.volume)
            lr = np.sort(np.array(r.lattice.abc)) / np.cbrt(r.volume)
            dlen.append(float(np.abs(ls / lr - 1).max()))
            dang.append(float(np.abs(np.sort(s.lattice.angles) - np.sort(r.lattice.angles)).max()))
        sw = [v for v in swapped if v is not None]
        tr = sample_structures(model, [r.atomic_numbers for r in train], steps=a.steps, seed=0)
        tres = csp_match([[s] for s in tr.structures], train_refs)
        row = {"model": label, "checkpoint": ckpt, "process": model.family, "sampler": out.sampler.name,
               "nfe": out.nfe, "held_out": groups(res, ideal),
               "train": {"n": tres.n, "match_rate": tres.match_rate, "rmse": tres.rmse, "crmse": tres.crmse},
               "reference_lattice_under_samples": {"match_rate": len(sw) / len(refs),
                                                   "rmse": float(np.mean(sw)) if sw else float("nan")},
               "median_max_length_ratio_error": float(np.median(dlen)) if dlen else float("nan"),
               "median_max_angle_error_deg": float(np.median(dang)) if dang else float("nan"),
               "one_step_precision": one_step_precision(model, test[:200])}
        rows.append(row)
        print(json.dumps(row), flush=True)
    result = {"data": splits.source, "n_test": len(test), "n_ideal": int(ideal.sum()), "steps": a.steps,
              "metric_check": metric_check, "rows": rows, "machine": machine_info()}
    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    (res_dir / f"crystals_rmse_diagnosis{a.tag}.json").write_text(json.dumps(result, indent=2))
    lines = [f"Perov-5 held-out split (n = {len(test)}: {int(ideal.sum())} ideal cubic, {len(test) - int(ideal.sum())} "
             f"displaced along one axis), one sample per composition, {a.steps} steps; match rate / RMSE / cRMSE.", "",
             "| model | all | ideal | displaced | train compositions | reference lattice under samples (RMSE) | "
             "lattice error (length ratio, angle) | one step at t = 0.8: input -> estimate |",
             "|---|---|---|---|---|---|---|---|"]

    def cell(d):
        return f"{d['match_rate']:.3f} / {d['rmse']:.3f} / {d['crmse']:.3f}"

    for r in rows:
        h = r["held_out"]
        if r["model"] == "template":
            lines.append(f"| template | {cell(h['all'])} | {cell(h['ideal'])} | {cell(h['displaced'])} | | | | |")
            continue
        p = r["one_step_precision"].get("t=0.8")
        lines.append(f"| {r['model']} ({r['process']}, {r['nfe']} NFE) | {cell(h['all'])} | {cell(h['ideal'])} | "
                     f"{cell(h['displaced'])} | {cell(r['train'])} | "
                     f"{r['reference_lattice_under_samples']['rmse']:.3f} | "
                     f"{r['median_max_length_ratio_error']:.1e}, {r['median_max_angle_error_deg']:.1e} deg | "
                     + (f"{p['input']:.3f} -> {p['estimate']:.3f} |" if p else " |"))
    lines += ["", "Metric check (known Cartesian displacement sigma (V/N)^(1/3) per coordinate, mean removed): "
              + ", ".join(f"sigma {k}: {v['rms']:.4f} (expected {v['expected']:.4f})" for k, v in metric_check.items())]
    (res_dir / f"crystals_rmse_diagnosis{a.tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
