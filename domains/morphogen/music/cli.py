"""``morphogen music ...``: train, generate, evaluate. Imports only typer and the core's plugin types at module level;
everything heavy is imported inside the commands."""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from morphogen.cli.options import TrainRequest, train_command
from morphogen.cli.plugins import DemoResult, DomainPlugin

if TYPE_CHECKING:
    from morphogen.music.models.repair import RepairConfig

app = typer.Typer(help="Symbolic music: any-track generation with masked discrete diffusion (GETMusic).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


def _threads() -> None:
    import os

    import torch

    torch.set_num_threads(int(os.environ.get("MORPHOGEN_THREADS", "1")))


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


# sampling options shared by `generate` and `evaluate` (one definition, so the two commands cannot drift apart)
_ORDER = typer.Option("ancestral", "--order", help="ancestral (default: every masked cell revealed independently) "
                      "| confidence (MaskGIT: the most probable cells first) | random; the last two reveal pitch "
                      "before duration, so the rows always agree.")
_TEMPERATURE = typer.Option(1.0, "--temperature", help="Divides the logits (1 = the model's distribution, < 1 "
                            "sharper).")
_CHOICE_NOISE = typer.Option(0.0, "--choice-noise", help="--order confidence: MaskGIT's annealed Gumbel noise on the "
                             "choice of cells (0 = greedy; MaskGIT uses 4.5).")
#: the demo's repair (and the setting the README recommends for harmonisation): RepairConfig arguments
DEMO_REPAIR = {"rounds": 16, "steps": 4, "context": 1, "constrain": True}
_REPAIR_ROUNDS = typer.Option(0, "--repair-rounds", help="Repair parallel fifths/octaves after sampling: up to N "
                              "rounds that re-mask the target-voice notes of each parallel and resample them with "
                              "the model (0 = off).")
_REPAIR_STEPS = typer.Option(4, "--repair-steps", help="Network evaluations per repair round.")
_REPAIR_CONTEXT = typer.Option(1, "--repair-context", help="Notes either side of an offending note re-masked with it.")
_REPAIR_GROWTH = typer.Option(0, "--repair-growth", help="Widen the re-masked window by this many notes either side "
                              "for each earlier round in a row that found a parallel at the same spot (0 = fixed "
                              "--repair-context).")
_REPAIR_ACCEPT = typer.Option("all", "--repair-accept", help="all (keep every refill: the model alone) | no-worse "
                              "(undo a piece's refill that added parallels: the model proposes, the parallel count "
                              "decides; a rule-based selection).")
_REPAIR_CONSTRAIN = typer.Option(False, "--repair-constrain", help="Make the last repair round a hard constraint: "
                                 "redraw each offending note's pitch among tokens that make no parallel (a rule-based "
                                 "filter; off by default).")


@app.command()
def generate(
    checkpoint: str = typer.Option(..., "--checkpoint", help="Model file or shipped model name."),
    input: Optional[Path] = typer.Option(None, "--input", help="A .mid / .musicxml / .mxl whose tracks are sources."),
    targets: Optional[str] = typer.Option(None, "--targets", help="Comma-separated tracks to generate "
                                          "(default: every track the input lacks; all tracks without --input)."),
    steps: int = typer.Option(100, "--steps", help="Sampling steps (network evaluations)."),
    out: Path = typer.Option(Path("outputs/music"), "--out", help="Output folder."),
    bars: int = typer.Option(16, "--bars", help="Length without --input."),
    seed: int = typer.Option(0, "--seed"),
    order: str = _ORDER,
    temperature: float = _TEMPERATURE,
    choice_noise: float = _CHOICE_NOISE,
    repair_rounds: int = _REPAIR_ROUNDS,
    repair_steps: int = _REPAIR_STEPS,
    repair_context: int = _REPAIR_CONTEXT,
    repair_constrain: bool = _REPAIR_CONSTRAIN,
    repair_growth: int = _REPAIR_GROWTH,
    repair_accept: str = _REPAIR_ACCEPT,
) -> None:
    """Generate target tracks given the input's other tracks; writes OUT/<stem>.mid, .musicxml and .png."""
    _threads()
    from morphogen.music.models.bundle import MusicModel

    model = MusicModel.load(checkpoint)
    if input is not None:
        score = read_input(model, input)
        present = [t.name for t in score.tracks if t.notes]
        tgt = _parse_targets(targets, model.track_names) if targets else [n for n in model.track_names
                                                                          if n not in present]
        if not tgt:
            raise typer.BadParameter("the input has every track; name the tracks to regenerate", param_hint="--targets")
        stem = input.stem
    else:
        from morphogen.music.data.notes import NoteScore, Track

        tgt = _parse_targets(targets, model.track_names) if targets else list(model.track_names)
        score = NoteScore([Track(n) for n in model.track_names], (4, 4), "scratch")
        stem = "generated"
    _check_sampling(order, temperature, choice_noise)
    repair = _repair_options(repair_rounds, repair_steps, repair_context, repair_constrain, repair_growth,
                             repair_accept)
    written, report = write_generation(model, score, tgt, steps, seed, out, stem, bars * model.steps_per_bar,
                                       order, temperature, choice_noise, repair)
    for w in written:
        typer.echo(str(w))
    typer.echo(json.dumps(report, indent=1))


def _check_sampling(order: str, temperature: float, choice_noise: float = 0.0) -> None:
    if order not in ("ancestral", "confidence", "random"):
        raise typer.BadParameter(f"{order!r} is not one of ancestral, confidence, random", param_hint="--order")
    if not temperature > 0:
        raise typer.BadParameter("must be positive", param_hint="--temperature")
    if choice_noise < 0:
        raise typer.BadParameter("must be >= 0", param_hint="--choice-noise")


def _repair_options(rounds: int, steps: int, context: int, constrain: bool, growth: int = 0,
                    accept: str = "all") -> "RepairConfig":
    """The ``--repair-*`` options as a :class:`RepairConfig` (a bad value names its option)."""
    from morphogen.music.models.repair import RepairConfig, RepairConfigError

    try:
        return RepairConfig(rounds, steps, context, constrain, growth, accept)
    except RepairConfigError as err:
        raise typer.BadParameter(str(err), param_hint=f"--repair-{err.setting}") from None


def _parse_targets(text: str, tracks: list[str]) -> list[str]:
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in tracks]
    if bad or not names:
        raise typer.BadParameter(f"unknown tracks {bad}; the model's tracks are {tracks}", param_hint="--targets")
    return names


