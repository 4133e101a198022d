"""``morphogen graphs prepare | train | sample | evaluate``: parse, call the library, print. Imports only typer and
the core's option and plugin types at module level."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from morphogen.cli.options import SamplingOptions, TrainRequest, load_checkpoint, sampling_command, train_command
from morphogen.cli.plugins import DomainPlugin

PRESETS = ("qm9 | zinc250k | moses | community_small | ego_small | grid | enzymes | pyg (any PyG InMemoryDataset "
           "given by --data), or a YAML path")
CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"

app = typer.Typer(help="GDSS: score-based generation of graphs and molecules with a system of SDEs.",
                  no_args_is_help=True)


@app.command()
def prepare(
    preset: str = typer.Option(..., help=PRESETS),
    out: Path = typer.Option(..., help="the prepared file to write (safetensors)"),
    data: Optional[str] = typer.Option(None, help="dataset file or folder (default: qm9pack for qm9, ../shared/data otherwise)"),
    limit: Optional[int] = typer.Option(None, min=1, help="keep only the first N training graphs"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="skip unusable molecules (reported) instead of failing"),
):
    """Featurise a preset's data once into a safetensors file; `train --data OUT` then needs no RDKit, networkx
    or qm9pack (for a GPU machine). The file also holds the train / test SMILES (or test graphs) for evaluate."""
    from morphogen.graphs.data.sources import write_prepared_dataset
    from morphogen.graphs.pipeline import load_preset
    from morphogen.utils.threads import configure_threads

    configure_threads()
    path = write_prepared_dataset(load_preset(preset), out, data, limit, skip_invalid)
    typer.echo(f"wrote {path}")


@app.command()
@train_command
def train(
    request: TrainRequest,
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1,
                                         help="Override the preset's epochs (--max-steps wins)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N training graphs."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip unusable molecules (reported) instead of "
                                      "failing."),
):
    """Train a GDSS model from a preset (--preset qm9 | zinc250k | moses | community_small | ego_small | grid |
    enzymes, or a YAML path; --preset pyg --data FOLDER trains on a PyTorch Geometric InMemoryDataset, e.g. a
    TUDataset's root/name folder); a second call with the same --out resumes from OUT/run/checkpoints/last.ckpt."""
    from morphogen.graphs.pipeline import train as _train
    from morphogen.utils.threads import configure_threads

    configure_threads()
    res = _train(request.preset, request.out_dir("graphs"), request.data, request.options, epochs=epochs,
                 limit=limit, skip_invalid=skip_invalid)
    typer.echo(f"wrote {res.model_path} ({res.steps} optimiser steps)")


@app.command()
@sampling_command(out_default=Path("samples/graphs"))
def sample(
    sampling: SamplingOptions,
    num_samples: int = typer.Option(1000, "--num-samples", min=1, help="Graphs to draw."),
):
    """Sample; writes OUT/samples.smi (molecules, one line per sample) or OUT/graphs.json, OUT/grid.png and
    OUT/sampling.json (molecules: with validity without correction and connected). With no --sampler / --steps:
    the model's default (qm9: S4 with GDSS's settings, 200 steps)."""
    import json

    from morphogen.graphs.io.samples import write_samples
    from morphogen.samplers.base import IncompatibleSamplerError
    from morphogen.samplers.spec import SamplerSpecError
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = load_checkpoint(sampling.checkpoint, "graphs")
    try:
        info = write_samples(model, sampling.out, num_samples, sampler=sampling.sampler, steps=sampling.steps,
                             seed=sampling.seed, batch_size=sampling.batch_size, device=sampling.device)
    except (SamplerSpecError, IncompatibleSamplerError) as err:
        raise typer.BadParameter(str(err), param_hint="--sampler") from None
    typer.echo(json.dumps(info.as_dict(), indent=2))


@app.command()
def evaluate(
    samples: Path = typer.Option(..., help="folder written by `sample`"),
    reference: str = typer.Option(..., help="benchmark: qm9 | zinc250k | moses | community_small | ego_small | grid | "
                                  "enzymes | pyg (with --data)"),
    data: Optional[str] = typer.Option(None, help="dataset path, as for train"),
    fcd: bool = typer.Option(True, "--fcd/--no-fcd"),
    nspdk: bool = typer.Option(True, "--nspdk/--no-nspdk"),
):
    """Print the metric table and write it to SAMPLES/metrics.json (molecules: validity without correction,
    connected = valid without correction and one fragment, validity after correction, uniqueness, novelty, FCD,
    NSPDK MMD)."""
    import json

    from morphogen.graphs.evaluation import evaluate_samples
    from morphogen.utils.threads import configure_threads

    configure_threads()
    table = evaluate_samples(samples, reference, data, fcd, nspdk)
    typer.echo(json.dumps(table, indent=2))


def demo(out_dir: Path):
    """Sample 1,000 QM9 molecules from the shipped ``qm9`` model with its default sampler (S4, GDSS's settings, 200
    network evaluations), evaluate them against the first 2,000 molecules of the QM9 test split (FCD and NSPDK; the
    benchmark uses all of it), and draw the first 32. The row's value is validity without correction and, beside
    it, connected (valid without correction and one fragment)."""
    import time

    from morphogen.cli.plugins import DemoResult
    from morphogen.graphs.evaluation import evaluate_samples
    from morphogen.graphs.io.samples import write_samples
    from morphogen.utils.threads import configure_threads

    configure_threads(1)
    t0 = time.time()
    info = write_samples("qm9", out_dir, 1000, seed=0)
    table = evaluate_samples(out_dir, "qm9", with_fcd=True, with_nspdk=True, max_reference=2000)
    v = table.get("validity_without_correction", info.validity_without_correction)
    c = table.get("connected", info.connected)
    extra = ", ".join(f"{k} {table[k]:.3f}" for k in ("uniqueness", "novelty", "fcd", "nspdk_mmd")
                      if table.get(k) is not None)
    sampler = info.sampler.partition(":")[0].upper()
    return DemoResult("graphs", f"1,000 QM9 molecules, shipped qm9 model, its default sampler ({sampler}, "
                      f"{info.nfe_per_sample} NFE; {extra}; FCD/NSPDK against 2,000 test molecules)",
                      "validity without correction / connected",
                      f"{float(v):.4f} / {float(c):.4f}", time.time() - t0,
                      [str(out_dir / "samples.smi"), str(out_dir / "grid.png"), str(out_dir / "metrics.json")])


plugin = DomainPlugin(name="graphs", app=app, demo=demo, checkpoint_dir=CHECKPOINT_DIR,
                      legacy="morphogen.graphs.legacy:upgrade_config",
                      summary="GDSS graph and molecule generation (prepare, train, sample, evaluate)")

if __name__ == "__main__":
    app()
