"""Four-part chorales: the Bach chorales of the music21 corpus and the JSB chorales benchmark (JSON).

Both give tracks ``soprano, alto, tenor, bass`` (top voice first), 16th-note steps.

music21 corpus: every Bach work in the corpus with exactly four parts (368 in music21 10.5; about 351 in older releases), read part by
part with ties joined; onsets and durations are rounded to the nearest 16th (notes moved counted in the report).
Parsed chorales are cached as JSON under ``$MORPHOGEN_CACHE`` (default ``~/.cache/morphogen``)/music.
Held-out split: a chorale is in the test split when the CRC32 of its corpus file name, modulo 10, is 0 (about 10%),
whatever the music21 version or file order; :func:`corpus_split` gives it.

JSB (Boulanger-Lewandowski et al. 2012, as prepared by Huang et al. for Coconet: ``Jsb16thSeparated.json`` with
``train``/``valid``/``test`` lists of chorales, each a list of 16th-note frames ``[S, A, T, B]`` of MIDI pitches,
-1 or NaN for a rest): the published split is kept. The frames carry no articulation, so a voice holding the same
pitch on consecutive frames is read as one note (the convention of the frame-wise chorale literature).
"""
from __future__ import annotations

import json
import math
import os
import zlib
from pathlib import Path

from morphogen.music.data.notes import STEPS_PER_QUARTER, Note, NoteScore, Track, add_report
from morphogen.music.errors import MusicDataError

VOICES = ["soprano", "alto", "tenor", "bass"]
VOICE_PROGRAMS = {"soprano": 52, "alto": 52, "tenor": 52, "bass": 52}  # GM choir aahs
JSB_FILE = "Jsb16thSeparated.json"
JSB_SPLITS = ("train", "valid", "test")


def cache_dir() -> Path | None:
    """The music folder of the core's cache (``$MORPHOGEN_CACHE``); None when caching is off."""
    from morphogen.utils.cache import cache_dir as root

    base = root()
    return None if base is None else base / "music"


# -- music21 -----------------------------------------------------------------------------------------------------
def score_from_music21(stream, source: str, voices: list[str] | None = None) -> NoteScore:
    """A music21 Score (or Part list) as a NoteScore; parts are matched to ``voices`` (default SATB) by name, else in
    order from the top. Chords in a part become notes starting together. Raises :class:`MusicDataError` when the
    score has no notes, or more parts than voices."""
    voices = list(voices or VOICES)
    parts = list(getattr(stream, "parts", [])) or [stream]
    parts = [p for p in parts if p.flatten().notes]
    if not parts:
        raise MusicDataError(f"{source}: no usable tracks: the score has no notes")
    if len(parts) > len(voices):
        raise MusicDataError(f"{source}: {len(parts)} parts with notes, but the model has only {len(voices)} tracks "
                             f"{voices}")
    names = [str(p.partName or "").strip().lower() for p in parts]
    assigned: dict[int, str] = {}
    for i, nm in enumerate(names):  # by name first
        for v in voices:
            if v not in assigned.values() and nm.startswith(v[:4]) if nm else False:
                assigned[i] = v
                break
    free = [v for v in voices if v not in assigned.values()]
    for i in range(len(parts)):  # the rest in order from the top
        if i not in assigned:
            assigned[i] = free.pop(0)
    report: dict[str, int] = {}
    ts = (4, 4)
    first_ts = next(iter(parts[0].recurse().getElementsByClass("TimeSignature")), None)
    if first_ts is not None:
        ts = (int(first_ts.numerator), int(first_ts.denominator))
    tracks = {v: Track(v, [], VOICE_PROGRAMS.get(v, 0)) for v in voices}
    offset0 = min(float(p.flatten().notes[0].getOffsetBySite(p.flatten())) for p in parts)
    for i, part in enumerate(parts):
        flat = part.stripTies().flatten()
        seen: dict[tuple[int, int], int] = {}
        for el in flat.notes:
            start = (float(el.getOffsetBySite(flat)) - offset0) * STEPS_PER_QUARTER
            length = float(el.quarterLength) * STEPS_PER_QUARTER
            onset = int(round(start))
            dur = max(1, int(round(start + length)) - onset)
            add_report(report, "onset_rounded", int(abs(start - onset) > 1e-6))
            add_report(report, "duration_rounded", int(abs(length - dur) > 1e-6))
            for p in el.pitches:
                key = (onset, int(p.midi))
                if key in seen:
                    add_report(report, "duplicate_note_merged")
                seen[key] = max(dur, seen.get(key, 0))
        tracks[assigned[i]].notes = sorted(Note(o, p, d) for (o, p), d in seen.items())
    return NoteScore([tracks[v] for v in voices], ts, source, report)


def read_score_file(path: str | Path, voices: list[str] | None = None) -> NoteScore:
    """A MusicXML (.musicxml, .xml, .mxl) or MIDI file as a NoteScore with the given tracks (default SATB): parts
    matched by name, else in order from the top (a one-part melody becomes the top voice)."""
    from music21 import converter

    path = Path(path)
    if not path.is_file():
        raise MusicDataError(f"{path}: no such file")
    if path.suffix.lower() in (".mid", ".midi"):
        from morphogen.music.data.midi import read_midi_tracks, ticks_to_steps

        raw, tpq, ts = read_midi_tracks(path)
        raw = [r for r in raw if r.notes]
        voices = list(voices or VOICES)
        if not raw:
            raise MusicDataError(f"{path}: no usable tracks: the file has no notes")
        if len(raw) > len(voices):
            raise MusicDataError(f"{path}: {len(raw)} tracks with notes, but the model has only {len(voices)} "
                                 f"tracks {voices}")
        by_name = {v: None for v in voices}
        rest = []
        for r in raw:
            v = next((v for v in voices if v in r.name.lower() and by_name[v] is None), None)
            if v is None:
                rest.append(r)
            else:
                by_name[v] = r
        for r in rest:
            by_name[next(v for v in voices if by_name[v] is None)] = r
        tracks = []
        for v in voices:
            r = by_name[v]
            notes = sorted({Note(ticks_to_steps(s, tpq), p, max(1, ticks_to_steps(s + d, tpq) - ticks_to_steps(s, tpq)))
                            for s, p, d, _ in r.notes}) if r is not None else []
            tracks.append(Track(v, notes, r.program if r is not None else 0, False))
        return NoteScore(tracks, ts, str(path))
    try:
        stream = converter.parse(str(path))
    except Exception as err:
        raise MusicDataError(f"{path}: not a readable score ({type(err).__name__}: {err})") from None
    return score_from_music21(stream, str(path), voices)


