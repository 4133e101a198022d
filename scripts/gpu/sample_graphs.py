"""Sample a graphs checkpoint on a GPU with several samplers; write the raw tensors and timings for evaluation elsewhere.

    python scripts/gpu/sample_graphs.py CHECKPOINT OUT.safetensors [--num 10000] [--device cuda]

Sampling is the library's (``GraphModel.generate``, one batch of ``--num`` graphs on ``--device``, seed 0). Each
sampler's x (B, N, F), adj (B, N, N) (float16) and node mask (B, N) go into one safetensors file under keys
``<sampler>/x`` etc.; the JSON header holds NFE, seconds and samples per second. Validity, FCD and NSPDK need RDKit
and are computed by ``benchmarks/graphs_qm9.py --tensors OUT.safetensors`` on a machine that has it.
"""
from __future__ import annotations

import argparse
import json

import torch

from morphogen.bundle.store import load
from morphogen.samplers.spec import SamplerSpec

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

    model = load(a.checkpoint, domain="graphs", device=a.device)
    tensors, info = {}, {}
    for key in a.only.split(","):
        name, args = SAMPLERS[key]
        s = model.generate(a.num, sampler=SamplerSpec(name, args), seed=0, batch_size=a.num, device=a.device)
        tensors[f"{key}/x"] = s.x.half().contiguous()
        tensors[f"{key}/adj"] = s.adj.half().contiguous()
        tensors[f"{key}/mask"] = s.mask.contiguous()
        info[key] = {"sampler": name, "args": args, "nfe": s.nfe, "seconds": s.seconds,
                     "samples_per_second": a.num / s.seconds}
        print(key, json.dumps(info[key]), flush=True)
    dev = torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu"
    save_file(tensors, a.out, metadata={"info": json.dumps(info), "device": dev, "checkpoint": str(a.checkpoint)})


if __name__ == "__main__":
    main()
