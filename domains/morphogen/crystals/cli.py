"""``morphogen crystals ...``: train, predict (CSP), generate, evaluate. Only typer and the core's plugin types are
imported at module level; everything heavy is imported inside the commands."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from morphogen.cli.plugins import DomainPlugin

app = typer.Typer(help="Crystal structure prediction and generation (CrysBFN, DiffCSP-style diffusion, flow "
                  "matching).", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _threads() -> None:
    import torch

    torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))


def _check_sampler(model, steps, sampler) -> None:
    """Refuse an unknown or incompatible ``--sampler`` before any sampling."""
    if not sampler:
        return
    from morphogen.crystals.experiment import make_sampler

    try:
        make_sampler(model, steps, sampler).check(model.joint)
    except (KeyError, TypeError, ValueError) as err:
        raise typer.BadParameter(str(err), param_hint="--sampler") from err


@app.command()
def train(
    preset: str = typer.Option(..., "--preset", help="perov_5 | carbon_24 | mp_20 | mpts_52, or a YAML path."),
    task: str = typer.Option("csp", "--task", help="csp (composition given) or gen (ab initio)."),
    process: str = typer.Option("bfn", "--process", help="bfn | diffusion | flow."),
    data: Optional[Path] = typer.Option(None, "--data", help="Folder with train.csv and val.csv (and optionally test.csv), or one "
                                        "CDVAE CSV split with the preset's seed (default: $MORPHOGEN_DATA/crystals/"
                                        "<preset> or ../shared/data/crystals/<preset>)."),
    out: Path = typer.Option(Path("runs/crystals"), "--out", help="Output folder (model.safetensors, run/)."),
    max_steps: Optional[int] = typer.Option(None, "--max-steps"),
    max_minutes: Optional[float] = typer.Option(None, "--max-minutes", help="Stop after this wall time."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size"),
    accelerator: str = typer.Option("auto", "--accelerator"),
    devices: str = typer.Option("auto", "--devices"),
    precision: str = typer.Option("32", "--precision"),
    num_workers: int = typer.Option(0, "--num-workers", help="DataLoader worker processes (0: collate in the "
                                    "training process)."),
    init_from: Optional[str] = typer.Option(None, "--init-from", help="Start from this model's weights "
                                            "(fine-tuning; same task, process and network)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Learning rate (default: the preset's)."),
) -> None:
    """Train a model; writes OUT/model.safetensors (EMA weights + configuration) and OUT/run/ (logs, last.ckpt)."""
    from morphogen.crystals.experiment import PROCESSES, load_preset, load_splits
    from morphogen.crystals.experiment import train as run_train

    if task not in ("csp", "gen"):
        raise typer.BadParameter("must be csp or gen", param_hint="--task")
    if process not in PROCESSES:
        raise typer.BadParameter(f"must be one of {PROCESSES}", param_hint="--process")
    _threads()
    p = load_preset(preset)
    splits = load_splits(p, data)
    typer.echo(f"data {splits.source}: {len(splits.train)} train, {len(splits.val)} val, {len(splits.test)} test")
    res = run_train(p, task, process, splits, out, max_steps=max_steps, batch_size=batch_size,
                    max_time_s=max_minutes * 60 if max_minutes else None, progress=True, num_workers=num_workers,
                    init_from=init_from, lr=lr,
                    accelerator=accelerator,
                    devices=devices, precision=precision)
    last = res.losses[-1][1] if res.losses else float("nan")
    typer.echo(f"wrote {res.model_path} (last train loss {last:.4f})")


@app.command()
def prepare(
    preset: str = typer.Option(..., "--preset", help="perov_5 | carbon_24 | mp_20 | mpts_52, or a YAML path."),
    data: Optional[Path] = typer.Option(None, "--data", help="As for train: a CDVAE folder or CSV."),
    out: Path = typer.Option(..., "--out", help="Prepared file to write (.json.gz)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Read only the first N records of each file."),
) -> None:
    """Parse and canonicalise a dataset once (pymatgen) and write its splits to OUT; `train --data OUT` then needs
    no pymatgen (e.g. on a GPU node)."""
    from morphogen.crystals.data.prepared import write_prepared
    from morphogen.crystals.experiment import load_preset, load_splits

    if not out.name.endswith(".json.gz"):
        raise typer.BadParameter("must end in .json.gz", param_hint="--out")
    p = load_preset(preset)
    s = load_splits(p, data, limit)
    write_prepared(out, {"train": s.train, "val": s.val, "test": s.test}, s.source,
                   {"niggli": p["data"]["niggli"], "primitive": p["data"]["primitive"], "preset": p["name"]})
    typer.echo(f"wrote {out}: {len(s.train)} train, {len(s.val)} val, {len(s.test)} test records from {s.source}")


@app.command()
def predict(
    checkpoint: str = typer.Option(..., "--checkpoint", help="A shipped checkpoint name or a .safetensors path."),
    compositions: Path = typer.Option(..., "--compositions", help="CSV with 'formula' [+ material_id], or a "
                                      "CDVAE CSV (only composition and atom count are used)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Sampler steps (default: the checkpoint's)."),
    num_samples: int = typer.Option(1, "--num-samples", help="Samples per composition (k)."),
    out: Path = typer.Option(..., "--out"),
    seed: int = typer.Option(0, "--seed"),
    sampler: Optional[str] = typer.Option(None, "--sampler", help="Override the checkpoint's sampler: NAME or "
                                          "NAME:key=value,... (flow models: 'renoise' gives sharp structures)."),
) -> None:
    """Crystal structure prediction: writes OUT/<row>_<k>.cif and OUT/index.csv (row, material_id, formula, sample,
    path)."""
    from morphogen.crystals.data import read_compositions
    from morphogen.crystals.experiment import load_crystal_model, sample_structures
    from morphogen.crystals.io import IndexRow, write_cif, write_index

    _threads()
    model = load_crystal_model(checkpoint)
    if model.task != "csp":
        raise typer.BadParameter("this checkpoint generates ab initio; use 'generate'", param_hint="--checkpoint")
    _check_sampler(model, steps, sampler)
    comps = read_compositions(compositions)
    rows = []
    for k in range(num_samples):
        structs = sample_structures(model, [c.atomic_numbers for c in comps], steps=steps, seed=seed + k,
                                     sampler=sampler)
        for c, s in zip(comps, structs):
            name = f"{c.row}_{k}.cif"
            if s is not None:
                write_cif(s, out / name)
            rows.append(IndexRow(c.row, c.material_id, c.formula, k, name if s is not None else ""))
    rows.sort(key=lambda r: (r.row, r.sample))
    write_index(rows, out / "index.csv")
    built = sum(1 for r in rows if r.path)
    typer.echo(f"wrote {built} CIFs ({len(rows) - built} samples were no cell) and {out / 'index.csv'}")


@app.command()
def generate(
    checkpoint: str = typer.Option(..., "--checkpoint"),
    num_samples: int = typer.Option(..., "--num-samples"),
    out: Path = typer.Option(..., "--out"),
    steps: Optional[int] = typer.Option(None, "--steps"),
    seed: int = typer.Option(0, "--seed"),
    sampler: Optional[str] = typer.Option(None, "--sampler", help="Override the checkpoint's sampler: NAME or "
                                          "NAME:key=value,... (flow models: 'renoise' gives sharp structures)."),
) -> None:
    """Ab initio generation: writes OUT/gen_<i>.cif and OUT/index.csv (row empty, sample = i)."""
    from morphogen.crystals.experiment import load_crystal_model, sample_structures
    from morphogen.crystals.io import IndexRow, write_cif, write_index

    _threads()
    model = load_crystal_model(checkpoint)
    if model.task != "gen":
        raise typer.BadParameter("this checkpoint is a CSP model; use 'predict'", param_hint="--checkpoint")
    _check_sampler(model, steps, sampler)
    structs = sample_structures(model, num_samples=num_samples, steps=steps, seed=seed, sampler=sampler)
    rows = []
    for i, s in enumerate(structs):
        name = f"gen_{i}.cif"
        if s is not None:
            write_cif(s, out / name)
        rows.append(IndexRow(None, "", s.composition.formula.replace(" ", "") if s is not None else "", i,
                             name if s is not None else ""))
    write_index(rows, out / "index.csv")
    typer.echo(f"wrote {sum(1 for r in rows if r.path)} CIFs and {out / 'index.csv'}")


@app.command()
def evaluate(
    predictions: Path = typer.Option(..., "--predictions", help="A folder written by predict or generate."),
    reference: Path = typer.Option(..., "--reference", help="CDVAE-format CSV of the reference structures."),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON file (default: PREDICTIONS/metrics.json)."),
) -> None:
    """Match rate and RMSE (1 sample and best of k) for predictions, or validity and Wasserstein distances for
    generated crystals; prints and writes the table as JSON."""
    from morphogen.crystals.evaluation import evaluate_folder

    table = evaluate_folder(predictions, reference)
    path = out or predictions / "metrics.json"
    path.write_text(json.dumps(table, indent=2))
    typer.echo(json.dumps(table, indent=2))
    typer.echo(f"wrote {path}")


def demo(out_dir: Path):
    """Predict the structures of 50 held-out Perov-5 compositions with the shipped ``perov_5`` model (one sample
    each, the checkpoint's sampler), report the match rate against the true structures, write the CIFs and a
    picture of the first predicted cell beside the true one."""
    import time

    import numpy as np

    from morphogen.cli.plugins import DemoResult
    from morphogen.crystals.data import record_to_structure
    from morphogen.crystals.experiment import load_crystal_model, load_preset, load_splits, sample_structures
    from morphogen.crystals.io import IndexRow, write_cif, write_index
    from morphogen.crystals.io.draw import draw_cells
    from morphogen.crystals.metrics import csp_match

    _threads()
    t0 = time.time()
    model = load_crystal_model("perov_5")
    test = load_splits(load_preset("perov_5")).test[:50]
    refs = [record_to_structure(r) for r in test]
    preds = sample_structures(model, [r.atomic_numbers for r in test], seed=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (r, s) in enumerate(zip(test, preds)):
        name = f"{i}_0.cif" if s is not None else ""
        if s is not None:
            write_cif(s, out_dir / name)
        rows.append(IndexRow(i, r.material_id, refs[i].composition.reduced_formula, 0, name))
    write_index(rows, out_dir / "index.csv")
    res = csp_match([[s] for s in preds], refs)
    first = next(i for i, s in enumerate(preds) if s is not None)
    ok = "matched" if np.isfinite(res.rms[first]) else "not matched"
    pic = draw_cells([preds[first], refs[first]], [f"predicted {refs[first].composition.reduced_formula} ({ok})",
                                                    "true structure"], out_dir / "cell.png")
    (out_dir / "metrics.json").write_text(json.dumps({**res.as_dict(), "checkpoint": "perov_5",
                                                      "process": model.process, "sampler": model.sampler}, indent=2))
    return DemoResult("crystals", f"structures for 50 held-out Perov-5 compositions, shipped perov_5 model "
                      f"({model.process}, {model.sampler.get('steps')} steps; RMSE {res.rmse:.3f})", "match rate",
                      round(float(res.match_rate), 4), time.time() - t0,
                      [str(out_dir / "index.csv"), str(pic), str(out_dir / "metrics.json")])


plugin = DomainPlugin(name="crystals", app=app, demo=demo, summary="Crystal structure prediction and generation (CrysBFN).")

if __name__ == "__main__":
    app()
