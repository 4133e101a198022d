"""What music adds to the core's training: reading a preset's pieces, the vocabulary, the GETScore dataset, and
the model built for that vocabulary; the fit itself is :func:`morphogen.train.entry.train_bundle`.

Used by ``morphogen music train``; everything it does is available to a notebook too.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from morphogen.music.data.notes import NoteScore
from morphogen.music.errors import MusicDataError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
READERS = ("chorales", "jsb", "multitrack")


def load_preset(name_or_path: str):
    """A preset by name (``chorales``, ``chorales_gpu``, ``jsb``, ``multitrack``: the YAML files of ``presets/``) or
    path, in the core schema (:class:`morphogen.bundle.Preset`); ``data.reader`` must be one of :data:`READERS`."""
    from morphogen.bundle.preset import PresetError
    from morphogen.bundle.preset import load_preset as _load

    preset = _load(name_or_path, PRESET_DIR, "music")
    if preset.data.get("reader") not in READERS:
        raise PresetError(f"{preset.source}: data.reader must be one of {READERS}, got {preset.data.get('reader')!r}")
    if not preset.data.get("tracks"):
        raise PresetError(f"{preset.source}: data.tracks must list the tracks")
    return preset


@dataclass
class TrainingData:
    """Training and validation pieces of a preset (``val`` may be empty)."""

    train: list[NoteScore]
    val: list[NoteScore]


def load_training_data(preset: dict, data_dir: str | Path | None = None, limit: int | None = None) -> TrainingData:
    """The pieces a preset trains on. ``data_dir`` naming a prepared file (``.json`` / ``.json.gz`` from ``morphogen
    music prepare``) is read for any reader, without music21; otherwise ``chorales``: the music21 corpus (train /
    held-out test split); ``jsb``: the JSON in ``data_dir`` (train / valid); ``multitrack``: every MIDI file of
    ``data_dir`` (no validation split)."""
    from morphogen.music.data.prepared import is_prepared_path, load_prepared

    reader = preset.data["reader"]
    if is_prepared_path(data_dir) and not (reader == "jsb" and Path(data_dir).name == "Jsb16thSeparated.json"):
        tr, va, _ = load_prepared(data_dir, list(preset.data["tracks"]))
        return TrainingData(tr[:limit] if limit else tr, va[:limit] if limit else va)
    from morphogen.music.data.chorales import load_corpus_chorales, load_jsb
    from morphogen.music.data.midi import read_midi_folder

    if reader == "chorales":
        return TrainingData(load_corpus_chorales("train", limit=limit), load_corpus_chorales("test", limit=limit))
    if data_dir is None:
        raise MusicDataError(f"preset reader '{reader}' needs --data DIR")
    if reader == "jsb":
        tr, va = load_jsb(data_dir, "train"), load_jsb(data_dir, "valid")
        return TrainingData(tr[:limit] if limit else tr, va[:limit] if limit else va)
    tracks = [t for t in preset.data["tracks"] if t != "chord"]
    scores = read_midi_folder(data_dir, tracks, chord_track="chord" in preset.data["tracks"])
    return TrainingData(scores[:limit] if limit else scores, [])


def prepare(preset_name: str, out: str | Path, data_dir: str | Path | None = None, limit: int | None = None) -> Path:
    """Read a preset's training and validation pieces (music21 / MIDI / JSB readers) and write them as a prepared
    JSON file that :func:`train` reads with ``data_dir=out`` (no music21 needed there)."""
    from morphogen.music.data.prepared import is_prepared_path, save_prepared

    if is_prepared_path(data_dir):
        raise ValueError(f"{data_dir}: already a prepared file")
    preset = load_preset(preset_name)
    data = load_training_data(preset, data_dir, limit)
    if not data.train:
        raise MusicDataError(f"preset '{preset_name}': no training pieces found")
    return save_prepared(out, data.train, data.val, preset_name, list(preset.data["tracks"]))


def build_model(preset, vocab, denoiser_overrides: dict | None = None):
    """A fresh :class:`MusicModel` for a preset and vocabulary (the vocabulary-dependent arguments of process and
    denoiser filled in)."""
    from morphogen.bundle.model import BundleMetadata
    from morphogen.music.data.chorales import VOICE_PROGRAMS
    from morphogen.music.data.dataset import FIELD
    from morphogen.music.data.midi import DEFAULT_PROGRAMS
    from morphogen.music.data.vocabulary import PAD
    from morphogen.music.models.bundle import MusicModel
    from morphogen.utils.config import build

    tracks = list(preset.data["tracks"])
    pspec = copy.deepcopy(preset.process)
    procs = pspec.get("args", {}).get("processes", {})
    if list(procs) != [FIELD]:
        raise ValueError(f"{preset.source}: the process must have the one field '{FIELD}', got {list(procs)}")
    procs[FIELD].setdefault("args", {})["num_classes"] = len(vocab)
    dspec = copy.deepcopy(preset.denoiser)
    pa, da = vocab.row_allowed()
    dspec.setdefault("args", {}).update({"vocab_size": len(vocab), "num_tracks": len(tracks), "pad_id": PAD,
                                         "pitch_allowed": pa, "duration_allowed": da, "field": FIELD,
                                         **(denoiser_overrides or {})})
    programs = {t: VOICE_PROGRAMS.get(t, DEFAULT_PROGRAMS.get(t, 0)) for t in tracks}
    return MusicModel(process=build(pspec), denoiser=build(dspec), sampler=preset.sampler,
                      metadata=BundleMetadata(preset=preset.name), vocab=vocab, track_names=tracks,
                      drum_tracks=["drums"] if "drums" in tracks else [], programs=programs,
                      repair=dict(preset.data.get("repair", {})))


def train(preset_name: str, out_dir: str | Path, data_dir: str | Path | None = None, limit: int | None = None,
          denoiser_overrides: dict | None = None, options=None, **trainer_kwargs):
    """Train on a preset's data through the core's :func:`morphogen.train.entry.train_bundle`; writes
    ``out_dir/model.safetensors`` (EMA weights + configuration) and ``out_dir/run/`` (logs, resumable checkpoint).

    ``data_dir`` may name a prepared file (:func:`prepare`); then music21 is not imported. ``limit`` keeps the first
    ``limit`` pieces of each split (quick runs); ``denoiser_overrides`` replace denoiser arguments (e.g.
    ``{"d_model": 64, "layers": 2}``). ``options``: :class:`morphogen.train.options.TrainOptions` (hardware, time
    budget, overrides of the preset's batch size, steps, learning rate and seed). Other keyword arguments go to the
    Lightning Trainer. Returns :class:`morphogen.train.entry.TrainResult`.
    """
    preset = load_preset(preset_name)
    d = preset.data
    data = load_training_data(preset, data_dir, limit)  # a bad data file is refused before Lightning is imported
    if not data.train:
        raise MusicDataError(f"preset '{preset_name}': no training pieces found")

    import lightning as L

    from morphogen.music.data.dataset import DrawSampler, GETScoreDataset, build_vocabulary
    from morphogen.train.entry import TrainData, fingerprint, resolved_config, train_bundle
    from morphogen.train.options import TrainOptions

    options = options or TrainOptions()
    cfg = resolved_config(preset.train, options)
    seed = cfg.seed
    L.seed_everything(seed, workers=True, verbose=False)
    trans = list(d.get("transpositions", [0]))
    vocab = build_vocabulary(data.train, trans, int(d.get("max_duration", 64)), int(d.get("min_count", 1)))
    model = build_model(preset, vocab, denoiser_overrides)
    drums = model.drum_tracks
    nearest = int(d.get("min_count", 1)) > 1
    train_ds = GETScoreDataset(data.train, vocab, model.track_names, int(d["length"]), trans,
                               int(d.get("items_per_score", 1)), True, None, float(d.get("p_all", 0.2)), seed, drums,
                               nearest)
    val_ds = None
    if data.val:
        val_ds = GETScoreDataset(data.val, vocab, model.track_names, int(d["length"]), (0,), 1, False,
                                 d.get("val_targets"), 0.0, seed, drums, nearest=True)
    sources = [p.source for p in data.train] + [p.source for p in data.val]
    td = TrainData(train_ds, val_ds, shuffle=DrawSampler, fingerprint=fingerprint({"pieces": sources, "data": d}),
                   description=f"{len(data.train)} training and {len(data.val)} validation pieces, vocabulary "
                               f"{len(vocab)} tokens")
    return train_bundle(model, td, preset.train, out_dir, options, **trainer_kwargs)
