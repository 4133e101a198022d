"""The core demo: a small denoiser trained in seconds on a 2-D mixture, sampled with three samplers, plotted.

Outputs (each written atomically, :mod:`morphogen.utils.outputs`): ``model.safetensors``, ``samples.png`` and last
``metrics.json``, the folder's index (an earlier run's is removed first): a folder with ``metrics.json`` holds one
complete run."""
from __future__ import annotations

import math
import time
from pathlib import Path

from morphogen.cli.plugins import DemoResult

SAMPLERS = (("euler_maruyama", {"steps": 100}), ("heun", {"steps": 10}), ("dpm_solver", {"steps": 10}))


def ring_mixture(components: int = 8, radius: float = 2.0, std: float = 0.15):
    import torch

    from morphogen.oracles.gaussian_mixture import GaussianMixture

    ang = torch.arange(components) * (2 * math.pi / components)
    means = torch.stack([radius * torch.cos(ang), radius * torch.sin(ang)], 1)
    return GaussianMixture(torch.ones(components), means, torch.tensor([std]))


def run(out_dir: Path, epochs: int = 50, seed: int = 0, progress: bool = True) -> DemoResult:
    """Train (flow matching, velocity prediction, Lightning), sample with three samplers, write a plot and metrics."""
    import torch

    torch.set_num_threads(1)  # a tiny network: one thread is fastest and avoids oversubscription
    import lightning as L
    from torch.utils.data import DataLoader

    from morphogen.metrics.mmd import mmd_rbf
    from morphogen.nn.mlp import MLPDenoiser
    from morphogen.processes.gaussian import FlowMatching
    from morphogen.processes.joint import JointProcess
    from morphogen.samplers.registry import get_sampler
    from morphogen.train.checkpoint import save_model
    from morphogen.train.data import EpochShuffleSampler, TensorFieldDataset
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit
    from morphogen.utils.config import spec_of
    from morphogen.utils.outputs import atomic_figure, atomic_json, prepare_output_dir, remove_stale

    t0 = time.time()
    out_dir = prepare_output_dir(out_dir)
    remove_stale(out_dir, "metrics.json")
    L.seed_everything(seed, verbose=False)
    target = ring_mixture()
    data = target.sample(8192, torch.Generator().manual_seed(seed))
    reference = target.sample(2000, torch.Generator().manual_seed(seed + 1))
    ds = TensorFieldDataset({"x": data})
    loader = DataLoader(ds, batch_size=256, sampler=EpochShuffleSampler(len(ds), seed))
    joint = JointProcess({"x": FlowMatching()})
    denoiser = MLPDenoiser("x", 2, "velocity", hidden=128, layers=3)
    module = GenerativeModule(joint, denoiser, lr=3e-3, ema_decay=0.99, seed=seed,
                              config={"process": spec_of(joint), "denoiser": spec_of(denoiser)})
    fit(module, loader, out_dir=out_dir / "run", resume=False, max_epochs=epochs, accelerator="cpu",
        progress=progress, logger="csv")
    t_train = time.time() - t0
    save_model(out_dir / "model.safetensors", module.sampling_denoiser.state_dict(), module.config)

    rows, samples = [], {}
    for name, kwargs in SAMPLERS:
        sampler = get_sampler(name, **kwargs)
        ts = time.time()
        res = sampler.sample(joint, module.sampling_denoiser, {"x": (2000, 2)},
                             generator=torch.Generator().manual_seed(seed + 2))
        secs = time.time() - ts
        samples[name] = res.fields["x"]
        rows.append({"sampler": name, "nfe": res.nfe, "mmd": mmd_rbf(res.fields["x"], reference),
                     "samples_per_s": 2000 / secs})
    baseline = mmd_rbf(target.sample(2000, torch.Generator().manual_seed(seed + 3)), reference)

    from matplotlib.figure import Figure  # no pyplot: leaves the caller's backend alone

    fig = Figure(figsize=(16, 4.2))
    axes = fig.subplots(1, 4, sharex=True, sharey=True)
    axes[0].scatter(reference[:, 0], reference[:, 1], s=2, c="k")
    axes[0].set_title("target (8-component ring)")
    for ax, row in zip(axes[1:], rows):
        x = samples[row["sampler"]]
        ax.scatter(x[:, 0], x[:, 1], s=2, c="tab:blue")
        ax.set_title(f"{row['sampler']}  NFE={row['nfe']}  MMD={row['mmd']:.3f}")
    for ax in axes:
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
    fig.suptitle("Morphogen core demo: flow matching, MLP velocity field trained with Lightning")
    fig.tight_layout()
    atomic_figure(out_dir / "samples.png", fig, dpi=110)

    summary = {"train_seconds": t_train, "epochs": epochs, "samplers": rows,
               "mmd_between_two_target_draws": baseline, "total_seconds": time.time() - t0}
    atomic_json(out_dir / "metrics.json", summary)  # last: the index of the folder
    best = min(rows, key=lambda r: r["mmd"])
    return DemoResult(
        domain="core",
        produced="2-D mixture model, samples.png (3 samplers), metrics.json, model.safetensors",
        metric=f"MMD^2 to target (best: {best['sampler']}, NFE {best['nfe']}; target-vs-target {baseline:.4f})",
        value=round(best["mmd"], 4),
        seconds=time.time() - t0,
        files=[str(out_dir / "samples.png"), str(out_dir / "metrics.json"), str(out_dir / "model.safetensors")],
    )
