"""``morphogen music ...``: train, generate, evaluate. Imports only typer and the core's plugin types at module level;
everything heavy is imported inside the commands."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from morphogen.cli.options import SAMPLER_HELP, SamplingOptions, TrainRequest, sampling_command, train_command
from morphogen.cli.plugins import DemoResult, DomainPlugin

if TYPE_CHECKING:
    from morphogen.music.models.repair import RepairConfig

app = typer.Typer(help="Symbolic music: any-track generation with masked discrete diffusion (GETMusic).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command()
@train_command
def train(
    request: TrainRequest,
    limit: Optional[int] = typer.Option(None, "--limit", help="Use only the first N pieces of each split."),
    d_model: Optional[int] = typer.Option(None, "--d-model", help="Override the denoiser width."),
    layers: Optional[int] = typer.Option(None, "--layers", help="Override the number of transformer blocks."),
    heads: Optional[int] = typer.Option(None, "--heads", help="Override the number of attention heads."),
) -> None:
    """Train a model (presets chorales | chorales_gpu | jsb | multitrack; --data: a JSB JSON folder, a MIDI folder,
    or a prepared .json / .json.gz from `prepare`); writes OUT/model.safetensors and OUT/run/ (resumed)."""
    from morphogen.music.training import train as run
    from morphogen.utils.threads import configure_threads

    configure_threads()
    over = {k: v for k, v in {"d_model": d_model, "layers": layers, "heads": heads}.items() if v is not None}
    res = run(request.preset, request.out_dir("music"), request.data, limit, over, request.options)
    log = sorted(res.run_dir.glob("logs/version_*/metrics.csv"))
    typer.echo(f"trained {res.steps} steps; model: {res.model_path}; log: {log[-1] if log else 'none'}")


@app.command()
def prepare(
    preset: str = typer.Option(..., "--preset", help="chorales | jsb | multitrack, or a YAML path."),
    data: Optional[Path] = typer.Option(None, "--data", help="Data folder the preset's reader needs (JSB JSON "
                                        "folder, MIDI folder); not for chorales (the music21 corpus)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Keep only the first N pieces of each split."),
    out: Path = typer.Option(..., "--out", help="The .json or .json.gz file to write."),
) -> None:
    """Read a preset's training and validation pieces and write them as plain JSON, for `train --data FILE`
    on a machine without music21."""
    from morphogen.music.data.prepared import is_prepared_path
    from morphogen.music.training import prepare as run

    if not is_prepared_path(out):
        raise typer.BadParameter("must end in .json or .json.gz", param_hint="--out")
    path = run(preset, out, data, limit)
    from morphogen.music.data.prepared import load_prepared

    tr, va, _ = load_prepared(path)
    typer.echo(f"wrote {path}: {len(tr)} training and {len(va)} validation pieces")


# music's own sampling options, shared by `generate` and `evaluate` (one definition, so the two cannot drift apart);
# each refines the model's default sampler (None: as the model says)
_ORDER = typer.Option(None, "--order", help="ancestral (every masked cell revealed independently) | confidence "
                      "(MaskGIT: the most probable cells first) | random; the last two are the core `unmask` sampler "
                      "and reveal pitch before duration, so the rows always agree (default: the model's).")
_TEMPERATURE = typer.Option(None, "--temperature", help="Divides the logits (1 = the model's distribution, < 1 "
                            "sharper; default: the model's).")
_CHOICE_NOISE = typer.Option(None, "--choice-noise", help="--order confidence: MaskGIT's annealed Gumbel noise on "
                             "the choice of cells (0 = greedy; MaskGIT uses 4.5; default: the model's).")
_REPAIR_ROUNDS = typer.Option(None, "--repair-rounds", help="Repair parallel fifths/octaves after sampling: up to N "
                              "rounds that re-mask the target-voice notes of each parallel and resample them with "
                              "the model (0 = off; default: the model's).")
_REPAIR_STEPS = typer.Option(None, "--repair-steps", help="Network evaluations per repair round.")
_REPAIR_CONTEXT = typer.Option(None, "--repair-context", help="Notes either side of an offending note re-masked "
                               "with it.")
_REPAIR_GROWTH = typer.Option(None, "--repair-growth", help="Widen the re-masked window by this many notes either "
                              "side for each earlier round in a row that found a parallel at the same spot (0 = "
                              "fixed --repair-context).")
_REPAIR_ACCEPT = typer.Option(None, "--repair-accept", help="all (keep every refill: the model alone) | no-worse "
                              "(undo a piece's refill that added parallels: the model proposes, the parallel count "
                              "decides; a rule-based selection).")
_REPAIR_CONSTRAIN = typer.Option(None, "--repair-constrain/--no-repair-constrain", help="Make the last repair round "
                                 "a hard constraint: redraw each offending note's pitch among tokens that make no "
                                 "parallel (a rule-based filter).")


def _repair(model, **options) -> "RepairConfig":
    """The model's default repair with the given ``--repair-*`` options changed (a bad value names its option)."""
    from morphogen.music.models.repair import RepairConfig, RepairConfigError

    try:
        return RepairConfig(**{**model.repair, **{k: v for k, v in options.items() if v is not None}})
    except RepairConfigError as err:
        raise typer.BadParameter(str(err), param_hint=f"--repair-{err.setting}") from None


