"""Speed of the GDSS adjacency network (ScoreNetworkA, QM9 preset sizes: N = 9, F = 4) and of the whole GDSS
denoiser: milliseconds per forward at batch 200 (no grad) and per forward + backward at batch 1024.

    python benchmarks/graphs_score_a_speed.py [--threads 1] [--device cpu] [--label after] [--repeats 20]

Prints one JSON object (median ms over ``--repeats`` runs after warm-up) and, with ``--record``, appends it to
benchmarks/results/graphs_score_a_speed.json.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))


def _time(fn, repeats: int, sync) -> float:
    for _ in range(3):
        fn()
    sync()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--label", default="")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--record", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from _machine import machine_info

    from morphogen.graphs.models import GDSSDenoiser, ScoreNetworkA, ScoreNetworkX
    from morphogen.graphs.pipeline import load_preset
    from morphogen.processes.base import FieldState

    dev = torch.device(args.device)
    sync = (lambda: torch.cuda.synchronize()) if dev.type == "cuda" else (lambda: None)
    a_args = load_preset("qm9").denoiser["args"]["a_net"]["args"]
    x_args = load_preset("qm9").denoiser["args"]["x_net"]["args"]
    torch.manual_seed(0)
    a_net = ScoreNetworkA(**a_args).to(dev)
    den = GDSSDenoiser(ScoreNetworkX(**x_args), ScoreNetworkA(**a_args)).to(dev)

    def batch(b: int):
        g = torch.Generator().manual_seed(b)
        n, f = 9, 4
        counts = torch.randint(4, n + 1, (b,), generator=g)
        mask = torch.arange(n)[None] < counts[:, None]
        x = torch.randn(b, n, f, generator=g)
        a = torch.randn(b, n, n, generator=g)
        a = torch.triu(a, 1)
        a = a + a.transpose(1, 2)
        return x.to(dev), a.to(dev), mask.to(dev)

    res = {"label": args.label, "device": str(dev), "machine": machine_info()}
    x, a, m = batch(200)
    with torch.no_grad():
        res["score_a_forward_b200_ms"] = _time(lambda: a_net(x, a, m), args.repeats, sync)
    x, a, m = batch(1024)

    def fb_a():
        a_net.zero_grad(set_to_none=True)
        a_net(x, a, m).square().mean().backward()

    res["score_a_fwd_bwd_b1024_ms"] = _time(fb_a, args.repeats, sync)
    mf = m[:, :, None].float()
    state = {"X": FieldState(x, torch.zeros(x.shape[0], device=dev), mf), "A": FieldState(a, torch.zeros(x.shape[0], device=dev), None)}

    def fb_den():
        den.zero_grad(set_to_none=True)
        out = den(state)
        (out["X"].square().mean() + out["A"].square().mean()).backward()

    res["denoiser_fwd_bwd_b1024_ms"] = _time(fb_den, args.repeats, sync)
    print(json.dumps(res, indent=2))
    if args.record:
        path = ROOT / "results" / "graphs_score_a_speed.json"
        rows = json.loads(path.read_text()) if path.is_file() else []
        rows.append(res)
        path.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
