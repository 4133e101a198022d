"""Training a GETMusic model from a preset: data, vocabulary, process, denoiser, Lightning fit, model export.

Used by ``morphogen music train`` and the demo; everything it does is available to a notebook too.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any


from morphogen.music.data.notes import MusicDataError, NoteScore

PRESET_DIR = Path(__file__).resolve().parent / "presets"
READERS = ("chorales", "jsb", "multitrack")


def load_preset(name_or_path: str) -> dict:
    """A preset by name (``chorales``, ``jsb``, ``multitrack``: the YAML files of ``presets/``) or path."""
    from morphogen.utils.resources import load_preset as _load

    preset = _load(name_or_path, PRESET_DIR, "music")
    if preset.get("data", {}).get("reader") not in READERS:
        raise ValueError(f"preset '{name_or_path}': data.reader must be one of {READERS}")
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

    reader = preset["data"]["reader"]
    if is_prepared_path(data_dir) and not (reader == "jsb" and Path(data_dir).name == "Jsb16thSeparated.json"):
        tr, va, _ = load_prepared(data_dir, list(preset["data"]["tracks"]))
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
    tracks = [t for t in preset["data"]["tracks"] if t != "chord"]
    scores = read_midi_folder(data_dir, tracks, chord_track="chord" in preset["data"]["tracks"])
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
    return save_prepared(out, data.train, data.val, preset_name, list(preset["data"]["tracks"]))


def build_model(preset: dict, vocab, denoiser_overrides: dict | None = None):
    """A fresh :class:`MusicModel` for a preset and vocabulary."""
    from morphogen.music.data.vocabulary import PAD
    from morphogen.music.models.bundle import MusicModel
    from morphogen.processes.joint import JointProcess
    from morphogen.utils.config import build

    tracks = list(preset["data"]["tracks"])
    pspec = copy.deepcopy(preset["process"])
    pspec.setdefault("args", {})["num_classes"] = len(vocab)
    dspec = copy.deepcopy(preset["denoiser"])
    pa, da = vocab.row_allowed()
    dspec.setdefault("args", {}).update({"vocab_size": len(vocab), "num_tracks": len(tracks), "pad_id": PAD,
                                         "pitch_allowed": pa, "duration_allowed": da, **(denoiser_overrides or {})})
    drums = ["drums"] if "drums" in tracks else []
    from morphogen.music.data.chorales import VOICE_PROGRAMS
    from morphogen.music.data.midi import DEFAULT_PROGRAMS

    programs = {t: VOICE_PROGRAMS.get(t, DEFAULT_PROGRAMS.get(t, 0)) for t in tracks}
    return MusicModel(vocab, tracks, JointProcess({"score": build(pspec)}), build(dspec), drums, programs)


@dataclass
class TrainResult:
    """The exported model file, the training log (CSV of Lightning) and the number of optimiser steps."""

    model_path: Path
    metrics_csv: Path | None
    steps: int
    model: Any


def train(preset_name: str, out_dir: str | Path, data_dir: str | Path | None = None, max_steps: int | None = None,
          batch_size: int | None = None, limit: int | None = None, seed: int = 0, denoiser_overrides: dict | None = None,
          progress: bool = True, max_minutes: float | None = None, num_workers: int = 0,
          **trainer_kwargs) -> TrainResult:
    """Train on a preset's data and write ``out_dir/model.safetensors`` (EMA weights + configuration).

    ``data_dir`` may name a prepared file (:func:`prepare`); then music21 is not imported. ``limit`` keeps the first
    ``limit`` pieces of each split (quick runs); ``denoiser_overrides`` replace denoiser arguments (e.g.
    ``{"d_model": 64, "layers": 2}``). ``max_minutes`` stops training after that wall time of this call
    (whichever of it and ``max_steps`` comes first; the EMA model is exported either way; a resumed run gets the
    full budget again). ``num_workers``:
    DataLoader worker processes. Other keyword arguments go to the Lightning Trainer (``accelerator``,
    ``devices``, ``precision``, ...). The preset's ``train.checkpoint_every_n_steps`` writes the resumable
    checkpoint every that many steps instead of at every epoch end.
    """
    import lightning as L
    from torch.utils.data import DataLoader

    from morphogen.music.data.dataset import DrawSampler, GETScoreDataset, build_vocabulary
    from morphogen.train.module import GenerativeModule
    from morphogen.train.trainer import fit

    L.seed_everything(seed, workers=True, verbose=False)
    preset = load_preset(preset_name)
    d, tcfg = preset["data"], dict(preset.get("train", {}))
    data = load_training_data(preset, data_dir, limit)
    if not data.train:
        raise MusicDataError(f"preset '{preset_name}': no training pieces found")
    trans = list(d.get("transpositions", [0]))
    vocab = build_vocabulary(data.train, trans, int(d.get("max_duration", 64)), int(d.get("min_count", 1)))
    model = build_model(preset, vocab, denoiser_overrides)
    drums = model.drum_tracks
    nearest = int(d.get("min_count", 1)) > 1
    train_ds = GETScoreDataset(data.train, vocab, model.track_names, int(d["length"]), trans,
                               int(d.get("items_per_score", 1)), True, None, float(d.get("p_all", 0.2)), seed, drums,
                               nearest)
    bs = int(batch_size or tcfg.get("batch_size", 32))
    workers = {"num_workers": int(num_workers), "persistent_workers": int(num_workers) > 0}
    train_dl = DataLoader(train_ds, batch_size=bs, sampler=DrawSampler(len(train_ds), seed), drop_last=False,
                          **workers)
    val_dl = None
    if data.val:
        val_ds = GETScoreDataset(data.val, vocab, model.track_names, int(d["length"]), (0,), 1, False,
                                 d.get("val_targets"), 0.0, seed, drums, nearest=True)
        val_dl = DataLoader(val_ds, batch_size=bs, **workers)
    module = GenerativeModule(model.process, model.denoiser, lr=float(tcfg.get("lr", 5e-4)),
                              weight_decay=float(tcfg.get("weight_decay", 0.0)),
                              warmup_steps=int(tcfg.get("warmup_steps", 0)), ema_decay=float(tcfg.get("ema_decay", 0.999)),
                              seed=seed, config=model.config())
    steps = int(max_steps or tcfg.get("max_steps", 1000))
    if max_minutes is not None:
        if max_minutes <= 0:
            raise ValueError(f"max_minutes must be positive, got {max_minutes}")
        trainer_kwargs["max_time"] = timedelta(minutes=float(max_minutes))
    if tcfg.get("checkpoint_every_n_steps") and "checkpoint_every_n_steps" not in trainer_kwargs:
        trainer_kwargs["checkpoint_every_n_steps"] = int(tcfg["checkpoint_every_n_steps"])
    if tcfg.get("val_check_interval") and "val_check_interval" not in trainer_kwargs:
        trainer_kwargs["val_check_interval"] = int(tcfg["val_check_interval"])
        trainer_kwargs.setdefault("check_val_every_n_epoch", None)
    trainer = fit(module, train_dl, val_dl, out_dir=out_dir, max_steps=steps, progress=progress,
                  log_every_n_steps=int(trainer_kwargs.pop("log_every_n_steps", 10)), **trainer_kwargs)
    model.denoiser = module.sampling_denoiser.cpu()  # the EMA weights, on the CPU for generation and export
    path = model.save(Path(out_dir) / "model.safetensors")
    logs = sorted(Path(out_dir).glob("logs/version_*/metrics.csv"))
    return TrainResult(path, logs[-1] if logs else None, int(trainer.global_step), model)