def corpus_split(name: str) -> str:
    """``"test"`` for about 10% of the corpus chorales (CRC32 of the file name mod 10 == 0), else ``"train"``."""
    return "test" if zlib.crc32(Path(name).name.encode()) % 10 == 0 else "train"


def _score_to_json(s: NoteScore) -> dict:
    return {"source": s.source, "ts": list(s.time_signature), "report": s.report,
            "tracks": {t.name: [[n.onset, n.pitch, n.duration] for n in t.notes] for t in s.tracks}}


def _score_from_json(d: dict) -> NoteScore:
    tracks = [Track(v, [Note(*n) for n in d["tracks"][v]], VOICE_PROGRAMS[v]) for v in VOICES]
    return NoteScore(tracks, tuple(d["ts"]), d["source"], dict(d["report"]))


def corpus_chorale_paths() -> list[Path]:
    from music21 import corpus

    return sorted(Path(p) for p in corpus.getComposer("bach"))


def load_corpus_chorales(split: str | None = None, limit: int | None = None, use_cache: bool = True) -> list[NoteScore]:
    """The music21 Bach chorales with exactly four parts, sorted by file name.

    Args:
        split: ``"train"``, ``"test"`` (see :func:`corpus_split`) or None for all.
        limit: read only the first ``limit`` chorales of the split (quick experiments, tests).
    """
    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
    folder = cache_dir()
    use_cache = use_cache and folder is not None
    cache = folder / "bach_chorales.json" if folder is not None else None
    records: list[dict] | None = None
    if use_cache and cache.is_file() and limit is None:
        try:
            records = json.loads(cache.read_text())
        except json.JSONDecodeError:
            records = None
    if records is None:
        from music21 import corpus

        records = []
        paths = corpus_chorale_paths()
        if limit is not None:
            paths = [p for p in paths if split is None or corpus_split(p.name) == split]
        for p in paths:
            if limit is not None and len(records) >= limit:
                break
            s = corpus.parse(str(p))
            if len(s.parts) != 4:
                continue
            records.append(_score_to_json(score_from_music21(s, p.name)))
        if use_cache and limit is None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(".tmp")
            tmp.write_text(json.dumps(records))
            os.replace(tmp, cache)
    scores = [_score_from_json(r) for r in records]
    if split is not None:
        scores = [s for s in scores if corpus_split(s.source) == split]
    return scores[:limit] if limit is not None else scores


# -- JSB JSON ----------------------------------------------------------------------------------------------------
def frames_to_score(frames: list, source: str) -> NoteScore:
    """A list of 16th frames ``[S, A, T, B]`` (MIDI pitches; -1, None or NaN = rest) as a NoteScore."""
    tracks = [Track(v, [], VOICE_PROGRAMS[v]) for v in VOICES]
    current: list[tuple[int, int] | None] = [None] * 4  # (onset, pitch) of the sounding note per voice

    def close(v: int, step: int):
        if current[v] is not None:
            onset, pitch = current[v]
            tracks[v].notes.append(Note(onset, pitch, step - onset))
            current[v] = None

    for step, frame in enumerate(frames):
        if not isinstance(frame, (list, tuple)) or len(frame) != 4:
            raise MusicDataError(f"{source}, frame {step}: expected 4 voices [S, A, T, B], got {frame!r}")
        for v, p in enumerate(frame):
            if p is None or (isinstance(p, float) and math.isnan(p)) or p == -1:
                close(v, step)
                continue
            if not isinstance(p, (int, float)) or not 0 <= p <= 127 or int(p) != p:
                raise MusicDataError(f"{source}, frame {step}, voice {VOICES[v]}: {p!r} is not a MIDI pitch")
            p = int(p)
            if current[v] is not None and current[v][1] != p:
                close(v, step)
            if current[v] is None:
                current[v] = (step, p)
    for v in range(4):
        close(v, len(frames))
    return NoteScore(tracks, (4, 4), source)


def load_jsb(folder: str | Path, split: str) -> list[NoteScore]:
    """The JSB chorales of one split (``train``, ``valid``, ``test``) from ``folder/Jsb16thSeparated.json`` (or the
    file itself); record sources read ``<file>:<split>[i]``."""
    if split not in JSB_SPLITS:
        raise ValueError(f"JSB split must be one of {JSB_SPLITS}, got {split!r}")
    path = Path(folder)
    if path.is_dir():
        path = path / JSB_FILE
    if not path.is_file():
        raise MusicDataError(f"{path}: no such file (the JSB chorales JSON '{JSB_FILE}')")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise MusicDataError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict) or split not in data:
        raise MusicDataError(f"{path}: no '{split}' split (expected keys {list(JSB_SPLITS)})")
    return [frames_to_score(ch, f"{path.name}:{split}[{i}]") for i, ch in enumerate(data[split])]
