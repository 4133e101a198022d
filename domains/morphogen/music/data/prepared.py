"""Prepared training data: a preset's training and validation pieces as one plain JSON file (``.json`` or
``.json.gz``), so that training needs neither music21 nor the MIDI readers (``morphogen music prepare``).

Layout::

    {"format": "morphogen.music.prepared/1", "preset": "chorales", "tracks": ["soprano", ...],
     "splits": {"train": [piece, ...], "val": [piece, ...]}}

    piece = {"source": "bwv1.6.mxl", "time_signature": [4, 4], "report": {"onset_rounded": 2},
             "tracks": [{"name": "soprano", "program": 52, "is_drum": false,
                         "onset": [0, 4, ...], "pitch": [72, 74, ...], "duration": [4, 4, ...]}, ...]}

Times are 16th-note steps, pitches MIDI numbers (see :mod:`morphogen.music.data.notes`). Reading validates every
field and names the file and the piece (``train[12]``, its source) on the first problem.
"""
from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Sequence

from morphogen.music.data.notes import Note, NoteScore, Track
from morphogen.music.errors import MusicDataError

FORMAT = "morphogen.music.prepared/1"
SPLITS = ("train", "val")


def is_prepared_path(path: str | os.PathLike | None) -> bool:
    """True for a path that names a prepared file (``.json`` / ``.json.gz``) rather than a data folder."""
    if path is None:
        return False
    name = Path(path).name.lower()
    return name.endswith(".json") or name.endswith(".json.gz")


def piece_to_json(score: NoteScore) -> dict:
    tracks = []
    for t in score.tracks:
        notes = sorted(t.notes)
        tracks.append({"name": t.name, "program": int(t.program), "is_drum": bool(t.is_drum),
                       "onset": [n.onset for n in notes], "pitch": [n.pitch for n in notes],
                       "duration": [n.duration for n in notes]})
    return {"source": score.source, "time_signature": list(score.time_signature), "report": dict(score.report),
            "tracks": tracks}


def save_prepared(path: str | os.PathLike, train: Sequence[NoteScore], val: Sequence[NoteScore], preset: str,
                  tracks: Sequence[str]) -> Path:
    """Write the pieces to ``path`` (gzip-compressed when it ends in ``.gz``), atomically."""
    path = Path(path)
    if not is_prepared_path(path):
        raise ValueError(f"{path}: a prepared file must end in .json or .json.gz")
    doc = {"format": FORMAT, "preset": str(preset), "tracks": list(tracks),
           "splits": {"train": [piece_to_json(s) for s in train], "val": [piece_to_json(s) for s in val]}}
    data = json.dumps(doc, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if path.name.lower().endswith(".gz"):
        with gzip.open(tmp, "wb") as f:
            f.write(data)
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)
    return path


def _int(value, what: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo or (hi is not None and value > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{what}: {value!r} is not an integer {rng}")
    return value


def piece_from_json(d, where: str) -> NoteScore:
    """One piece; ``where`` (file and record) prefixes every error."""
    if not isinstance(d, dict):
        raise MusicDataError(f"{where}: expected an object, got {type(d).__name__}")
    where = f"{where} ({d['source']})" if isinstance(d.get("source"), str) and d["source"] else where
    try:
        ts = d.get("time_signature", [4, 4])
        if not isinstance(ts, list) or len(ts) != 2:
            raise ValueError(f"time_signature: expected [numerator, denominator], got {ts!r}")
        ts = (_int(ts[0], "time_signature numerator", 1), _int(ts[1], "time_signature denominator", 1))
        report = d.get("report", {})
        if not isinstance(report, dict) or not all(isinstance(v, int) for v in report.values()):
            raise ValueError(f"report: expected reason -> count, got {report!r}")
        raw = d.get("tracks")
        if not isinstance(raw, list) or not raw:
            raise ValueError("tracks: expected a non-empty list")
        tracks = []
        for k, t in enumerate(raw):
            if not isinstance(t, dict) or not isinstance(t.get("name"), str):
                raise ValueError(f"track {k}: expected an object with a 'name'")
            cols = [t.get(c) for c in ("onset", "pitch", "duration")]
            if not all(isinstance(c, list) for c in cols) or len({len(c) for c in cols}) != 1:
                raise ValueError(f"track '{t['name']}': onset, pitch and duration must be lists of equal length")
            notes = [Note(_int(o, f"track '{t['name']}', note {i}, onset", 0),
                          _int(p, f"track '{t['name']}', note {i}, pitch", 0, 127),
                          _int(u, f"track '{t['name']}', note {i}, duration", 1))
                     for i, (o, p, u) in enumerate(zip(*cols))]
            tracks.append(Track(t["name"], sorted(notes), _int(t.get("program", 0), f"track '{t['name']}' program",
                                                               0, 127), bool(t.get("is_drum", False))))
    except ValueError as err:
        raise MusicDataError(f"{where}: {err}") from None
    return NoteScore(tracks, ts, str(d.get("source", where)), dict(report))


def load_prepared(path: str | os.PathLike, tracks: Sequence[str] | None = None
                  ) -> tuple[list[NoteScore], list[NoteScore], dict]:
    """(train pieces, validation pieces, header) of a prepared file. With ``tracks``, the file's tracks must be
    exactly those (the preset's). Raises :class:`MusicDataError` naming the file and the record."""
    path = Path(path)
    if not path.is_file():
        raise MusicDataError(f"{path}: no such prepared data file (write one with `morphogen music prepare`)")
    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.lower().endswith(".gz") else path.read_bytes()
        doc = json.loads(raw)
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise MusicDataError(f"{path}: not a readable prepared JSON file ({type(err).__name__}: {err})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        got = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise MusicDataError(f"{path}: not a prepared music data file (format {got!r}, expected {FORMAT!r})")
    names = doc.get("tracks")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise MusicDataError(f"{path}: 'tracks' must be a non-empty list of track names")
    if tracks is not None and list(tracks) != names:
        raise MusicDataError(f"{path}: prepared for tracks {names}, but the preset has tracks {list(tracks)}")
    splits = doc.get("splits")
    if not isinstance(splits, dict) or not all(isinstance(splits.get(s), list) for s in SPLITS):
        raise MusicDataError(f"{path}: 'splits' must hold the lists {list(SPLITS)}")
    out = []
    for s in SPLITS:
        pieces = [piece_from_json(p, f"{path}: {s}[{i}]") for i, p in enumerate(splits[s])]
        for i, p in enumerate(pieces):
            extra = [t.name for t in p.tracks if t.name not in names]
            if extra:
                raise MusicDataError(f"{path}: {s}[{i}] ({p.source}): tracks {extra} are not among {names}")
        out.append(pieces)
    header = {k: v for k, v in doc.items() if k != "splits"}
    return out[0], out[1], header
