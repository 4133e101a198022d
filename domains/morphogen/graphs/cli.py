"""``morphogen graphs prepare | train | sample | evaluate``. Imports only typer and the core's plugin types at module level."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from morphogen.cli.plugins import DomainPlugin

app = typer.Typer(help="GDSS: score-based generation of graphs and molecules with a system of SDEs.",
                  no_args_is_help=True)


@app.command()
def prepare(
    preset: str = typer.Option(..., help="qm9 | zinc250k | moses | community_small | ego_small | grid | enzymes, or a YAML path"),
    out: Path = typer.Option(..., help="the prepared file to write (safetensors)"),
    data: Optional[str] = typer.Option(None, help="dataset file or folder (default: qm9pack for qm9, ../shared/data otherwise)"),
    limit: Optional[int] = typer.Option(None, help="keep only the first N training graphs"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="skip unusable molecules (reported) instead of failing"),
):
    """Featurise a preset's data once into a safetensors file; `train --data OUT` then needs no RDKit, networkx
    or qm9pack (for a GPU machine). The file also holds the train / test SMILES (or test graphs) for evaluate."""
    from morphogen.graphs.pipeline import write_prepared_dataset

    path = write_prepared_dataset(preset, out, data, limit, skip_invalid)
    typer.echo(f"wrote {path}")


@app.command()
def train(
    preset: str = typer.Option(..., help="qm9 | zinc250k | moses | community_small | ego_small | grid | enzymes, or a YAML path"),
    data: Optional[str] = typer.Option(None, help="a prepared file (`morphogen graphs prepare`), or a dataset file or folder (default: qm9pack for qm9, ../shared/data otherwise)"),
    out: Path = typer.Option(Path("runs/graphs"), help="output folder (model.safetensors, run/ logs, last.ckpt)"),
    epochs: Optional[int] = typer.Option(None, help="override the preset's epochs"),
    max_steps: int = typer.Option(-1, help="stop after this many optimiser steps (overrides epochs)"),
    batch_size: Optional[int] = typer.Option(None),
    limit: Optional[int] = typer.Option(None, help="use only the first N training graphs"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="skip unusable molecules (reported) instead of failing"),
    seed: int = typer.Option(0),
    accelerator: str = typer.Option("cpu", help="Lightning accelerator: cpu | gpu | cuda | auto | ..."),
    devices: str = typer.Option("auto", help="Lightning devices: auto, a count (1) or ids (0,1)"),
    precision: str = typer.Option("32", help="32 | bf16 (bf16-mixed) | 16 (16-mixed) | any Lightning precision"),
    strategy: str = typer.Option("auto", help="Lightning strategy (auto, ddp, ...)"),
    max_minutes: Optional[float] = typer.Option(None, help="stop after this many minutes of training (of this call; a resumed run gets the full budget again); the EMA model is still written"),
    num_workers: int = typer.Option(0, help="DataLoader worker processes"),
    init_from: Optional[str] = typer.Option(None, "--init-from", help="start from this model's weights (a model file or shipped name of the same preset; fresh optimiser)"),
    lr: Optional[float] = typer.Option(None, help="override the preset's learning rate"),
):
    """Train a GDSS model from a preset (resumes from OUT/run/checkpoints/last.ckpt)."""
    import torch

    from morphogen.graphs.pipeline import TrainerOptions
    from morphogen.graphs.pipeline import train as _train

    torch.set_num_threads(max(1, torch.get_num_threads()))
    opts = TrainerOptions(accelerator=accelerator, devices=devices, precision=precision, max_minutes=max_minutes,
                          num_workers=num_workers, strategy=strategy)
    path = _train(preset, out, data, epochs, max_steps, batch_size, limit, seed, skip_invalid, trainer=opts,
                  init_from=init_from, lr=lr)
    typer.echo(f"wrote {path}")


@app.command()
def sample(
    checkpoint: str = typer.Option(..., help="a model.safetensors, its folder, or a shipped model name (qm9)"),
    num_samples: int = typer.Option(1000),
    steps: Optional[int] = typer.Option(None, help="sampler steps (default: the checkpoint's sampler setting)"),
    sampler: Optional[str] = typer.Option(None, help="s4 (GDSS), pc, euler_maruyama, heun, dpm_solver, ..."),
    out: Path = typer.Option(Path("samples/graphs")),
    seed: int = typer.Option(0),
):
    """Sample; writes OUT/samples.smi (molecules, one line per sample) or OUT/graphs.json, and OUT/grid.png."""
    import json

    info = write_samples(checkpoint, num_samples, steps, sampler, out, seed)
    typer.echo(json.dumps(info, indent=2))


def write_samples(checkpoint: str, num_samples: int, steps: Optional[int], sampler: Optional[str], out: Path,
                  seed: int = 0) -> dict:
    """What ``sample`` does, as a function: returns the sampling summary written to OUT/sampling.json."""
    import json

    from morphogen.graphs.data.kind import GraphKind
    from morphogen.graphs.pipeline import generate

    s, config = generate(checkpoint, num_samples, steps, sampler, seed)
    out.mkdir(parents=True, exist_ok=True)
    info = {"num_samples": num_samples, "nfe_per_sample": s.nfe, "seconds": s.seconds,
            "samples_per_second": num_samples / max(s.seconds, 1e-9), "checkpoint": checkpoint,
            "sampler": sampler or config.get("sampler", {}).get("name")}
    if GraphKind.parse(config.get("kind", GraphKind.GRAPH), f"{checkpoint}: config") is GraphKind.MOLECULE:
        from morphogen.molecules.draw import draw_molecules
        from morphogen.molecules.io import write_smiles
        from morphogen.molecules.valency import decode_molecules

        dec = decode_molecules(s.x, s.adj, config["feature_names"], s.mask)
        write_smiles([d.raw_smiles for d in dec], out / "samples.smi")
        draw_molecules([d.smiles for d in dec[:32]], out / "grid.png")
        info["validity_without_correction"] = sum(d.valid_without_correction for d in dec) / len(dec)
    else:
        from morphogen.graphs.data.generic import dense_to_graphs, write_graph_json
        from morphogen.graphs.io import draw_graphs

        graphs = dense_to_graphs(s.adj, s.mask)
        write_graph_json(graphs, out / "graphs.json")
        draw_graphs(graphs[:16], out / "grid.png")
    (out / "sampling.json").write_text(json.dumps(info, indent=2))
    return info


@app.command()
def evaluate(
    samples: Path = typer.Option(..., help="folder written by `sample`"),
    reference: str = typer.Option(..., help="benchmark: qm9 | zinc250k | moses | community_small | ego_small | grid | enzymes"),
    data: Optional[str] = typer.Option(None, help="dataset path, as for train"),
    fcd: bool = typer.Option(True, "--fcd/--no-fcd"),
    nspdk: bool = typer.Option(True, "--nspdk/--no-nspdk"),
):
    """Print the metric table and write it to SAMPLES/metrics.json."""
    import json

    from morphogen.graphs.evaluate import evaluate_samples

    table = evaluate_samples(samples, reference, data, fcd, nspdk)
    typer.echo(json.dumps(table, indent=2))


def demo(out_dir: Path):
    """Sample 1,000 QM9 molecules from the shipped ``qm9`` model (S4, 200 network evaluations), evaluate them
    against the first 2,000 molecules of the QM9 test split (FCD and NSPDK; the benchmark uses all of it), and draw
    the first 32."""
    import time

    import torch

    from morphogen.cli.plugins import DemoResult
    from morphogen.graphs.evaluate import evaluate_samples

    torch.set_num_threads(1)
    t0 = time.time()
    info = write_samples("qm9", 1000, 200, "s4", out_dir, seed=0)
    table = evaluate_samples(out_dir, "qm9", with_fcd=True, with_nspdk=True, max_reference=2000)
    v = table.get("validity_without_correction", info["validity_without_correction"])
    extra = ", ".join(f"{k} {table[k]:.3f}" for k in ("uniqueness", "novelty", "fcd", "nspdk_mmd") if k in table)
    return DemoResult("graphs", f"1,000 QM9 molecules, shipped qm9 model, S4 at {info['nfe_per_sample']} NFE "
                      f"({extra}; FCD/NSPDK against 2,000 test molecules)", "validity without correction", round(float(v), 4), time.time() - t0,
                      [str(out_dir / "samples.smi"), str(out_dir / "grid.png"), str(out_dir / "metrics.json")])


plugin = DomainPlugin(name="graphs", app=app, demo=demo, summary="GDSS graph and molecule generation (prepare, train, sample, evaluate)")

if __name__ == "__main__":
    app()