def read_input(model, path: Path):
    """Read an input file onto the model's tracks (multi-track models read MIDI with the GETMusic mapping)."""
    from morphogen.music.data.chorales import read_score_file
    from morphogen.music.data.midi import read_midi

    if "chord" in model.track_names and path.suffix.lower() in (".mid", ".midi"):
        return read_midi(path, [t for t in model.track_names if t != "chord"], chord_track=True)
    return read_score_file(path, model.track_names)


def write_generation(model, score, targets, steps, seed, out: Path, stem: str, length: int,
                     order: str = "ancestral", temperature: float = 1.0, choice_noise: float = 0.0,
                     repair: "RepairConfig | None" = None):
    """Generate ``targets`` for one score and write MIDI, MusicXML and a piano roll; returns (paths, report).
    ``repair``: a :class:`morphogen.music.models.repair.RepairConfig` or None (see :meth:`MusicModel.generate`)."""
    from morphogen.music.data.getscore import GETScore, decode, encode
    from morphogen.music.io import write_midi, write_musicxml, write_pianoroll

    if score.end > 0:
        gs = encode(score, model.vocab, model.track_names, model.drum_tracks, nearest=True)
        grid, n = gs.tokens, gs.length
        report = dict(gs.report)
    else:
        grid, n, report = model.empty_grid(length).numpy(), length, {}
    res = model.generate(grid, targets, steps=steps, seed=seed, lengths=[n], order=order, temperature=temperature,
                         choice_noise=choice_noise, repair=repair)
    dec = decode(GETScore(res.tokens[0].numpy(), model.track_names, model.drum_tracks, score.time_signature, stem),
                 model.vocab, model.programs)
    out.mkdir(parents=True, exist_ok=True)
    paths = [write_midi(dec.score, out / f"{stem}.mid"), write_musicxml(dec.score, out / f"{stem}.musicxml"),
             write_pianoroll(dec.score, out / f"{stem}.png", title=f"{stem}: generated {', '.join(targets)}",
                             highlight=list(targets))]
    report.update({"targets": list(targets), "steps": steps, "order": order, "temperature": temperature,
                   "choice_noise": choice_noise, **(repair.as_options() if repair is not None else {}),
                   "nfe": res.nfe, "repair": res.repair.as_dict() if res.repair is not None else None,
                   "missing_durations": dec.missing_durations, "orphan_durations": dec.orphan_durations})
    if list(model.track_names) == ["soprano", "alto", "tenor", "bass"]:
        from morphogen.music.metrics.harmonization import HarmonizationMetrics

        m = HarmonizationMetrics(model.track_names, list(targets))
        m.update(dec.score)
        report["metrics"] = {k: v for k, v in m.compute().as_dict().items() if "overlap" not in k}
    return paths, report


