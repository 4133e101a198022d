"""QM9 with a GDSS model: the molecule metrics of 10,000 samples per sampler, and speed on this CPU.

Metrics as GDSS computes them (see morphogen.molecules.metrics): validity without correction, connected (valid
without correction and one fragment; GDSS's validity allows fragments), validity after
valency correction, uniqueness, novelty against the training split, NSPDK MMD and FCD against the whole test split
(the GDSS test-index convention). The bar: validity without correction >= 90 % and uniqueness >= 95 % at <= 200
network evaluations per sample.

    python benchmarks/graphs_qm9.py --tensors qm9_samples.safetensors   # samples drawn elsewhere (a GPU), see
                                                                        # scripts/gpu/sample_graphs.py
    python benchmarks/graphs_qm9.py --num 10000 --samplers s4_200,heun_100   # sample here (slow on a CPU)
    python benchmarks/graphs_qm9.py --merge benchmarks/results/graphs_qm9_a.json ...   # runs made in parallel

Also measures, on this CPU with one thread: samples per second (S4, batch 1,000) and training graphs per second
(batch 1,024, forward + backward + optimiser step). Writes benchmarks/results/graphs_qm9.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts" / "gpu"))


def speed(checkpoint: str) -> dict:
    """Samples/s (S4, 20 steps, batch 1,000) and training graphs/s (batch 1,024, 5 steps) on one thread."""
    import torch

    from morphogen.bundle import load
    from morphogen.train.module import GenerativeModule

    s = load(checkpoint, domain="graphs").generate(1000, sampler="s4", steps=20, seed=0, batch_size=1000)
    per_step = s.seconds / s.nfe
    model = load(checkpoint, domain="graphs")
    den = model.denoiser.train()
    module = GenerativeModule(model.process, den, lr=1e-4)
    opt = torch.optim.AdamW(den.parameters(), lr=1e-4)
    n, f = model.max_nodes, model.num_features
    from morphogen.graphs.data.dense import graph_masks
    from morphogen.utils.padding import mask_from_counts

    mask = mask_from_counts(torch.full((1024,), n), n)
    x = torch.nn.functional.one_hot(torch.randint(0, f, (1024, n)), f).float()
    adj = torch.triu((torch.rand(1024, n, n) < 0.2).float(), 1)
    batch = {"fields": {"X": x, "A": adj + adj.transpose(1, 2)}, "masks": graph_masks(mask)}
    times = []
    for i in range(6):
        t0 = time.time()
        loss = module.compute_loss(batch, torch.Generator().manual_seed(i)).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.time() - t0)
    import statistics

    return {"sampling_seconds_per_network_evaluation_batch_1000": per_step,
            "samples_per_second_at_200_nfe": 1000 / (per_step * 200),
            "training_graphs_per_second": 1024 / statistics.median(times[1:])}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    from _machine import machine_info

    from morphogen.bundle import load
    from morphogen.graphs.data.sources import prepare_data
    from morphogen.graphs.pipeline import load_preset
    from morphogen.molecules.convert import canonical_smiles as canonical
    from morphogen.molecules.metrics import MoleculeMetrics
    from morphogen.molecules.valency import decode_molecules
    from morphogen.samplers.spec import SamplerSpec

    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default="qm9")
    ap.add_argument("--tensors", default=None, help="safetensors from scripts/gpu/sample_graphs.py")
    ap.add_argument("--num", type=int, default=10000)
    ap.add_argument("--samplers", default="s4_1000,s4_200,s4_100,em_200,heun_100")
    ap.add_argument("--data", default=None, help="QM9 prepared file (default: the cache / qm9pack)")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--num-paper", type=int, default=None,
                    help="samples for the paper's 1,000-step row (default: --num; it costs 5x the 200-step row)")
    ap.add_argument("--tag", default="", help="suffix of the result files (graphs_qm9<tag>.{json,md})")
    ap.add_argument("--merge", nargs="+", default=None, help="only merge these result JSONs into graphs_qm9.*")
    a = ap.parse_args()
    if a.merge:
        return merge(a.merge)
    prepared = prepare_data(load_preset("qm9"), a.data)
    train = {c for c in (canonical(s) for s in prepared.train_smiles) if c}
    test = [c for c in (canonical(s) for s in prepared.reference) if c]
    samples, source = {}, "sampled here"
    model = load(a.checkpoint, domain="graphs")
    if a.tensors:
        from safetensors import safe_open

        with safe_open(a.tensors, "pt") as fh:
            meta = fh.metadata()
            info = json.loads(meta["info"])
            for key in info:
                samples[key] = (fh.get_tensor(f"{key}/x").float(), fh.get_tensor(f"{key}/adj").float(),
                                fh.get_tensor(f"{key}/mask"), info[key])
        source = f"{a.tensors} (drawn on {meta.get('device')})"
    else:
        from sample_graphs import SAMPLERS

        for key in a.samplers.split(","):
            name, args = SAMPLERS[key]
            num = a.num_paper if (a.num_paper and args["steps"] >= 1000) else a.num
            s = model.generate(num, sampler=SamplerSpec(name, args), seed=0)
            samples[key] = (s.x, s.adj, s.mask, {"sampler": name, "args": args, "nfe": s.nfe, "seconds": s.seconds,
                                                 "samples_per_second": num / s.seconds})
    names = model.feature_names
    rows = []
    for key, (x, adj, mask, info) in samples.items():
        t0 = time.time()
        m = MoleculeMetrics(train, test, with_fcd=True, with_nspdk=True)
        m.update(decode_molecules(x, adj, names, mask))
        row = {**info, "sampler": key, **m.compute().as_dict(), "metric_seconds": time.time() - t0}
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = {"checkpoint": a.checkpoint, "samples": source, "n_test": len(test), "n_train": len(train), "rows": rows,
           "machine": machine_info(), "speed_here": None if a.no_speed else speed(a.checkpoint),
           "gdss_reference": GDSS_QM9}
    write_tables(out, a.tag)


#: GDSS's QM9 row (Jo et al. 2022, Table 3): reverse-diffusion predictor + Langevin corrector, 1,000 steps
GDSS_QM9 = {"validity_without_correction": 0.9572, "uniqueness": 0.9846, "novelty": 0.8627, "nspdk_mmd": 0.003,
            "fcd": 2.900, "nfe": "about 2,000 (1,000 predictor + 1,000 corrector evaluations)"}


def merge(paths: list[str]) -> None:
    """One table from result files of several runs (e.g. samplers run in parallel processes)."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    out = dict(parts[0])
    out["rows"] = [r for part in parts for r in part["rows"]]
    for r in out["rows"]:  # runs of earlier versions named rows by sampler only
        if r["sampler"] in ("s4", "euler_maruyama", "heun") and "steps" in r.get("args", {}):
            r["sampler"] = f"{r['sampler']}_{r['args']['steps']}"
    out["samples"] = "; ".join(sorted({part["samples"] for part in parts}))
    out["speed_here"] = next((part["speed_here"] for part in parts if part.get("speed_here")), None)
    out["merged_from"] = [str(p) for p in paths]
    out["gdss_reference"] = GDSS_QM9
    write_tables(out, "")


