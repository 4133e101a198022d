"""Generic graphs at GDSS's protocol: each preset trained to its budget (GDSS's public configuration: 5,000 epochs,
its learning rate, decay, EMA choice), sampled with the preset's sampler (GDSS's predictor / corrector of that
dataset) as many graphs as the test split holds (GDSS's sample count), and scored with GDSS's MMDs (degree and
clustering with the Gaussian EMD kernel, 4-node orbits with the Gaussian kernel) against the test split, beside
GDSS's published row and the train-against-test floor.

    python benchmarks/graphs_generic.py                      # community_small, ego_small (resumable runs)
    python benchmarks/graphs_generic.py --datasets community_small --out runs/generic

Each dataset's training is ``morphogen graphs train --preset NAME --out OUT/NAME`` (the same function): rerunning
the command resumes an unfinished run, and a finished one is only sampled and scored again. Writes
benchmarks/results/graphs_generic.{json,md}, one row per dataset (rows of other datasets are kept).
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
RESULTS = ROOT / "benchmarks" / "results"

#: GDSS, Table 1 (Jo et al. 2022): degree / clustering / orbit MMD against the test split
GDSS_PUBLISHED = {
    "community_small": {"degree": 0.045, "clustering": 0.086, "orbit": 0.007},
    "ego_small": {"degree": 0.021, "clustering": 0.024, "orbit": 0.007},
    "enzymes": {"degree": 0.026, "clustering": 0.061, "orbit": 0.009},
    "grid": {"degree": 0.111, "clustering": 0.005, "orbit": 0.070},
}


def _row(name: str, out: Path, seed: int, threads: int, sample_seeds: int = 5) -> dict:
    import torch

    from morphogen.graphs.data.generic import dense_to_graphs
    from morphogen.graphs.data.sources import prepare_data
    from morphogen.graphs.metrics.graph_mmd import GraphMMD
    from morphogen.graphs.pipeline import load_preset, train
    from morphogen.train.options import TrainOptions

    torch.set_num_threads(threads)
    preset = load_preset(name)
    prepared = prepare_data(preset)
    test = prepared.reference
    floor = GraphMMD(test)
    floor.update(dense_to_graphs(prepared.train.adj, prepared.train.mask))
    t0 = time.time()
    res = train(name, out / name, options=TrainOptions(accelerator="cpu", progress=False))
    train_s = time.time() - t0
    model = res.bundle
    # the preset's sampler (GDSS's for this dataset), as many graphs as the test split holds, once per sampling seed:
    # an MMD against 20-40 test graphs moves by tens of percent between draws, so one draw says little
    per_seed, seconds = [], 0.0
    for i in range(max(1, int(sample_seeds))):
        gen = model.generate(len(test), seed=seed + i)
        m = GraphMMD(test)
        m.update(dense_to_graphs(gen.adj, gen.mask))
        per_seed.append(m.compute().as_dict())
        seconds += float(gen.seconds)
    keys = ("degree", "clustering", "orbit")
    mean = {k: float(np.mean([d[k] for d in per_seed])) for k in keys}
    std = {k: float(np.std([d[k] for d in per_seed])) for k in keys}
    return {
        "dataset": name, "n_train": len(prepared.train), "n_test": len(test), "n_samples": int(gen.x.shape[0]),
        "optimiser_steps": int(model.metadata.steps_trained), "epochs": preset.train.epochs,
        "train_seconds_this_call": round(train_s, 1), "sampler": str(model.sampler_spec), "nfe": int(gen.nfe),
        "sampling_seconds": round(seconds / len(per_seed), 2), "sample_seeds": len(per_seed),
        "model": {"num_samples": int(gen.x.shape[0]), **mean}, "model_std": std, "model_per_seed": per_seed,
        "train_vs_test": floor.compute().as_dict(), "gdss_published": GDSS_PUBLISHED.get(name),
        "command": f"python benchmarks/graphs_generic.py --datasets {name} --out {out}"
                   + (f" --sample-seeds {sample_seeds}" if sample_seeds != 5 else ""),
    }


def _write(rows: list[dict], machine: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "graphs_generic.json").write_text(json.dumps({"rows": rows, "machine": machine}, indent=2))
    lines = [
        "Generic graphs at GDSS's protocol (`python benchmarks/graphs_generic.py`): trained to the preset's budget "
        "(GDSS's configuration), sampled as many graphs as the test split holds with the preset's sampler, MMD "
        "(degree and clustering: Gaussian EMD; orbit: Gaussian) against the test split; ours: mean +- standard "
        "deviation over the sampling seeds (one trained model).",
        "",
        "| dataset | train / test graphs | optimiser steps (epochs) | sampler | NFE | ours: degree / clustering / orbit "
        "| GDSS (Table 1) | train vs test (floor) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        m, f, g = r["model"], r["train_vs_test"], r.get("gdss_published") or {}
        sd = r.get("model_std")
        ours = " / ".join(f"{m[k]:.3f}" + (f" +- {sd[k]:.3f}" if sd else "") for k in ("degree", "clustering", "orbit"))
        if sd:
            ours += f" ({r['sample_seeds']} seeds)"
        gd = " / ".join(f"{g[k]:.3f}" for k in ("degree", "clustering", "orbit")) if g else "-"
        lines.append(f"| {r['dataset']} | {r['n_train']} / {r['n_test']} | {r['optimiser_steps']:,} ({r['epochs']}) | "
                     f"{r['sampler']} | {r['nfe']} | {ours} | "
                     f"{gd} | {f['degree']:.3f} / {f['clustering']:.3f} / {f['orbit']:.3f} |")
    lines += ["", "Commands:"] + [f"- {r['dataset']}: `{r['command']}`" for r in rows]
    lines += ["", f"Machine: {machine}"]
    (RESULTS / "graphs_generic.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    warnings.filterwarnings("ignore")
    from _machine import machine_info

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default="community_small,ego_small")
    ap.add_argument("--out", default="runs/generic", help="run folders OUT/<dataset> (resumed)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sample-seeds", type=int, default=5, help="sampling runs of the trained model (mean +- std)")
    a = ap.parse_args()
    old = {}
    if (RESULTS / "graphs_generic.json").is_file():
        old = {r["dataset"]: r for r in json.loads((RESULTS / "graphs_generic.json").read_text()).get("rows", [])
               if "optimiser_steps" in r}
    for name in a.datasets.split(","):
        row = _row(name, Path(a.out), a.seed, a.threads, a.sample_seeds)
        print(json.dumps(row), flush=True)
        old[name] = row
        _write(list(old.values()), machine_info())


if __name__ == "__main__":
    main()
