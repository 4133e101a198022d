"""Sample a graphs checkpoint on a GPU with several samplers; write the raw tensors and timings for evaluation elsewhere.

    python scripts/gpu/sample_graphs.py CHECKPOINT OUT.safetensors [--num 10000] [--device cuda]

Each sampler's x (B, N, F), adj (B, N, N) (float16) and node mask (B, N) go into one safetensors file under keys
``<sampler>/x`` etc.; the JSON header holds NFE, seconds and samples per second. Validity, FCD and NSPDK need RDKit
and are computed by ``benchmarks/graphs_qm9.py --tensors OUT.safetensors`` on a machine that has it.
"""
from __future__ import annotations

import argparse
import json
import time

import torch

from morphogen.graphs.data.dense import graph_masks
from morphogen.graphs.pipeline import load_model, node_count_histogram
from morphogen.samplers.registry import get_sampler
from morphogen.utils.padding import mask_from_counts

SAMPLERS = {  # name -> (sampler, arguments)
    "s4_1000": ("s4", {"steps": 1000, "snr": 0.2, "scale_eps": 0.7}),
    "s4_200": ("s4", {"steps": 200, "snr": 0.2, "scale_eps": 0.7}),
    "s4_100": ("s4", {"steps": 100, "snr": 0.2, "scale_eps": 0.7}),
    "s4_50": ("s4", {"steps": 50, "snr": 0.2, "scale_eps": 0.7}),
    "em_200": ("euler_maruyama", {"steps": 200}),
    "heun_100": ("heun", {"steps": 100}),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("checkpoint")
    ap.add_argument("out")
    ap.add_argument("--num", type=int, default=10000)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--only", default=",".join(SAMPLERS))
    a = ap.parse_args()
    from safetensors.torch import save_file

    joint, den, config = load_model(a.checkpoint)
    den = den.to(a.device)
    n, f = int(config["max_nodes"]), len(config["feature_names"])
    hist = node_count_histogram(config)
    tensors, info = {}, {}
    for key in a.only.split(","):
        name, args = SAMPLERS[key]
        smp = get_sampler(name, **args)
        gen = torch.Generator(device=a.device).manual_seed(0)
        counts = hist.sample(a.num, torch.Generator().manual_seed(0))
        mask = mask_from_counts(counts, n).to(a.device)
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.time()
        with torch.no_grad():
            res = smp.sample(joint, den, {"X": (a.num, n, f), "A": (a.num, n, n)}, masks=graph_masks(mask),
                             generator=gen, device=a.device)
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()
        sec = time.time() - t0
        tensors[f"{key}/x"] = res.fields["X"].half().cpu().contiguous()
        tensors[f"{key}/adj"] = res.fields["A"].half().cpu().contiguous()
        tensors[f"{key}/mask"] = mask.cpu().contiguous()
        info[key] = {"sampler": name, "args": args, "nfe": res.nfe, "seconds": sec, "samples_per_second": a.num / sec}
        print(key, json.dumps(info[key]), flush=True)
    dev = torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu"
    save_file(tensors, a.out, metadata={"info": json.dumps(info), "device": dev, "checkpoint": str(a.checkpoint)})


if __name__ == "__main__":
    main()