def write_tables(out: dict, tag: str) -> None:
    res = ROOT / "benchmarks" / "results"
    res.mkdir(parents=True, exist_ok=True)
    (res / f"graphs_qm9{tag}.json").write_text(json.dumps(out, indent=2))
    rows, g = out["rows"], out["gdss_reference"]
    lines = [f"QM9 ({out['samples']}); test split n = {out['n_test']}; checkpoint {out['checkpoint']}", "",
             "| sampler | NFE | samples | valid w/o corr. | connected | valid | unique | novel | NSPDK MMD | FCD | "
             "samples/s |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        connected = f"{r['connected']:.4f}" if r.get("connected") is not None else "not measured"
        lines.append(f"| {r['sampler']} | {r['nfe']} | {r['num_samples']} | {r['validity_without_correction']:.4f} | "
                     f"{connected} | {r['validity']:.4f} | "
                     f"{r['uniqueness']:.4f} | {r['novelty']:.4f} | {r.get('nspdk_mmd', float('nan')):.4f} | "
                     f"{r.get('fcd', float('nan')):.3f} | {r['samples_per_second']:.0f} |")
    lines.append(f"| GDSS paper (PC sampler) | {g['nfe'].split(' (')[0]} | 10000 | "
                 f"{g['validity_without_correction']:.4f} | not reported | | {g['uniqueness']:.4f} | "
                 f"{g['novelty']:.4f} | {g['nspdk_mmd']:.3f} | {g['fcd']:.3f} | |")
    if out["speed_here"]:
        sp = out["speed_here"]
        lines += ["", f"This CPU, one thread: {sp['samples_per_second_at_200_nfe']:.1f} samples/s at 200 NFE "
                  f"(batch 1,000); training {sp['training_graphs_per_second']:.0f} graphs/s (batch 1,024)."]
    (res / f"graphs_qm9{tag}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