@app.command()
def evaluate(
    checkpoint: str = typer.Option(..., "--checkpoint"),
    split: str = typer.Option("jsb-test", "--split", help="jsb-test | jsb-valid | jsb-train | chorales-test"),
    data: Optional[Path] = typer.Option(None, "--data", help="JSB folder (default $MORPHOGEN_TEST_DATA/music/jsb "
                                        "or ../shared/data/music/jsb)."),
    targets: str = typer.Option("alto,tenor,bass", "--targets"),
    steps: int = typer.Option(100, "--steps"),
    num_t: int = typer.Option(8, "--num-t", help="Stratified times per piece for the NLL bound."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Evaluate only the first N pieces."),
    out: Path = typer.Option(Path("outputs/music/metrics.json"), "--out", help="JSON file to write."),
    seed: int = typer.Option(0, "--seed"),
    order: str = _ORDER,
    temperature: float = _TEMPERATURE,
    choice_noise: float = _CHOICE_NOISE,
    repair_rounds: int = _REPAIR_ROUNDS,
    repair_steps: int = _REPAIR_STEPS,
    repair_context: int = _REPAIR_CONTEXT,
    repair_constrain: bool = _REPAIR_CONSTRAIN,
    repair_growth: int = _REPAIR_GROWTH,
    repair_accept: str = _REPAIR_ACCEPT,
) -> None:
    """NLL bound per 16th frame and harmonisation metrics (with Bach's pieces as reference); writes JSON."""
    _threads()
    from morphogen.music.evaluation import evaluate as run
    from morphogen.music.evaluation import load_split
    from morphogen.music.models.bundle import MusicModel

    _check_sampling(order, temperature, choice_noise)
    repair = _repair_options(repair_rounds, repair_steps, repair_context, repair_constrain, repair_growth,
                             repair_accept)
    model = MusicModel.load(checkpoint)
    if data is None and split.startswith("jsb"):
        import os

        data = Path(os.environ.get("MORPHOGEN_TEST_DATA", "../shared/data")) / "music" / "jsb"
    scores = load_split(split, data, limit)
    result = run(model, scores, _parse_targets(targets, model.track_names), steps, num_t, seed, order=order,
                 temperature=temperature, choice_noise=choice_noise, repair=repair)
    result["split"] = split
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    typer.echo(json.dumps(result, indent=1))
    typer.echo(f"wrote {out}")


def demo(out_dir: Path) -> DemoResult:
    """Harmonise the soprano of three held-out corpus chorales with the shipped ``chorales`` model (or, when it is
    not installed, with a small model trained here for a few minutes, said so in the result)."""
    import time

    _threads()
    from morphogen.music.data.chorales import load_corpus_chorales
    from morphogen.music.metrics.harmonization import HarmonizationMetrics
    from morphogen.music.models.bundle import MusicModel
    from morphogen.music.models.repair import RepairConfig

    t0 = time.time()
    try:
        model, produced = MusicModel.load("chorales"), "shipped chorales model"
    except FileNotFoundError:
        from morphogen.music.training import train as run

        res = run("chorales", out_dir / "quick-model", max_steps=300, batch_size=16,
                  denoiser_overrides={"d_model": 96, "layers": 3, "heads": 4, "d_token": 32}, progress=False)
        model, produced = res.model, "no shipped model: 300-step quick model"
    pieces = load_corpus_chorales("test")[:3]
    metrics = HarmonizationMetrics(model.track_names, ["alto", "tenor", "bass"])
    files = []
    for s in pieces:
        from morphogen.music.data.notes import NoteScore

        melody = NoteScore([t if t.name == "soprano" else type(t)(t.name, [], t.program) for t in s.tracks],
                           s.time_signature, s.source)
        # the settings that meet the voice-leading bar on every seed (benchmarks/results/music_heldout.md):
        # confidence-ordered unmasking with MaskGIT's choice noise, 15 repair rounds refilled by the model, and a
        # last round that redraws the pitch of any note still in a parallel among pitches that make none
        paths, _ = write_generation(model, melody, ["alto", "tenor", "bass"], 50, 0, out_dir, Path(s.source).stem, 0,
                                    order="confidence", choice_noise=4.5, repair=RepairConfig(**DEMO_REPAIR))
        files += [str(p) for p in paths]
        from morphogen.music.data.chorales import read_score_file

        metrics.update(read_score_file(paths[0], model.track_names), reference=s)
    rep = metrics.compute()
    typer.echo(json.dumps(rep.as_dict(), indent=1))
    return DemoResult("music", f"3 harmonised chorales ({produced}; confidence order, 16 repair rounds, the last "
                      "rule-constrained; "
                      f"parallels/100 {rep.parallels_per_100:.2f}, range {rep.range_share:.3f})", "chord share",
                      round(rep.chord_share, 3),
                      time.time() - t0, files)


def _shipped_model_present() -> bool:
    return (Path(__file__).parent / "checkpoints" / "chorales.safetensors").is_file()


# the demo joins `morphogen demo` once the trained `chorales` checkpoint ships with the package
plugin = DomainPlugin(name="music", app=app, demo=demo if _shipped_model_present() else None,
                      summary="Symbolic music: GETMusic any-track generation (chorales, JSB, multi-track MIDI).",
                      checkpoint_dir=Path(__file__).parent / "checkpoints",
                      legacy="morphogen.music.models.bundle:upgrade_legacy")

if __name__ == "__main__":
    app()
