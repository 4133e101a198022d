"""Generating music files with a trained model: reading an input piece onto the model's tracks, choosing the
tracks to generate, writing MIDI / MusicXML / piano roll with a report, and the demo. Used by ``morphogen music
generate``, the demo and notebooks.

A generated piece ``<stem>`` is ``OUT/<stem>.mid``, ``.musicxml``, ``.png`` and its index ``OUT/<stem>.json`` (the
report, and under ``files`` the names of the piece's files). Every file is written atomically (complete or absent,
:mod:`morphogen.utils.outputs`); the index is removed before the first file of the piece is written and written
last, so an index always lists the files of one complete generation, and a piece without one was interrupted
(e.g. by a full disk, which raises :class:`morphogen.utils.outputs.OutputWriteError` naming the file). Pieces of
other stems in the same folder are left alone (one folder collects many generations)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from morphogen.music.data.notes import NoteScore
    from morphogen.music.models.bundle import MusicModel
    from morphogen.music.models.repair import RepairConfig
    from morphogen.samplers.spec import SamplerSpec

SATB = ["soprano", "alto", "tenor", "bass"]
INDEX_SUFFIX = ".json"  # OUT/<stem>.json: the index of one generated piece
PIECE_SUFFIXES = (".mid", ".musicxml", ".png", INDEX_SUFFIX)  # the files of a piece, in the order written


def piece_files(out: str | Path, stem: str) -> list[Path]:
    """The files of the piece ``stem`` in ``out``: .mid, .musicxml, .png and last the index .json."""
    return [Path(out) / f"{stem}{suffix}" for suffix in PIECE_SUFFIXES]


def read_input(model: "MusicModel", path: str | Path) -> "NoteScore":
    """Read an input file onto the model's tracks (multi-track models read MIDI with the GETMusic mapping).

    Raises :class:`~morphogen.music.errors.MusicDataError` naming the file when it is not a readable MIDI /
    MusicXML file (:func:`morphogen.music.inputs.check_input_file`) or is longer than a generation takes
    (:data:`morphogen.music.inputs.MAX_COLUMNS`)."""
    from morphogen.music.data.chorales import read_score_file
    from morphogen.music.data.midi import infer_chord_track_of, read_midi
    from morphogen.music.inputs import check_input_file, check_length

    path = check_input_file(path)
    if "chord" in model.track_names and path.suffix.lower() in (".mid", ".midi"):
        score = read_midi(path, [t for t in model.track_names if t != "chord"], chord_track=False)
        check_length(score.end, str(path), model.steps_per_bar)  # before the chord inference, which scans it all
        score.tracks.append(infer_chord_track_of(score))
        return score
    score = read_score_file(path, model.track_names)
    check_length(score.end, str(path), model.steps_per_bar)
    return score


def parse_targets(text: str, tracks: Sequence[str]) -> list[str]:
    """``"alto,tenor,bass"`` -> the named tracks, each a track of the model and named once."""
    names = [t.strip().lower() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in tracks]
    if bad or not names:
        raise ValueError(f"unknown tracks {bad or repr(text)}; the model's tracks are {list(tracks)}")
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"tracks named more than once: {twice}")
    return names


def choose_targets(model: "MusicModel", score: "NoteScore | None", targets: str | None) -> list[str]:
    """The tracks to generate: ``targets`` when given, else every track the input lacks (all without an input)."""
    if targets is not None:  # given but empty is an error, not the default
        return parse_targets(targets, model.track_names)
    if score is None:
        return list(model.track_names)
    present = {t.name for t in score.tracks if t.notes}
    missing = [n for n in model.track_names if n not in present]
    if not missing:
        raise ValueError("the input has every track; name the tracks to regenerate")
    return missing


def write_generation(model: "MusicModel", score: "NoteScore | None", targets: Sequence[str], out: str | Path,
                     stem: str, *, seed: int = 0, sampler: "str | SamplerSpec | None" = None,
                     steps: int | None = None, repair: "RepairConfig | None" = None, length: int = 256,
                     **sampling) -> tuple[list[Path], dict]:
    """Generate ``targets`` for one score (or ``length`` columns from nothing when ``score`` is None or empty) and
    write ``OUT/<stem>.mid``, ``.musicxml``, a piano roll ``.png`` and last the index ``OUT/<stem>.json`` (the report
    and the files; see the module's docstring); returns (paths, report), the index last in paths. ``sampler``,
    ``steps``, ``repair`` and the other keyword arguments (``order``, ``temperature``, ``choice_noise``): see
    :meth:`MusicModel.generate` (none: the model's default setting)."""
    from morphogen.music.data.getscore import GETScore, decode, encode
    from morphogen.music.io import write_midi, write_musicxml, write_pianoroll
    from morphogen.utils.outputs import atomic_json, remove_stale

    out = Path(out)
    if score is not None and score.end > 0:
        gs = encode(score, model.vocab, model.track_names, model.drum_tracks, nearest=True)
        grid, n, report = gs.tokens, gs.length, dict(gs.report)
        time_signature = score.time_signature
    else:
        grid, n, report, time_signature = model.empty_grid(length).numpy(), length, {}, (4, 4)
    repair = model.default_repair() if repair is None else repair
    res = model.generate(grid, targets, sampler=sampler, steps=steps, seed=seed, lengths=[n], repair=repair,
                         **sampling)
    dec = decode(GETScore(res.tokens[0].numpy(), model.track_names, model.drum_tracks, time_signature, stem),
                 model.vocab, model.programs)
    out.mkdir(parents=True, exist_ok=True)
    mid, xml, png, index = piece_files(out, stem)
    remove_stale(out, index.name)
    paths = [write_midi(dec.score, mid), write_musicxml(dec.score, xml),
             write_pianoroll(dec.score, png, title=f"{stem}: generated {', '.join(targets)}",
                             highlight=list(targets))]
    shown = {k: v for k, v in res.sampler.args.items() if k != "rule"}
    report.update({"targets": list(targets), "sampler": res.sampler.name, **shown, **repair.as_options(),
                   "nfe": res.nfe, "repair": res.repair.as_dict() if res.repair is not None else None,
                   "missing_durations": dec.missing_durations, "orphan_durations": dec.orphan_durations})
    if list(model.track_names) == SATB:
        from morphogen.music.metrics.harmonization import HarmonizationMetrics

        m = HarmonizationMetrics(model.track_names, list(targets))
        m.update(dec.score)
        report["metrics"] = {k: v for k, v in m.compute().as_dict().items() if "overlap" not in k}
    paths.append(atomic_json(index, {**report, "files": [p.name for p in paths]}, indent=1))
    return paths, report


def run_demo(out_dir: str | Path, model: "MusicModel | None" = None, pieces: int = 3):
    """Harmonise the soprano of the first ``pieces`` held-out corpus chorales with the shipped ``chorales`` model and
    its default setting (confidence-ordered unmasking with MaskGIT's choice noise, 16 repair rounds, the last one
    rule-constrained: the setting that meets the voice-leading bar on every seed, benchmarks/results/
    music_heldout.md). Returns the demo row (:class:`morphogen.cli.plugins.DemoResult`)."""
    from morphogen.bundle import load
    from morphogen.cli.plugins import DemoResult
    from morphogen.music.data.chorales import load_corpus_chorales, read_score_file
    from morphogen.music.data.notes import NoteScore
    from morphogen.music.metrics.harmonization import HarmonizationMetrics
    from morphogen.utils.outputs import atomic_json, remove_stale

    t0 = time.time()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale(out_dir, "metrics.json")  # the summary of the demo, written last
    model = model if model is not None else load("chorales", domain="music")
    targets = ["alto", "tenor", "bass"]
    metrics = HarmonizationMetrics(model.track_names, targets)
    files = []
    for s in load_corpus_chorales("test")[:pieces]:
        melody = NoteScore([t if t.name == "soprano" else type(t)(t.name, [], t.program) for t in s.tracks],
                           s.time_signature, s.source)
        paths, _ = write_generation(model, melody, targets, out_dir, Path(s.source).stem, seed=0)
        files += [str(p) for p in paths]
        metrics.update(read_score_file(paths[0], model.track_names), reference=s)
    rep = metrics.compute()
    atomic_json(out_dir / "metrics.json", {**rep.as_dict(), "sampler": str(model.sampler_spec),
                                           **model.default_repair().as_options()}, indent=1)
    print(json.dumps(rep.as_dict(), indent=1))
    return DemoResult("music", f"{pieces} harmonised chorales (shipped chorales model, its default setting: "
                      f"{model.sampler_spec.args.get('order')} order, {model.repair.get('rounds', 0)} repair rounds"
                      f"{', the last rule-constrained' if model.repair.get('constrain') else ''}; parallels/100 "
                      f"{rep.parallels_per_100:.2f}, range {rep.range_share:.3f})", "chord share",
                      round(rep.chord_share, 3), time.time() - t0, files + [str(out_dir / "metrics.json")])
