"""Generic graphs (community-small, ego-small): train a GDSS model here for a few CPU minutes, sample, and report
the degree, clustering and 4-node-orbit MMDs against the test graphs, as GDSS computes them.

    python benchmarks/graphs_generic.py [--datasets community_small,ego_small] [--minutes 6] [--steps 1000]

GDSS trains these for 5,000 epochs on a GPU; the rows here are what a few minutes of one CPU thread reach, with
the test set's MMD against the training graphs as a floor. Writes benchmarks/results/graphs_generic.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    from _machine import machine_info

    from morphogen.graphs.data.generic import dense_to_graphs
    from morphogen.graphs.metrics.graph_mmd import GraphMMD
    from morphogen.graphs.data.sources import prepare_data
    from morphogen.graphs.pipeline import load_preset, train
    from morphogen.train.options import TrainOptions

    ap = argparse.ArgumentParser()
    ap.add_argument("--datasets", default="community_small,ego_small")
    ap.add_argument("--minutes", type=float, default=6.0)
    ap.add_argument("--steps", type=int, default=1000, help="S4 steps (network evaluations) when sampling")
    ap.add_argument("--out", default="runs/bench_generic")
    a = ap.parse_args()
    rows = []
    for name in a.datasets.split(","):
        prepared = prepare_data(load_preset(name))
        test = prepared.reference
        train_graphs = dense_to_graphs(prepared.train.adj, prepared.train.mask)
        floor = GraphMMD(test)
        floor.update(train_graphs)
        t0 = time.time()
        run_dir = Path(a.out) / name
        if run_dir.exists():  # a fresh model each time: the row states how long it trained
            shutil.rmtree(run_dir)
        res = train(name, run_dir, options=TrainOptions(accelerator="cpu", max_minutes=a.minutes, progress=False))
        train_s = time.time() - t0
        s = res.bundle.generate(max(len(test), 64), sampler="s4", steps=a.steps, seed=0)  # the preset's S4 settings
        m = GraphMMD(test)
        m.update(dense_to_graphs(s.adj, s.mask))
        row = {"dataset": name, "train_seconds": train_s, "n_test": len(test), "n_samples": s.x.shape[0],
               "nfe": s.nfe, "samples_per_second": s.x.shape[0] / s.seconds, "model": m.compute().as_dict(),
               "train_vs_test": floor.compute().as_dict()}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {"rows": rows, "machine": machine_info(), "sampler": f"S4, {a.steps} steps",
           "gdss_reference": {"community_small": {"degree": 0.045, "clustering": 0.086, "orbit": 0.007},
                              "ego_small": {"degree": 0.021, "clustering": 0.024, "orbit": 0.007}}}
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / "graphs_generic.json").write_text(json.dumps(out, indent=2))
    lines = ["| dataset | training (s, wall, shared CPU) | degree MMD | clustering MMD | orbit MMD | train-vs-test floor (deg / clus / orbit) |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        m, f = r["model"], r["train_vs_test"]
        lines.append(f"| {r['dataset']} | {r['train_seconds']:.0f} | {m['degree']:.4f} | {m['clustering']:.4f} | "
                     f"{m['orbit']:.4f} | {f['degree']:.4f} / {f['clustering']:.4f} / {f['orbit']:.4f} |")
    (res / "graphs_generic.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
