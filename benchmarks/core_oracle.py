"""Every compatible process x sampler pair against its closed-form oracle, at NFE 5 ... 1000.

The pairs are not listed here: the processes are morphogen.testing's census of the Process classes (each class's
registered examples, with their targets and oracles, in registration order), the samplers the core's registered
ones that fit each (``EXCLUDED`` names the one left out and why); the steps for a target NFE follow from each
sampler's documented ``expected_nfe``. A new process class without an example stops the run.

For each pair: the distance of the samples to the known target (squared MMD for continuous targets, total
variation for categoricals, mean absolute frequency error for Bernoulli maps, circular-moment error on the torus)
at NFE = 5, 10, 20, 50, 100, 1000 (the nearest a sampler's step structure allows), and samples per second on this
machine. Headline: the smallest NFE at which each pair comes within the noise floor of its own 1000-NFE distance
(distance <= d_1000 + floor, floor = the distance between two independent draws of the target of the same size).

Bayesian flows are run with two oracles: the posterior mean (what a network trained with the BFN loss learns;
the receiver is then exact only as steps shrink) and a posterior sample (an exact receiver at any step count).

Writes benchmarks/results/core_oracle.json and core_oracle.md.  Run: python benchmarks/core_oracle.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

from morphogen.metrics.categorical import categorical_tv  # noqa: E402
from morphogen.metrics.mmd import mmd_rbf  # noqa: E402
from morphogen.oracles.gaussian_mixture import GaussianMixture  # noqa: E402
from morphogen.oracles.torus import WrappedNormalMixture  # noqa: E402
from morphogen.processes import JointProcess  # noqa: E402
from morphogen.processes.bfn_periodic import sample_von_mises  # noqa: E402
from morphogen.samplers import sampler_entries  # noqa: E402
from morphogen.testing import ProcessExample, process_examples  # noqa: E402
from morphogen.testing.targets import CategoricalProduct, IndependentBernoulli, VonMisesMixture  # noqa: E402

NFES = (5, 10, 20, 50, 100, 1000)
#: core samplers left out of every row: not exact samplers of the target by design
EXCLUDED = {"renoise": "concentrates on the modes by design (tests/core/test_renoise.py checks what it promises)"}
#: sampler column labels of the recorded tables
LABELS = {("torus_flow_matching", "ancestral"): "ancestral (Euler ODE)"}


def steps_for(sampler_cls, nfe: int, options: dict) -> int:
    """The most steps (>= 1) whose documented NFE (``expected_nfe``, linear in the steps) is at most ``nfe``."""
    one = sampler_cls(steps=1, **options).expected_nfe()
    per = sampler_cls(steps=2, **options).expected_nfe() - one
    return max(1, (nfe - (one - per)) // per)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


@dataclass
class Measure:
    """How far samples (size, *shape) are from an example's target; ``samples`` per run, ``floor`` the distance of
    an independent draw of the target of that size."""

    metric: str
    samples: int
    floor: float
    distance: Callable[[torch.Tensor], float]


def _moments(x: torch.Tensor, period: float = 1.0) -> torch.Tensor:
    """E[cos k a], E[sin k a] for k = 1, 2 of the angles a = 2 pi x / period."""
    a = 2 * math.pi * x.double().flatten() / period
    return torch.stack([torch.cos(a).mean(), torch.sin(a).mean(), torch.cos(2 * a).mean(), torch.sin(2 * a).mean()])


def measure_for(target, n: int) -> Measure:
    """The distance of the recorded table for each kind of target (reference draws: seeds 99, 98, 97)."""
    if isinstance(target, GaussianMixture):
        ref = target.sample(n, torch.Generator().manual_seed(99))
        floor = mmd_rbf(target.sample(n, torch.Generator().manual_seed(98)), ref)
        return Measure("MMD^2 (RBF)", n, floor, lambda x: mmd_rbf(x, ref))
    if isinstance(target, CategoricalProduct):
        m = 2 * n
        floor = categorical_tv(target.sample(m, torch.Generator().manual_seed(98)), target.probs)
        return Measure("TV per position", m, floor, lambda x: categorical_tv(x, target.probs))
    if isinstance(target, IndependentBernoulli):
        m = 2 * n
        ref = target.sample(m, torch.Generator().manual_seed(98))
        floor = float((ref.mean(0) - target.probs).abs().mean())
        return Measure("mean |freq - p|", m, floor, lambda x: float((x.mean(0) - target.probs).abs().mean()))
    if isinstance(target, VonMisesMixture):
        from scipy.special import ive

        w, locs, kap, per = target.weights, target.locs, target.kappas, target.period
        comp = torch.multinomial(w, n, replacement=True, generator=torch.Generator().manual_seed(98))
        ref_a = sample_von_mises(2 * math.pi * locs[comp].double() / per, kap[comp].double(),
                                 torch.Generator().manual_seed(97))
        exact = []  # E[e^{ik a}] = sum_j w_j A_k(kappa_j) e^{ik mu_j}, A_k = I_k / I_0
        for k in (1, 2):
            ak = torch.tensor([ive(k, float(c)) / ive(0, float(c)) for c in kap], dtype=torch.float64)
            exact += [(w.double() * ak * torch.cos(2 * math.pi * k * locs.double() / per)).sum(),
                      (w.double() * ak * torch.sin(2 * math.pi * k * locs.double() / per)).sum()]
        exact = torch.stack(exact)
        floor = float((_moments(ref_a / (2 * math.pi)) - exact).abs().max())
        return Measure("max circular-moment error", n, floor,
                       lambda x: float((_moments(x, per) - exact).abs().max()))
    if isinstance(target, WrappedNormalMixture):
        m, per = 2 * n, target.period
        exact = torch.tensor([v for k in (1, 2) for v in target.circular_moment(k)], dtype=torch.float64)
        floor = float((_moments(target.sample((m, 1), torch.Generator().manual_seed(98)), per) - exact).abs().max())
        return Measure("max circular-moment error", m, floor,
                       lambda x: float((_moments(x, per) - exact).abs().max()))
    raise TypeError(f"no distance for a target of type {type(target).__name__}: add one to measure_for")


def cases(n: int):
    """(process, sampler label, measure, run) for every process example (morphogen.testing's census of the Process
    classes), every oracle of it and every compatible core sampler; run(nfe) -> (NFE used, distance)."""
    examples = process_examples()
    unfit = [e.name for e in examples if not e.oracles or e.target is None]
    if unfit:
        raise SystemExit(f"core_oracle: the process examples {unfit} have no oracle or target to measure against")
    core = [e for e in sampler_entries() if e.is_core and e.name not in EXCLUDED]
    for ex in examples:
        measure = measure_for(ex.target, n)
        for label in ex.oracles:
            for entry in core:
                cls = entry.load()
                if not cls.compatible_with(ex.process()):
                    continue
                name = entry.name if len(ex.oracles) == 1 else f"{entry.name} ({label} oracle)"
                yield ex.name, LABELS.get((ex.name, entry.name), name), measure, _runner(ex, label, cls, measure)


def _runner(ex: ProcessExample, label: str, cls, measure: Measure):
    opts = dict(ex.sampler_options.get(cls.name, {}))
    shape = (measure.samples, *ex.shape)
    # one oracle per row (its random source runs on across the NFEs), unless the process depends on the steps
    proc = ex.process()
    oracle = ex.oracle(proc, "x", label, torch.Generator().manual_seed(7))

    def run(nfe: int):
        steps = steps_for(cls, nfe, opts)
        p, o = proc, oracle
        if ex.steps_argument:
            p = ex.process(steps=steps)
            o = ex.oracle(p, "x", label, torch.Generator().manual_seed(7))
        res = cls(steps=steps, **opts).sample(JointProcess({"x": p}), o, {"x": shape},
                                              generator=torch.Generator().manual_seed(0))
        return res.nfe, measure.distance(res.fields["x"])
    return run


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer samples and NFE <= 100 (a smoke run)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    n = 500 if args.quick else 2000
    nfes = tuple(x for x in NFES if not args.quick or x <= 100)
    rows = []
    for pname, sname, measure, run in cases(n):
        row = {"process": pname, "sampler": sname, "metric": measure.metric, "floor": measure.floor, "points": []}
        for nfe in nfes:
            (used, dist), secs = timed(lambda: run(nfe))
            row["points"].append({"nfe_target": nfe, "nfe": used, "distance": dist,
                                  "samples_per_s": measure.samples / secs})
            print(f"{pname:15s} {sname:15s} NFE {used:5d}  d={dist:.4f}  {secs:6.2f}s", flush=True)
        d_ref = row["points"][-1]["distance"]
        reach = next((p["nfe"] for p in row["points"] if p["distance"] <= d_ref + measure.floor), None)
        row["nfe_to_reach_final"] = reach
        rows.append(row)
    result = {"machine": machine_info(), "samples": n, "nfes": nfes,
              "rule": "nfe_to_reach_final = smallest NFE with distance <= distance at the largest NFE + floor",
              "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "core_oracle.json").write_text(json.dumps(result, indent=2))
    lines = [f"# Core oracle benchmark ({result['machine']['date']}, {result['machine']['cpu']}, "
             f"{result['machine']['cores']} cores, torch {result['machine']['torch']}, 1 thread)", "",
             f"Samples per run: {n} (categoricals: {2 * n}). Distance at each NFE; `reach` = smallest NFE within the "
             f"noise floor of the distance at NFE {nfes[-1]}; samples/s at NFE 100.", "",
             f"Command: `{result['machine']['command']}`", "",
             "| process | sampler | metric | floor | " + " | ".join(f"NFE {x}" for x in nfes)
             + " | reach | samples/s @100 |",
             "|" + "---|" * (len(nfes) + 6)]
    for r in rows:
        sps = next((p["samples_per_s"] for p in r["points"] if p["nfe_target"] == 100), float("nan"))
        lines.append(f"| {r['process']} | {r['sampler']} | {r['metric']} | {r['floor']:.4f} | "
                     + " | ".join(f"{p['distance']:.4f} ({p['nfe']})" for p in r["points"])
                     + f" | {r['nfe_to_reach_final']} | {sps:.0f} |")
    (out / "core_oracle.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
