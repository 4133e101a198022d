"""Every compatible process x sampler pair against its closed-form oracle, at NFE 5 ... 1000.

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
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_info  # noqa: E402

from morphogen.metrics.categorical import bernoulli_max_error, categorical_tv  # noqa: E402
from morphogen.metrics.mmd import mmd_rbf  # noqa: E402
from morphogen.oracles.bfn import BFNCategoricalOracle, BFNGaussianMixtureOracle, BFNVonMisesMixtureOracle  # noqa: E402
from morphogen.oracles.categorical import BernoulliOracle, CategoricalProductOracle  # noqa: E402
from morphogen.oracles.gaussian_mixture import GaussianMixture, GaussianMixtureOracle  # noqa: E402
from morphogen.processes import (  # noqa: E402
    BernoulliDiffusion, ContinuousBFN, DiscreteBFN, GaussianProcess, JointProcess, MaskedDiffusion, PeriodicBFN,
    UniformDiscrete,
)
from morphogen.processes.bfn_periodic import sample_von_mises  # noqa: E402
from morphogen.samplers import get_sampler  # noqa: E402
from morphogen.schedules import VE, LinearInterpolant, SubVP, VPCosine, VPLinear  # noqa: E402

NFES = (5, 10, 20, 50, 100, 1000)
GAUSS_NAMES = ("vp", "vp_cosine", "ve", "subvp", "flow_matching")
GAUSSIAN_SAMPLERS = ("ancestral", "euler_maruyama", "pc", "langevin", "ode_euler", "heun", "dpm_solver")


def steps_for(sampler: str, nfe: int) -> int:
    if sampler == "heun":
        return max(1, (nfe + 1) // 2)
    if sampler in ("pc", "langevin"):
        return max(1, nfe // 2)
    if sampler == "bfn":
        return max(1, nfe - 1)
    return nfe


def ring():
    ang = torch.arange(4) * math.pi / 2
    return GaussianMixture(torch.tensor([0.4, 0.3, 0.2, 0.1]), torch.stack([2 * torch.cos(ang), 2 * torch.sin(ang)], 1),
                           torch.tensor([0.3]))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def gaussian_cases(n: int):
    mix = ring()
    ref = mix.sample(n, torch.Generator().manual_seed(99))
    floor = mmd_rbf(mix.sample(n, torch.Generator().manual_seed(98)), ref)
    schedules = {"vp": VPLinear(), "vp_cosine": VPCosine(), "ve": VE(sigma_max=10.0), "subvp": SubVP(),
                 "flow_matching": LinearInterpolant()}
    for pname, sched in schedules.items():
        proc = GaussianProcess(sched)
        joint = JointProcess({"x": proc})
        oracle = GaussianMixtureOracle("x", mix, proc, "velocity" if pname == "flow_matching" else "score")
        for sname in GAUSSIAN_SAMPLERS:
            def run(nfe, sname=sname, joint=joint, oracle=oracle):
                kw = {"grid": "uniform"} if sname == "dpm_solver" else {}
                res = get_sampler(sname, steps=steps_for(sname, nfe), **kw).sample(
                    joint, oracle, {"x": (n, 2)}, generator=torch.Generator().manual_seed(0))
                return res.nfe, mmd_rbf(res.fields["x"], ref)
            yield pname, sname, "MMD^2 (RBF)", floor, run


def discrete_cases(n: int):
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(2.0 * torch.randn(6, 5, generator=g), dim=-1)
    ref = torch.multinomial(probs.repeat(n, 1), 1, generator=torch.Generator().manual_seed(98)).view(n, 6)
    floor = categorical_tv(ref, probs)
    for pname, proc in (("masked", MaskedDiffusion(5)), ("uniform", UniformDiscrete(5))):
        joint = JointProcess({"x": proc})
        oracle = CategoricalProductOracle("x", probs, proc)
        def run(nfe, joint=joint, oracle=oracle):
            res = get_sampler("ancestral", steps=nfe).sample(joint, oracle, {"x": (n, 6)},
                                                              generator=torch.Generator().manual_seed(0))
            return res.nfe, categorical_tv(res.fields["x"], probs)
        yield pname, "ancestral", "TV per position", floor, run
    pix = torch.linspace(0.02, 0.98, 64).view(1, 8, 8)
    proc = BernoulliDiffusion()
    joint = JointProcess({"m": proc})
    oracle = BernoulliOracle("m", pix, proc)
    ref_b = (torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(98)) < pix).float()
    floor_b = float((ref_b.mean(0) - pix).abs().mean())
    def run_b(nfe):
        res = get_sampler("ancestral", steps=nfe).sample(joint, oracle, {"m": (n, 1, 8, 8)},
                                                          generator=torch.Generator().manual_seed(0))
        return res.nfe, float((res.fields["m"].mean(0) - pix).abs().mean())
    yield "bernoulli", "ancestral", "mean |freq - p|", floor_b, run_b
    dproc = DiscreteBFN(5)
    djoint = JointProcess({"x": dproc})
    doracle = BFNCategoricalOracle("x", probs)
    def run_d(nfe):
        res = get_sampler("bfn", steps=steps_for("bfn", nfe)).sample(djoint, doracle, {"x": (n, 6)},
                                                                     generator=torch.Generator().manual_seed(0))
        return res.nfe, categorical_tv(res.fields["x"], probs)
    yield "bfn_discrete", "bfn", "TV per position", floor, run_d


def bfn_cases(n: int):
    mix = ring()
    ref = mix.sample(n, torch.Generator().manual_seed(99))
    floor = mmd_rbf(mix.sample(n, torch.Generator().manual_seed(98)), ref)
    proc = ContinuousBFN()
    joint = JointProcess({"x": proc})
    for mode in ("mean", "sample"):
        oracle = BFNGaussianMixtureOracle("x", proc, mix.weights, mix.means, mix.stds, mode=mode,
                                          generator=torch.Generator().manual_seed(7))
        def run(nfe, oracle=oracle):
            res = get_sampler("bfn", steps=steps_for("bfn", nfe)).sample(joint, oracle, {"x": (n, 2)},
                                                                         generator=torch.Generator().manual_seed(0))
            return res.nfe, mmd_rbf(res.fields["x"], ref)
        yield "bfn_continuous", f"bfn ({mode} oracle)", "MMD^2 (RBF)", floor, run

    w, locs, kap = torch.tensor([0.6, 0.4]), torch.tensor([0.2, 0.7]), torch.tensor([30.0, 10.0])

    def moments(x):  # E[cos k a], E[sin k a] for k = 1, 2 of angles a = 2 pi x
        a = 2 * math.pi * x.double().flatten()
        return torch.stack([torch.cos(a).mean(), torch.sin(a).mean(), torch.cos(2 * a).mean(), torch.sin(2 * a).mean()])

    comp = torch.multinomial(w, n, replacement=True, generator=torch.Generator().manual_seed(98))
    ref_a = sample_von_mises(2 * math.pi * locs[comp].double(), kap[comp].double(), torch.Generator().manual_seed(97))
    ref_m = moments(ref_a / (2 * math.pi))
    # exact moments: E[e^{ik a}] = sum_j w_j A_k(kappa_j) e^{ik mu_j}, A_k = I_k / I_0
    from scipy.special import ive
    exact = []
    for k in (1, 2):
        ak = torch.tensor([ive(k, float(c)) / ive(0, float(c)) for c in kap], dtype=torch.float64)
        exact += [(w.double() * ak * torch.cos(2 * math.pi * k * locs.double())).sum(),
                  (w.double() * ak * torch.sin(2 * math.pi * k * locs.double())).sum()]
    exact = torch.stack(exact)
    floor_p = float((ref_m - exact).abs().max())

    for mode in ("mean", "sample"):
        def run_p(nfe, mode=mode):
            steps = steps_for("bfn", nfe)
            pproc = PeriodicBFN(steps=steps)
            pjoint = JointProcess({"x": pproc})
            orc = BFNVonMisesMixtureOracle("x", pproc, w, locs, kap, mode=mode, generator=torch.Generator().manual_seed(7))
            res = get_sampler("bfn", steps=steps).sample(pjoint, orc, {"x": (n, 1)},
                                                         generator=torch.Generator().manual_seed(0))
            return res.nfe, float((moments(res.fields["x"]) - exact).abs().max())
        yield "bfn_periodic", f"bfn ({mode} oracle)", "max circular-moment error", floor_p, run_p


def torus_cases(n: int):
    from morphogen.oracles.torus import TorusFlowOracle, WrappedGaussianOracle, WrappedNormalMixture
    from morphogen.processes import TorusFlowMatching, WrappedGaussian

    mix = WrappedNormalMixture([0.35, 0.65], [0.15, 0.6], [0.05, 0.1])
    exact = torch.tensor([v for k in (1, 2) for v in mix.circular_moment(k)], dtype=torch.float64)

    def moments(x):
        a = 2 * math.pi * x.double().flatten()
        return torch.stack([torch.cos(a).mean(), torch.sin(a).mean(), torch.cos(2 * a).mean(), torch.sin(2 * a).mean()])

    floor = float((moments(mix.sample((n, 1), torch.Generator().manual_seed(98))) - exact).abs().max())
    wg = WrappedGaussian()
    for sname in ("ancestral", "pc", "langevin"):
        joint = JointProcess({"x": wg})
        oracle = WrappedGaussianOracle("x", mix, wg)
        def run(nfe, sname=sname, joint=joint, oracle=oracle):
            kw = {"snr": 0.2} if sname in ("pc", "langevin") else {}
            res = get_sampler(sname, steps=steps_for(sname, nfe), **kw).sample(
                joint, oracle, {"x": (n, 1)}, generator=torch.Generator().manual_seed(0))
            return res.nfe, float((moments(res.fields["x"]) - exact).abs().max())
        yield "wrapped_gaussian", sname, "max circular-moment error", floor, run
    fm = TorusFlowMatching()
    fjoint = JointProcess({"x": fm})
    foracle = TorusFlowOracle("x", mix, fm, "velocity")
    def run_f(nfe):
        res = get_sampler("ancestral", steps=nfe).sample(fjoint, foracle, {"x": (n, 1)},
                                                          generator=torch.Generator().manual_seed(0))
        return res.nfe, float((moments(res.fields["x"]) - exact).abs().max())
    yield "torus_flow_matching", "ancestral (Euler ODE)", "max circular-moment error", floor, run_f


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer samples and NFE <= 100 (a smoke run)")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    n = 500 if args.quick else 2000
    nfes = tuple(x for x in NFES if not args.quick or x <= 100)
    rows = []
    for gen in (gaussian_cases(n), discrete_cases(2 * n), bfn_cases(n), torus_cases(2 * n)):
        for pname, sname, metric, floor, run in gen:
            row = {"process": pname, "sampler": sname, "metric": metric, "floor": floor, "points": []}
            for nfe in nfes:
                (used, dist), secs = timed(lambda: run(nfe))
                row["points"].append({"nfe_target": nfe, "nfe": used, "distance": dist,
                                      "samples_per_s": (2 * n if pname not in GAUSS_NAMES + ("bfn_continuous", "bfn_periodic") else n) / secs})
                print(f"{pname:15s} {sname:15s} NFE {used:5d}  d={dist:.4f}  {secs:6.2f}s", flush=True)
            d_ref = row["points"][-1]["distance"]
            reach = next((p["nfe"] for p in row["points"] if p["distance"] <= d_ref + floor), None)
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
             "| process | sampler | metric | floor | " + " | ".join(f"NFE {x}" for x in nfes) + " | reach | samples/s @100 |",
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
