"""``morphogen spectra ...``: simulate spectrum sets (and, later, elucidate structures from spectra). Imports only
typer and the core's plugin types at module level; numpy, RDKit and tblite are imported inside the commands."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import typer

from morphogen.cli.options import SamplingOptions, TrainRequest, load_checkpoint, sampling_command, train_command
from morphogen.cli.plugins import DomainPlugin

app = typer.Typer(help="Spectra: structure elucidation from spectra (DiffSpectra); GFN2-xTB IR spectrum sets.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.callback()
def _spectra() -> None:
    """Spectra: structure elucidation from spectra (DiffSpectra); GFN2-xTB IR spectrum sets."""


@app.command()
def simulate(
    molecules: str = typer.Option(..., "--molecules", help="qm9 (QM9 from qm9pack with its B3LYP geometries) or a "
                                  "SMILES file (a SMILES and an optional name a line; embedded with RDKit ETKDG + "
                                  "MMFF)."),
    indices: Optional[Path] = typer.Option(None, "--indices", help="QM9 only: a JSON list of gdb numbers (qm9pack's "
                                           "Index), or GDSS's valid_idx_qm9.json ({'valid_idxs': [0-based rows]}, "
                                           "gdb = row + 1)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Only the first N molecules of the selection "
                                        "(counted before those already done are skipped)."),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes (one thread each)."),
    out: Path = typer.Option(..., "--out", help="Output folder: spectra.jsonl, failed.csv, settings.json; a rerun "
                             "resumes it."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
) -> None:
    """GFN2-xTB harmonic IR spectra (GFN2 relaxation, finite-difference Hessian, Lorentzian FWHM 20 cm^-1 on
    400-4000 cm^-1 step 2, max 1) appended to OUT/spectra.jsonl; failures to OUT/failed.csv."""
    if indices is not None and molecules.lower() != "qm9":
        raise typer.BadParameter("--indices selects QM9 molecules; use it with --molecules qm9", param_hint="--indices")
    if molecules.lower() != "qm9" and not Path(molecules).is_file():
        raise typer.BadParameter(f"not 'qm9' and not a file: {molecules}", param_hint="--molecules")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[name] = "1"  # before numpy and tblite load: one thread per process
    from morphogen.spectra.simulate import simulate_set

    s = simulate_set(molecules, out, indices, limit, workers, progress=progress)
    if s.repaired:
        typer.echo(f"removed a partial last line (a killed run) from {', '.join(s.repaired)}")
    typer.echo(f"{s.selected} selected, {s.skipped} done before, {s.written} written, {s.failed} failed in "
               f"{s.seconds:.1f} s; {out / 'spectra.jsonl'}")
    for reason, n in s.reasons.most_common(5):
        typer.echo(f"  failed: {n} x {reason}")


@app.command()
def pack(
    run: Path = typer.Option(..., "--run", help="A `spectra simulate` output folder."),
    out: Path = typer.Option(..., "--out", help="The packed folder (numbered .npz shards of the modes, settings.json, "
                             "failed.csv); a shard whose molecules are unchanged is not rewritten."),
) -> None:
    """Pack a simulated set compactly (modes only; the spectra are rebuilt on reading). A packed folder can be
    given to `train --data` and `unpack` as it is."""
    from morphogen.spectra.data.shards import pack as run_pack

    c = run_pack(run, out)
    typer.echo(f"{c['records']} records in {c['shards']} shard(s) ({c['written']} written), {c['failed']} failed "
               f"molecules listed; {out}")


@app.command()
def unpack(
    packed: Path = typer.Option(..., "--packed", help="A folder written by `spectra pack`."),
    out: Path = typer.Option(..., "--out", help="An empty folder: spectra.jsonl, failed.csv, settings.json (resumable "
                             "by `simulate --out`)."),
) -> None:
    """Write a packed set back as a `spectra simulate` folder, e.g. to resume computing it."""
    from morphogen.spectra.data.shards import unpack as run_unpack

    n = run_unpack(packed, out)
    typer.echo(f"{n} records; {out / 'spectra.jsonl'}")


@app.command()
@train_command
def train(
    request: TrainRequest,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N training molecules."),
) -> None:
    """Train a model (presets qm9-ir | nmrshiftdb2; --data: a spectra.jsonl of `simulate`, default the preset's);
    writes OUT/model.safetensors and OUT/run/ (resumed by the same command)."""
    from morphogen.spectra.training import train as run
    from morphogen.utils.threads import configure_threads

    configure_threads()
    res = run(request.preset, request.out_dir("spectra"), request.data, limit, options=request.options)
    typer.echo(f"trained {res.steps} steps; model: {res.model_path}")


@app.command()
@sampling_command
def elucidate(
    sampling: SamplingOptions,
    spectra: Path = typer.Option(..., "--spectra", help="JSON lines: id, ir {wavenumber, intensity}, nmr_13c, "
                                 "nmr_1h, formula or num_atoms (hydrogens included), optional smiles (the truth)."),
    num_samples: int = typer.Option(10, "--num-samples", min=1, max=1000, help="Candidates K sampled per record."),
    formula_known: bool = typer.Option(False, "--formula-known", help="Impose each record's formula (else only its "
                                       "atom count is given, as in DiffSpectra)."),
    shifts: str = typer.Option("shifts", "--shifts", help="NMR records: the shift predictor whose predicted 13C / 1H "
                               "lists rank the candidates (the shipped 'shifts', or a path); 'none' ranks by how many "
                               "samples agree."),
    valence: str = typer.Option("complete", "--valence", help="complete: draw bonds under a valence mask (no atom "
                                "past its valence) and close each sample's unfilled valences, nearest atoms first; "
                                "mask: the mask only; none: samples as drawn (morphogen.spectra.valence)."),
    ir_ranking: str = typer.Option("agreement", "--ir-ranking", help="IR records: agreement ranks candidates by how "
                                   "many samples agree; xtb by the cosine of their GFN2-xTB spectra with the record's "
                                   "(about 2 s of a core per candidate; morphogen.spectra.resimulation)."),
    ir_candidates: int = typer.Option(20, "--ir-candidates", min=1, help="--ir-ranking xtb: simulate at most this "
                                      "many candidates per record (the most agreed-upon first)."),
    workers: int = typer.Option(1, "--workers", min=1, help="--ir-ranking xtb: simulation processes, one thread each."),
) -> None:
    """Elucidate structures: OUT/candidates.csv (id, rank, smiles, score, count, plausible, shift_error),
    OUT/samples.csv, OUT/best.sdf (3-D), a picture per id, OUT/elucidation.json last. Candidates rank plausible
    (connected, closed-shell, neutral) first, then NMR ones by predicted-shift error, IR ones by agreement (or by
    re-simulated spectra: --ir-ranking xtb)."""
    from morphogen.spectra.elucidation import IR_RANKINGS, OUTPUT_NAMES, VALENCE_MODES, run_elucidation
    from morphogen.utils.outputs import OutputError, check_not_inputs
    from morphogen.utils.threads import configure_threads

    if valence not in VALENCE_MODES:
        raise typer.BadParameter(f"one of {', '.join(VALENCE_MODES)}, not {valence!r}", param_hint="--valence")
    if ir_ranking not in IR_RANKINGS:
        raise typer.BadParameter(f"one of {', '.join(IR_RANKINGS)}, not {ir_ranking!r}", param_hint="--ir-ranking")
    try:
        check_not_inputs([sampling.out / name for name in OUTPUT_NAMES], [spectra])
    except OutputError as err:
        raise typer.BadParameter(str(err), param_hint="--out") from None
    configure_threads()
    model = load_checkpoint(sampling.checkpoint, "spectra", device=sampling.device)
    info = run_elucidation(model, spectra, sampling.out, num_samples, formula_known, sampling.steps, sampling.sampler,
                           sampling.batch_size or 256, sampling.seed,
                           shifts=None if shifts.lower() == "none" else shifts, valence=valence,
                           ir_ranking=ir_ranking, ir_candidates=ir_candidates, workers=workers)
    typer.echo(f"{info['records']} record(s), {num_samples} samples each ({info['nfe_per_sample']} network "
               f"evaluations per sample), validity {info['validity']:.3f}; wrote {sampling.out / 'candidates.csv'}")


@app.command()
def evaluate(
    candidates: Path = typer.Option(..., "--candidates", help="An `elucidate` output folder."),
    truth: Path = typer.Option(..., "--truth", help="JSON lines with id and smiles (e.g. the elucidate input)."),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON file (default CANDIDATES/evaluation.json)."),
) -> None:
    """Top-1/3/10 exact-structure accuracy (InChIKey connectivity layer; ranked and any of k samples), validity and
    mean top-1 Tanimoto; writes JSON."""
    import json

    from morphogen.spectra.evaluation import evaluate_folder

    res = evaluate_folder(candidates, truth, out)
    typer.echo(json.dumps({k: v for k, v in res.items() if k not in ("candidates", "truth")}, indent=1))


CHECKPOINT_DIR = Path(__file__).parent / "checkpoints"

plugin = DomainPlugin(name="spectra", app=app, checkpoint_dir=CHECKPOINT_DIR,
                      summary="Spectra: structure elucidation from spectra (DiffSpectra); GFN2-xTB IR spectrum sets.")

if __name__ == "__main__":
    app()
