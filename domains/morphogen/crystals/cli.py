"""``morphogen crystals ...``: train, prepare, predict (CSP), generate, evaluate. Thin: parse, call the library
(:mod:`.experiment`, :mod:`.prediction`, :mod:`.evaluation`), print. The shared options come from
:mod:`morphogen.cli.options`; only typer and the core's plugin types are imported at module level."""
from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Optional

import typer

from morphogen.cli.options import load_checkpoint, sampling_command, train_command
from morphogen.cli.plugins import DomainPlugin

app = typer.Typer(help="Crystal structure prediction and generation (CrysBFN, DiffCSP-style diffusion, flow "
                  "matching).", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
PRESETS = "perov_5 | carbon_24 | mp_20 | mpts_52, or a YAML path"
READ_MAX_ATOMS = 1000  # no cell larger than this is even built while reading (H100000 would need 120 GB to sample)
TRAINED_FACTOR = 2  # default limit: this many times the largest training cell of the model


def _atom_limit(model, asked: Optional[int]) -> tuple[int, str]:
    """The atoms-per-cell limit for ``model`` and why (for the message)."""
    if asked is not None:
        return asked, " (--max-atoms)"
    hist = getattr(model, "num_atoms", None)
    if hist is None:
        return READ_MAX_ATOMS, " (the model stores no training cell sizes); --max-atoms raises it"
    return (TRAINED_FACTOR * hist.max_count, f" ({TRAINED_FACTOR} x the {hist.max_count}-atom largest training cell "
            "of this model); --max-atoms raises it")


def _load_for(sampling, task: str):
    """The model of ``--checkpoint`` on ``--device``, refused unless it does ``task``, with its sampler checked."""
    model = load_checkpoint(sampling.checkpoint, "crystals", device=sampling.device)
    if model.task != task:
        other = "generate" if model.task == "gen" else "predict"
        raise typer.BadParameter(f"this is a {model.task} model; use '{other}'", param_hint="--checkpoint")
    try:
        with warnings.catch_warnings():  # sampling warns once, later
            warnings.simplefilter("ignore")
            model.make_sampler(sampling.sampler, sampling.steps)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--sampler") from err
    return model


@app.command()
@train_command
def train(
    request,
    task: str = typer.Option("csp", "--task", help="csp (composition given) or gen (ab initio: atom types are "
                             "generated too)."),
    process: str = typer.Option("bfn", "--process", help="The preset's variant: bfn | diffusion | flow, or an "
                                "ablation the preset names (perov_5: bfn_time, bfn_params, diffusion_params, flow_params)."),
) -> None:
    """Train a model (preset: perov_5 | carbon_24 | mp_20 | mpts_52 or a YAML path; --data: a folder with train.csv
    and val.csv [test.csv], one CDVAE CSV split with the preset's seed, or a prepared .json.gz; default
    $MORPHOGEN_DATA/crystals/<preset>). Writes OUT/model.safetensors and OUT/run/ (resumed by the same OUT)."""
    from morphogen.crystals.experiment import load_preset, load_splits
    from morphogen.crystals.experiment import train as run_train
    from morphogen.crystals.models.bundle import TASKS
    from morphogen.utils.threads import configure_threads

    if task not in TASKS:
        raise typer.BadParameter(f"must be one of {TASKS}", param_hint="--task")
    preset = load_preset(request.preset)
    if process not in preset.variants:
        raise typer.BadParameter(f"must be one of {sorted(preset.variants)} (the variants of {preset.source})",
                                 param_hint="--process")
    out = request.out_dir("crystals")  # before the data is read
    configure_threads()
    res = run_train(preset, task, process, load_splits(preset, request.data), out, request.options)
    last = res.losses[-1][1] if res.losses else float("nan")
    typer.echo(f"wrote {res.model_path} ({res.steps} steps; last train loss {last:.4f})")


@app.command()
def prepare(
    preset: str = typer.Option(..., "--preset", help=PRESETS + "."),
    data: Optional[Path] = typer.Option(None, "--data", help="As for train: a CDVAE folder or CSV."),
    out: Path = typer.Option(..., "--out", help="Prepared file to write (.json.gz)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Read only the first N records of each file."),
) -> None:
    """Parse and canonicalise a dataset once (pymatgen) and write its splits to OUT; `train --data OUT` then needs
    no pymatgen (e.g. on a GPU node)."""
    if not out.name.endswith(".json.gz"):
        raise typer.BadParameter("must end in .json.gz", param_hint="--out")
    if out.is_dir():
        raise typer.BadParameter(f"{out} is a folder", param_hint="--out")
    if limit is not None and limit < 1:
        raise typer.BadParameter(f"must be >= 1, got {limit}", param_hint="--limit")
    from morphogen.crystals.data.prepared import write_prepared
    from morphogen.crystals.data.sources import DataConfig
    from morphogen.crystals.experiment import load_preset, load_splits

    p = load_preset(preset)
    s = load_splits(p, data, limit)
    write_prepared(out, {"train": s.train, "val": s.val, "test": s.test}, s.source,
                   {**DataConfig.from_mapping(p.data).reader_options(), "preset": p.name})
    typer.echo(f"wrote {out}: {len(s.train)} train, {len(s.val)} val, {len(s.test)} test records from {s.source}")


@app.command()
@sampling_command(out_default=None)
def predict(
    sampling,
    compositions: Path = typer.Option(..., "--compositions", help="CSV with 'formula' [+ material_id], or a "
                                      "CDVAE CSV (only composition and atom count are used)."),
    num_samples: int = typer.Option(1, "--num-samples", help="Samples per composition (k)."),
    max_atoms: Optional[int] = typer.Option(None, "--max-atoms", help="Refuse cells of more atoms than this "
                                            f"(default: {TRAINED_FACTOR} x the model's largest training cell)."),
) -> None:
    """Crystal structure prediction: writes OUT/<row>_<k>.cif and OUT/index.csv (row, material_id, formula, sample,
    path). All k samples of all compositions are drawn in the same batches."""
    if num_samples < 1:
        raise typer.BadParameter(f"must be >= 1, got {num_samples}", param_hint="--num-samples")
    if max_atoms is not None and max_atoms < 1:
        raise typer.BadParameter(f"must be >= 1, got {max_atoms}", param_hint="--max-atoms")
    from morphogen.crystals.data import read_compositions
    from morphogen.crystals.data.compositions import too_many_atoms
    from morphogen.errors import DataError
    from morphogen.crystals.io.folders import STALE
    from morphogen.utils.outputs import OutputError, check_not_inputs

    try:  # e.g. --compositions OUT/index.csv of an earlier run: the new run removes and rewrites it
        check_not_inputs([sampling.out / name for name in STALE], [compositions])
    except OutputError as err:
        raise typer.BadParameter(str(err), param_hint="--out") from None

    comps = read_compositions(compositions, max_atoms=max_atoms if max_atoms is not None else READ_MAX_ATOMS)
    from morphogen.crystals.prediction import predict as run_predict  # torch: after the input is known to be good
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = _load_for(sampling, "csp")
    limit, why = _atom_limit(model, max_atoms)
    big = max(comps, key=lambda c: c.num_atoms)
    if big.num_atoms > limit:
        raise DataError(f"{compositions}: record {big.row} (material_id {big.material_id!r}): "
                        + too_many_atoms(big.formula, big.num_atoms, limit, why))
    pred = run_predict(model, comps, num_samples, sampler=sampling.sampler,
                       steps=sampling.steps, seed=sampling.seed, batch_size=sampling.batch_size)
    w = pred.write(sampling.out)
    typer.echo(f"wrote {w.written} CIFs ({w.failed} samples were no cell) and {w.index} (sampler {pred.sampler}, "
               f"{pred.nfe} NFE per sample)")


@app.command()
@sampling_command(out_default=None)
def generate(
    sampling,
    num_samples: int = typer.Option(..., "--num-samples", help="Cells to generate."),
) -> None:
    """Ab initio generation: writes OUT/gen_<i>.cif and OUT/index.csv (row empty, sample = i)."""
    if num_samples < 1:
        raise typer.BadParameter(f"must be >= 1, got {num_samples}", param_hint="--num-samples")
    from morphogen.crystals.prediction import generate as run_generate
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = _load_for(sampling, "gen")
    gen = run_generate(model, num_samples, sampler=sampling.sampler, steps=sampling.steps, seed=sampling.seed,
                       batch_size=sampling.batch_size)
    w = gen.write(sampling.out)
    typer.echo(f"wrote {w.written} CIFs ({w.failed} samples were no cell) and {w.index} (sampler {gen.sampler}, "
               f"{gen.nfe} NFE per sample)")


@app.command()
def evaluate(
    predictions: Path = typer.Option(..., "--predictions", help="A folder written by predict or generate."),
    reference: Path = typer.Option(..., "--reference", help="CDVAE-format CSV of the reference structures."),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON file (default: PREDICTIONS/metrics.json)."),
    coverage_cutoffs: Optional[str] = typer.Option(
        None, "--coverage-cutoffs", help="Generation: COV-R / COV-P cutoffs STRUCT,COMP (default: CDVAE's for the "
        "benchmark in the reference's path: perov_5 and carbon_24 0.2,4; mp_20 0.4,10)."),
) -> None:
    """Match rate and RMSE (1 sample and best of k) for predictions, or validity, Wasserstein distances and
    coverage for generated crystals; prints and writes the table as JSON."""
    from morphogen.crystals.evaluation import evaluate_folder

    path = out or predictions / "metrics.json"
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a folder", param_hint="--out")
    cutoffs = None
    if coverage_cutoffs is not None:
        try:
            cutoffs = tuple(float(v) for v in coverage_cutoffs.split(","))
        except ValueError:
            cutoffs = ()
        if len(cutoffs) != 2 or not all(math.isfinite(v) and v > 0 for v in cutoffs):
            raise typer.BadParameter(f"expected two positive numbers STRUCT,COMP, got '{coverage_cutoffs}'",
                                     param_hint="--coverage-cutoffs")
    table = evaluate_folder(predictions, reference, cutoffs)
    from morphogen.utils.outputs import atomic_json

    atomic_json(path, table)
    typer.echo(json.dumps(table, indent=2))
    typer.echo(f"wrote {path}")


def demo(out_dir: Path):
    """The shipped perov_5 model on 50 held-out Perov-5 compositions
    (:func:`morphogen.crystals.prediction.run_demo`)."""
    from morphogen.crystals.prediction import run_demo
    from morphogen.utils.threads import configure_threads

    configure_threads()
    return run_demo(out_dir)


plugin = DomainPlugin(name="crystals", app=app, demo=demo, summary="Crystal structure prediction and generation "
                      "(CrysBFN, DiffCSP-style diffusion, flow matching).",
                      checkpoint_dir=Path(__file__).resolve().parent / "checkpoints",
                      legacy="morphogen.crystals.models.bundle:upgrade_legacy")

if __name__ == "__main__":
    app()
