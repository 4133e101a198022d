"""Reading MIDI files into :class:`NoteScore`, exactly at the tick level (music21's low-level MIDI parser), then
onto the 16th-note grid.

Multi-track pop MIDI (Lakh-style, as GETMusic uses it) is mapped onto the tracks
``melody, bass, drums, guitar, piano, strings`` (+ an inferred ``chord`` track, :mod:`.chords`):

* channel 10 -> drums;
* otherwise the track name, if it contains one of the keywords of :data:`NAME_KEYWORDS` (first match, in order);
* otherwise the General MIDI program: 0-7 piano, 24-31 guitar, 32-39 bass, 40-51 strings, 80-87 melody (lead).

MIDI tracks that map to no model track are not used; their notes are counted in the score's report under
``"unmapped_track:<name>(program <p>)"``, never dropped silently.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from morphogen.music.data.notes import STEPS_PER_QUARTER, Note, NoteScore, Track, add_report
from morphogen.music.errors import MusicDataError

MULTITRACK_TRACKS = ["melody", "bass", "drums", "guitar", "piano", "strings"]
NAME_KEYWORDS: list[tuple[str, str]] = [
    ("drum", "drums"), ("percussion", "drums"), ("bass", "bass"), ("melody", "melody"), ("lead", "melody"),
    ("vocal", "melody"), ("voice", "melody"), ("guitar", "guitar"), ("piano", "piano"), ("string", "strings"),
]
PROGRAM_RANGES: list[tuple[range, str]] = [
    (range(0, 8), "piano"), (range(24, 32), "guitar"), (range(32, 40), "bass"), (range(40, 52), "strings"),
    (range(80, 88), "melody"),
]
DEFAULT_PROGRAMS = {"melody": 80, "bass": 32, "drums": 0, "guitar": 25, "piano": 0, "strings": 48, "chord": 0}


def map_track(name: str, program: int, is_drum: bool) -> str | None:
    """The model track a MIDI track goes to, or None (see the module docstring)."""
    if is_drum:
        return "drums"
    low = name.lower()
    for key, target in NAME_KEYWORDS:
        if key in low:
            return target
    for rng, target in PROGRAM_RANGES:
        if program in rng:
            return target
    return None


class RawTrack:
    """Notes of one MIDI track in ticks: (onset_tick, pitch, duration_ticks, channel), plus name and program."""

    def __init__(self, name: str):
        self.name, self.program, self.notes = name, 0, []


def read_midi_tracks(path: str | Path) -> tuple[list[RawTrack], int, tuple[int, int]]:
    """(tracks in ticks, ticks per quarter note, first time signature) of a MIDI file.

    Raises :class:`MusicDataError` naming the file when it cannot be parsed or is truncated (a track chunk shorter
    than its length field, fewer track chunks than the header announces: :func:`morphogen.music.inputs.check_smf`).
    """
    from music21 import midi

    from morphogen.music.inputs import check_smf

    path = Path(path)
    if not path.is_file():
        raise MusicDataError(f"{path}: no such file")
    data = path.read_bytes()
    check_smf(data, path)  # a truncated file is refused (music21 reads the notes before the cut silently)
    mf = midi.MidiFile()
    try:
        mf.readstr(data)
    except Exception as err:  # music21 raises several types for damaged files
        raise MusicDataError(f"{path}: not a readable MIDI file ({type(err).__name__}: {err})") from None
    tpq = mf.ticksPerQuarterNote
    if not isinstance(tpq, int) or tpq <= 0:
        raise MusicDataError(f"{path}: SMPTE time division is not supported (need ticks per quarter note)")
    ts = (4, 4)
    found_ts = False
    out = []
    on, off = midi.ChannelVoiceMessages.NOTE_ON, midi.ChannelVoiceMessages.NOTE_OFF
    for ti, tr in enumerate(mf.tracks):
        raw = RawTrack(f"track{ti}")
        tick = 0
        pending: dict[tuple[int, int], list[int]] = defaultdict(list)
        for ev in tr.events:
            if isinstance(ev, midi.DeltaTime):
                tick += int(ev.time or 0)
                continue
            if ev.type == midi.MetaEvents.SEQUENCE_TRACK_NAME and raw.name.startswith("track"):
                data = ev.data if isinstance(ev.data, bytes) else str(ev.data).encode()
                raw.name = data.decode("utf-8", errors="replace").replace("\x00", "").strip() or raw.name
            elif ev.type == midi.MetaEvents.TIME_SIGNATURE and not found_ts and isinstance(ev.data, bytes):
                ts, found_ts = (ev.data[0], 2 ** ev.data[1]), True
            elif ev.type == midi.ChannelVoiceMessages.PROGRAM_CHANGE and not raw.notes:
                raw.program = int(ev.data)
            elif ev.type == on and ev.velocity and ev.velocity > 0:
                pending[(ev.channel, ev.pitch)].append(tick)
            elif ev.type == off or (ev.type == on and not ev.velocity):
                starts = pending.get((ev.channel, ev.pitch))
                if starts:
                    start = starts.pop(0)
                    raw.notes.append((start, ev.pitch, tick - start, ev.channel))
        for (ch, pitch), starts in pending.items():  # notes never switched off end at the track's last tick
            raw.notes.extend((s, pitch, tick - s, ch) for s in starts)
        out.append(raw)
    return out, tpq, ts


def ticks_to_steps(ticks: int, tpq: int) -> int:
    return int(round(ticks * STEPS_PER_QUARTER / tpq))


def read_midi(path: str | Path, tracks: list[str] | None = None, chord_track: bool = True) -> NoteScore:
    """A multi-track MIDI file as a :class:`NoteScore` with tracks ``tracks`` (default :data:`MULTITRACK_TRACKS`)
    plus the inferred ``chord`` track when ``chord_track``.

    Times are rounded to the nearest 16th (notes moved are counted as ``"onset_rounded"``), durations to the
    nearest 16th with a minimum of one step (``"duration_rounded"``); two notes of the same pitch starting on the
    same step of one track are one note (``"duplicate_note_merged"``, the longer kept).

    Raises :class:`MusicDataError` when the file cannot be read or no track maps to a model track.
    """
    names = list(tracks or MULTITRACK_TRACKS)
    raw_tracks, tpq, ts = read_midi_tracks(path)
    report: dict[str, int] = {}
    merged: dict[str, dict[tuple[int, int], int]] = {n: {} for n in names}
    programs: dict[str, int] = {}
    for raw in raw_tracks:
        if not raw.notes:
            continue
        is_drum = all(ch == 10 for *_, ch in raw.notes)
        target = map_track(raw.name, raw.program, is_drum)
        if target not in merged:
            add_report(report, f"unmapped_track:{raw.name}(program {raw.program})", len(raw.notes))
            continue
        programs.setdefault(target, raw.program)
        for start, pitch, dur, _ in raw.notes:
            onset = ticks_to_steps(start, tpq)
            add_report(report, "onset_rounded", int(start * STEPS_PER_QUARTER % tpq != 0))
            d = max(1, ticks_to_steps(start + dur, tpq) - onset)
            add_report(report, "duration_rounded", int(dur * STEPS_PER_QUARTER % tpq != 0 or dur == 0))
            key = (onset, pitch)
            if key in merged[target]:
                add_report(report, "duplicate_note_merged")
                d = max(d, merged[target][key])
            merged[target][key] = d
    out = [Track(n, sorted(Note(o, p, d) for (o, p), d in merged[n].items()), programs.get(n, DEFAULT_PROGRAMS.get(n, 0)),
                 n == "drums") for n in names]
    if not any(t.notes for t in out):
        found = [f"{r.name}(program {r.program}, {len(r.notes)} notes)" for r in raw_tracks]
        raise MusicDataError(f"{path}: no usable tracks: none of the MIDI tracks {found} maps to the model's tracks "
                             f"{names}")
    score = NoteScore(out, ts, str(path), report)
    if chord_track:
        score.tracks.append(infer_chord_track_of(score))
    return score


def infer_chord_track_of(score: NoteScore) -> Track:
    from morphogen.music.data.chords import infer_chord_track

    return infer_chord_track(score.tracks, score.end)


def read_midi_folder(folder: str | Path, tracks: list[str] | None = None, chord_track: bool = True) -> list[NoteScore]:
    """Every ``*.mid`` / ``*.midi`` file of a folder (sorted by name); the first unreadable file raises."""
    folder = Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi")) if folder.is_dir() else []
    if not files:
        raise MusicDataError(f"{folder}: no .mid files found")
    return [read_midi(p, tracks, chord_track) for p in files]