def _spec(model, sampler, steps, order, temperature, choice_noise):
    """Check the sampling options against the model before any work (a bad value names its option)."""
    if temperature is not None and not temperature > 0:
        raise typer.BadParameter("must be positive", param_hint="--temperature")
    if choice_noise is not None and choice_noise < 0:
        raise typer.BadParameter("must be >= 0", param_hint="--choice-noise")
    try:
        spec = model.sampling(sampler, steps, order, temperature, choice_noise)
        spec.build().check(model.process)
    except (ValueError, TypeError) as err:
        hint = "--order" if "order" in str(err) and order is not None else "--sampler"
        raise typer.BadParameter(str(err), param_hint=hint) from None
    return spec


def _load(checkpoint: str):
    from morphogen.bundle import load

    try:
        return load(checkpoint, domain="music")
    except FileNotFoundError as err:
        raise typer.BadParameter(str(err), param_hint="--checkpoint") from None


@app.command()
@sampling_command(out_default=Path("outputs/music"))
def generate(
    sampling: SamplingOptions,
    input: Optional[Path] = typer.Option(None, "--input", help="A .mid / .musicxml / .mxl whose tracks are sources."),
    targets: Optional[str] = typer.Option(None, "--targets", help="Comma-separated tracks to generate "
                                          "(default: every track the input lacks; all tracks without --input)."),
    bars: int = typer.Option(16, "--bars", min=1, help="Length without --input."),
    order: Optional[str] = _ORDER,
    temperature: Optional[float] = _TEMPERATURE,
    choice_noise: Optional[float] = _CHOICE_NOISE,
    repair_rounds: Optional[int] = _REPAIR_ROUNDS,
    repair_steps: Optional[int] = _REPAIR_STEPS,
    repair_context: Optional[int] = _REPAIR_CONTEXT,
    repair_constrain: Optional[bool] = _REPAIR_CONSTRAIN,
    repair_growth: Optional[int] = _REPAIR_GROWTH,
    repair_accept: Optional[str] = _REPAIR_ACCEPT,
) -> None:
    """Generate target tracks given the input's other tracks (with no sampling options: the model's default
    sampler and repair, for the shipped chorales model the measured best); writes OUT/<stem>.mid, .musicxml, .png."""
    from morphogen.music.generation import choose_targets, read_input, write_generation
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = _load(sampling.checkpoint)
    spec = _spec(model, sampling.sampler, sampling.steps, order, temperature, choice_noise)
    repair = _repair(model, rounds=repair_rounds, steps=repair_steps, context=repair_context,
                     constrain=repair_constrain, growth=repair_growth, accept=repair_accept)
    if sampling.device:
        model.to(sampling.device)
    score = read_input(model, input) if input is not None else None
    try:
        tgt = choose_targets(model, score, targets)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--targets") from None
    stem = input.stem if input is not None else "generated"
    written, report = write_generation(model, score, tgt, sampling.out, stem, seed=sampling.seed, sampler=spec,
                                       repair=repair, length=bars * model.steps_per_bar)
    for w in written:
        typer.echo(str(w))
    typer.echo(json.dumps(report, indent=1))


