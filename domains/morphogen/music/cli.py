"""``morphogen music ...``: train, generate, evaluate. Imports only typer and the core's plugin types at module level;
everything heavy is imported inside the commands."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import typer

from morphogen.cli.options import (
    SAMPLER_HELP, SamplingOptions, TrainRequest, add_options, load_checkpoint, option, sampling_command, train_command,
)
from morphogen.cli.plugins import DemoResult, DomainPlugin


app = typer.Typer(help="Symbolic music: any-track generation with masked discrete diffusion (GETMusic).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


@app.command()
@train_command
def train(
    request: TrainRequest,
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N pieces of each split."),
    d_model: Optional[int] = typer.Option(None, "--d-model", min=1, help="Override the denoiser width."),
    layers: Optional[int] = typer.Option(None, "--layers", min=1, help="Override the number of transformer blocks."),
    heads: Optional[int] = typer.Option(None, "--heads", min=1, help="Override the number of attention heads."),
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
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Keep only the first N pieces of each split."),
    out: Path = typer.Option(..., "--out", help="The .json or .json.gz file to write."),
) -> None:
    """Read a preset's training and validation pieces and write them as plain JSON, for `train --data FILE`
    on a machine without music21."""
    if not out.name.lower().endswith((".json", ".json.gz")):  # before the (heavy) data modules are imported
        raise typer.BadParameter("must end in .json or .json.gz", param_hint="--out")
    from morphogen.music.training import prepare as run

    path = run(preset, out, data, limit)
    from morphogen.music.data.prepared import load_prepared

    tr, va, _ = load_prepared(path)
    typer.echo(f"wrote {path}: {len(tr)} training and {len(va)} validation pieces")


ORDERS = ("ancestral", "confidence", "random")  # --order (MusicModel.sampling; the last two: the core unmask sampler)
REPAIR_ACCEPT = ("all", "no-worse")  # --repair-accept (morphogen.music.models.repair.ACCEPT)


@dataclass(frozen=True)
class MusicSettings:
    """Music's own sampling options (shared by `generate` and `evaluate`), each refining the model's default:
    ``order``, ``temperature``, ``choice_noise`` (see :meth:`MusicModel.sampling`) and the ``repair_*`` options
    (:class:`morphogen.music.models.repair.RepairConfig` fields; None: the model's)."""

    order: Optional[str] = None
    temperature: Optional[float] = None
    choice_noise: Optional[float] = None
    repair: dict = field(default_factory=dict)

    def check(self) -> None:
        """The checks that need no model (run before it is loaded): a bad value names its option."""
        if self.temperature is not None and not (math.isfinite(self.temperature) and self.temperature > 0):
            raise typer.BadParameter(f"must be a positive number, got {self.temperature}", param_hint="--temperature")
        if self.choice_noise is not None and not (math.isfinite(self.choice_noise) and self.choice_noise >= 0):
            raise typer.BadParameter(f"must be a number >= 0, got {self.choice_noise}", param_hint="--choice-noise")
        if self.order is not None and self.order not in ORDERS:
            raise typer.BadParameter(f"must be one of {', '.join(ORDERS)}, got {self.order!r}", param_hint="--order")
        accept = self.repair.get("accept")
        if accept is not None and accept not in REPAIR_ACCEPT:
            raise typer.BadParameter(f"must be one of {', '.join(REPAIR_ACCEPT)}, got {accept!r}",
                                     param_hint="--repair-accept")

    def resolve(self, model, sampler: Optional[str], steps: Optional[int]):
        """(sampler spec, RepairConfig) for ``model``, checked before any work (a bad value names its option)."""
        from morphogen.music.models.repair import RepairConfig, RepairConfigError

        self.check()
        try:
            spec = model.sampling(sampler, steps, self.order, self.temperature, self.choice_noise)
            spec.build().check(model.process)
        except (ValueError, TypeError) as err:
            hint = "--order" if "order" in str(err) and self.order is not None else "--sampler"
            raise typer.BadParameter(str(err), param_hint=hint) from None
        try:
            repair = RepairConfig(**{**model.repair, **{k: v for k, v in self.repair.items() if v is not None}})
        except RepairConfigError as err:
            raise typer.BadParameter(str(err), param_hint=f"--repair-{err.setting}") from None
        return spec, repair


def _music_params():
    O = typer.Option  # noqa: N806
    return [
        option("order", Optional[str], O(None, "--order", help="ancestral (every masked cell revealed independently) | "
               "confidence (MaskGIT: the most probable cells first) | random; the last two are the core `unmask` "
               "sampler and reveal pitch before duration, so the rows always agree (default: the model's).")),
        option("temperature", Optional[float], O(None, "--temperature", help="Divides the logits (1 = the model's "
               "distribution, < 1 sharper; default: the model's).")),
        option("choice_noise", Optional[float], O(None, "--choice-noise", help="--order confidence: MaskGIT's "
               "annealed Gumbel noise on the choice of cells (0 = greedy; MaskGIT uses 4.5; default: the model's).")),
        option("repair_rounds", Optional[int], O(None, "--repair-rounds", min=0, help="Repair parallel fifths/octaves after "
               "sampling: up to N rounds that re-mask the target-voice notes of each parallel and resample them with "
               "the model (0 = off; default: the model's).")),
        option("repair_steps", Optional[int], O(None, "--repair-steps", min=1, help="Network evaluations per repair round.")),
        option("repair_context", Optional[int], O(None, "--repair-context", min=0, help="Notes either side of an offending "
               "note re-masked with it.")),
        option("repair_constrain", Optional[bool], O(None, "--repair-constrain/--no-repair-constrain", help="Make the "
               "last repair round a hard constraint: redraw each offending note's pitch among tokens that make no "
               "parallel (a rule-based filter).")),
        option("repair_growth", Optional[int], O(None, "--repair-growth", min=0, help="Widen the re-masked window by this "
               "many notes either side for each earlier round in a row that found a parallel at the same spot (0 = "
               "fixed --repair-context).")),
        option("repair_accept", Optional[str], O(None, "--repair-accept", help="all (keep every refill: the model "
               "alone) | no-worse (undo a piece's refill that added parallels: the model proposes, the parallel "
               "count decides; a rule-based selection).")),
    ]


def _music_settings(v: dict) -> MusicSettings:
    return MusicSettings(v["order"], v["temperature"], v["choice_noise"],
                         {k[len("repair_"):]: x for k, x in v.items() if k.startswith("repair_")})


def music_options(fn):
    """Give a command music's sampling options; ``fn`` takes ``settings: MusicSettings``."""
    return add_options(fn, "settings", _music_params(), _music_settings)


def _check_target_list(text: Optional[str]) -> None:
    """A --targets list given but naming no track, or a track twice, is refused before the model is loaded."""
    if text is None:
        return
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    if not names:
        raise typer.BadParameter(f"names no track (got {text!r}); give comma-separated track names",
                                 param_hint="--targets")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise typer.BadParameter(f"tracks named more than once: {', '.join(twice)}", param_hint="--targets")


def _check_not_overwriting(out: Path, input: Path) -> None:
    """--out the input's folder: the piece takes the input's stem, so <stem>.mid (or .musicxml) would replace the
    input; refused before the model is loaded."""
    from morphogen.music.generation import piece_files
    from morphogen.utils.outputs import OutputError, check_not_inputs

    try:
        check_not_inputs(piece_files(out, input.stem), [input])
    except OutputError as err:
        raise typer.BadParameter(str(err), param_hint="--out") from None


@app.command()
@sampling_command(out_default=Path("outputs/music"))
@music_options
def generate(
    sampling: SamplingOptions,
    settings: MusicSettings,
    input: Optional[Path] = typer.Option(None, "--input", help="A .mid / .musicxml / .mxl whose tracks are sources."),
    targets: Optional[str] = typer.Option(None, "--targets", help="Comma-separated tracks to generate "
                                          "(default: every track the input lacks; all tracks without --input)."),
    bars: int = typer.Option(16, "--bars", min=1, help="Length without --input."),
) -> None:
    """Generate target tracks given the input's other tracks (with no sampling options: the model's default
    sampler and repair, for the shipped chorales model the measured best); writes OUT/<stem>.mid, .musicxml, .png and
    last OUT/<stem>.json (the report and the files: a piece with it is complete)."""
    from morphogen.music.inputs import check_input_file, max_bars

    # everything that needs no model first, so that a bad option or file is refused at once
    settings.check()
    _check_target_list(targets)
    if input is not None:
        check_input_file(input)
        _check_not_overwriting(sampling.out, input)
    from morphogen.music.generation import choose_targets, read_input, write_generation
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = load_checkpoint(sampling.checkpoint, "music", device=sampling.device)
    if input is None and bars > max_bars(model.steps_per_bar):
        raise typer.BadParameter(f"at most {max_bars(model.steps_per_bar)} bars (a generation is limited to "
                                 f"{max_bars(model.steps_per_bar) * model.steps_per_bar} sixteenth-note columns), "
                                 f"got {bars}", param_hint="--bars")
    spec, repair = settings.resolve(model, sampling.sampler, sampling.steps)
    try:
        tgt = choose_targets(model, None, targets) if targets is not None else None
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--targets") from None
    score = read_input(model, input) if input is not None else None
    if tgt is None:
        try:
            tgt = choose_targets(model, score, None)
        except ValueError as err:
            raise typer.BadParameter(str(err), param_hint="--targets") from None
    stem = input.stem if input is not None else "generated"
    written, report = write_generation(model, score, tgt, sampling.out, stem, seed=sampling.seed, sampler=spec,
                                       repair=repair, length=bars * model.steps_per_bar)
    for w in written:
        typer.echo(str(w))
    typer.echo(json.dumps(report, indent=1))


@app.command()
@music_options
def evaluate(
    settings: MusicSettings,
    checkpoint: str = typer.Option(..., "--checkpoint", help="A model file, run folder or shipped model name."),
    split: str = typer.Option("jsb-test", "--split", help="jsb-test | jsb-valid | jsb-train | chorales-test"),
    data: Optional[Path] = typer.Option(None, "--data", help="JSB folder (default: <data root>/music/jsb, the data "
                                        "root being $MORPHOGEN_DATA, $MORPHOGEN_TEST_DATA or ../shared/data)."),
    targets: str = typer.Option("alto,tenor,bass", "--targets"),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Sampler steps (default: the model's)."),
    sampler: Optional[str] = typer.Option(None, "--sampler", help=SAMPLER_HELP),
    num_t: int = typer.Option(8, "--num-t", min=1, help="Stratified times per piece for the NLL bound."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Evaluate only the first N pieces."),
    out: Path = typer.Option(Path("outputs/music/metrics.json"), "--out", help="JSON file to write."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """NLL bound per 16th frame and harmonisation metrics (with Bach's pieces as reference); writes JSON."""
    from morphogen.music.inputs import EVALUATION_SPLITS

    if split not in EVALUATION_SPLITS:  # the checks that need no model, before torch is imported
        raise typer.BadParameter(f"must be one of {', '.join(EVALUATION_SPLITS)}, got {split!r}",
                                 param_hint="--split")
    settings.check()
    _check_target_list(targets)
    from morphogen.music.evaluation import evaluate as run
    from morphogen.music.evaluation import load_split
    from morphogen.music.generation import parse_targets
    from morphogen.utils.resources import data_root
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = load_checkpoint(checkpoint, "music")
    spec, repair = settings.resolve(model, sampler, steps)
    try:
        tgt = parse_targets(targets, model.track_names)
    except ValueError as err:
        raise typer.BadParameter(str(err), param_hint="--targets") from None
    if data is None and split.startswith("jsb"):
        data = data_root() / "music" / "jsb"
    scores = load_split(split, data, limit)
    result = run(model, scores, tgt, num_t=num_t, seed=seed, repair=repair, sampler=spec)
    result["split"] = split
    from morphogen.utils.outputs import atomic_json

    atomic_json(out, result, indent=1)
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