@app.command()
def evaluate(
    checkpoint: str = typer.Option(..., "--checkpoint", help="A model file, run folder or shipped model name."),
    split: str = typer.Option("jsb-test", "--split", help="jsb-test | jsb-valid | jsb-train | chorales-test"),
    data: Optional[Path] = typer.Option(None, "--data", help="JSB folder (default: <data root>/music/jsb, the data "
                                        "root being $MORPHOGEN_DATA, $MORPHOGEN_TEST_DATA or ../shared/data)."),
    targets: str = typer.Option("alto,tenor,bass", "--targets"),
    steps: Optional[int] = typer.Option(None, "--steps", help="Sampler steps (default: the model's)."),
    sampler: Optional[str] = typer.Option(None, "--sampler", help=SAMPLER_HELP),
    num_t: int = typer.Option(8, "--num-t", min=1, help="Stratified times per piece for the NLL bound."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate only the first N pieces."),
    out: Path = typer.Option(Path("outputs/music/metrics.json"), "--out", help="JSON file to write."),
    seed: int = typer.Option(0, "--seed"),
    order: Optional[str] = _ORDER,
    temperature: Optional[float] = _TEMPERATURE,
    choice_noise: Optional[float] = _CHOICE_NOISE,
    repair_rounds: Optional[int] = _REPAIR_ROUNDS,
    repair_steps: Optional[int] = _REPAIR_STEPS,
    repair_context: Optional[int] = _REPAIR_CONTEXT,
    repair_constrain: Optional[bool] = _REPAIR_CONSTRAIN,
    repair_growth: Optional[int] = _REPAIR_GROWTH,
    repair_accept: Optional[str] = _REPAIR_ACCEPT,
) -> None:
    """NLL bound per 16th frame and harmonisation metrics (with Bach's pieces as reference); writes JSON."""
    from morphogen.music.evaluation import evaluate as run
    from morphogen.music.evaluation import load_split
    from morphogen.music.generation import parse_targets
    from morphogen.utils.resources import data_root
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = _load(checkpoint)
    spec = _spec(model, sampler, steps, order, temperature, choice_noise)
    repair = _repair(model, rounds=repair_rounds, steps=repair_steps, context=repair_context,
                     constrain=repair_constrain, growth=repair_growth, accept=repair_accept)
    try:
        tgt = parse_targets(targets, model.track_names)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--targets") from None
    if data is None and split.startswith("jsb"):
        data = data_root() / "music" / "jsb"
    scores = load_split(split, data, limit)
    result = run(model, scores, tgt, num_t=num_t, seed=seed, repair=repair, sampler=spec)
    result["split"] = split
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    typer.echo(json.dumps(result, indent=1))
    typer.echo(f"wrote {out}")


def demo(out_dir: Path) -> DemoResult:
    """Harmonise the soprano of three held-out corpus chorales with the shipped ``chorales`` model and its default
    setting (:func:`morphogen.music.generation.run_demo`)."""
    from morphogen.music.generation import run_demo
    from morphogen.utils.threads import configure_threads

    configure_threads()
    return run_demo(out_dir)


def _shipped_model_present() -> bool:
    return (Path(__file__).parent / "checkpoints" / "chorales.safetensors").is_file()


# the demo needs the shipped `chorales` checkpoint
plugin = DomainPlugin(name="music", app=app, demo=demo if _shipped_model_present() else None,
                      summary="Symbolic music: GETMusic any-track generation (chorales, JSB, multi-track MIDI).",
                      checkpoint_dir=Path(__file__).parent / "checkpoints",
                      legacy="morphogen.music.models.bundle:upgrade_legacy")

if __name__ == "__main__":
    app()
