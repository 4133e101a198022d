"""GETScore (GETMusic, Lv et al. 2023): a score as a 2-D token grid.

Tracks are stacked top to bottom in the model's order; each track has two rows, its pitch row (row ``2k``) and its
duration row (row ``2k + 1``); columns are 16th-note steps. At a step where a track has onsets, its pitch row holds the
token of the pitch, or of the set of pitches starting together in that track, and its duration row the duration of
that onset group (the longest of its notes: a GETScore gives one duration per onset group); elsewhere both rows hold
``<empty>``. A track the piece lacks is all ``<pad>``; columns beyond the piece's end are ``<pad>`` in every row.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from morphogen.music.data.notes import Note, NoteScore, Track, add_report
from morphogen.music.data.vocabulary import EMPTY, PAD, Vocabulary, VocabularyError


@dataclass
class GETScore:
    """A token grid and its track layout.

    Attributes:
        tokens: (2 * num_tracks, L) int64 vocabulary ids.
        track_names: the tracks, top first; rows 2k / 2k+1 are track k's pitch / duration rows.
        drum_tracks: names of the tracks decoded as drums.
        time_signature: carried through to the writers.
        source: where the score came from.
        report: what encoding had to change, reason -> count (see :class:`NoteScore`).
    """

    tokens: np.ndarray
    track_names: list[str]
    drum_tracks: list[str] = field(default_factory=list)
    time_signature: tuple[int, int] = (4, 4)
    source: str = ""
    report: dict[str, int] = field(default_factory=dict)

    @property
    def length(self) -> int:
        return int(self.tokens.shape[1])

    def present(self) -> np.ndarray:
        """(num_tracks,) bool: tracks that are not all padding."""
        return (self.tokens[0::2] != PAD).any(axis=1)


def onset_groups(track: Track) -> dict[int, list[Note]]:
    groups: dict[int, list[Note]] = defaultdict(list)
    for n in track.notes:
        groups[n.onset].append(n)
    return groups


def encode(score: NoteScore, vocab: Vocabulary, track_names: list[str], drum_tracks: list[str] | None = None,
           length: int | None = None, nearest: bool = False) -> GETScore:
    """NoteScore -> GETScore with the given track order.

    Args:
        score: tracks are matched by name; model tracks the score lacks (or that have no notes) become padding.
        length: number of columns (default: the score's end rounded up to a whole bar); notes starting at or after
            it raise, so that nothing is cut silently.
        nearest: map pitch sets the vocabulary lacks to their largest known subset (counted in the report as
            ``"pitches_dropped_unknown_set"``) instead of raising.
    """
    unknown = [t.name for t in score.tracks if t.notes and t.name not in track_names]
    if unknown:
        raise ValueError(f"{score.source}: tracks {unknown} are not among the model's tracks {track_names}")
    bar = score.steps_per_bar
    if length is None:
        length = max(bar, -(-score.end // bar) * bar)
    grid = np.full((2 * len(track_names), length), PAD, dtype=np.int64)
    report = dict(score.report)
    by_name = {t.name: t for t in score.tracks}
    drums = list(drum_tracks or [t.name for t in score.tracks if t.is_drum])
    for k, name in enumerate(track_names):
        track = by_name.get(name)
        if track is None or not track.notes:
            continue
        grid[2 * k: 2 * k + 2, :] = EMPTY
        for onset, notes in sorted(onset_groups(track).items()):
            if not 0 <= onset < length:
                raise ValueError(f"{score.source}: track '{name}' has a note at step {onset}, outside [0, {length})")
            try:
                enc = vocab.pitch_token([n.pitch for n in notes], drum=name in drums, nearest=nearest)
            except VocabularyError as err:
                raise VocabularyError(f"{score.source}: track '{name}', step {onset}: {err.args[0]}") from None
            add_report(report, "pitches_dropped_unknown_set", enc.dropped)
            dur = max(n.duration for n in notes)
            add_report(report, "duration_clipped", int(dur > vocab.max_duration))
            add_report(report, "group_duration_unified", sum(n.duration != dur for n in notes))
            grid[2 * k, onset] = enc.token
            grid[2 * k + 1, onset] = vocab.duration_token(dur)
    return GETScore(grid, list(track_names), [d for d in drums if d in track_names], tuple(score.time_signature),
                    score.source, report)


@dataclass
class Decoded:
    """Notes of a decoded grid and the number of onsets whose duration row did not hold a duration (written with
    duration 1) or whose duration row had a duration under an empty pitch (ignored)."""

    score: NoteScore
    missing_durations: int
    orphan_durations: int


def decode(gs: GETScore, vocab: Vocabulary, programs: dict[str, int] | None = None) -> Decoded:
    """GETScore -> notes. Every pitch token gives notes; a duration token under ``<empty>``/``<pad>`` is ignored and
    counted, a pitch token without a duration token gets duration 1 and is counted."""
    tokens = np.asarray(gs.tokens)
    tracks, missing, orphan = [], 0, 0
    for k, name in enumerate(gs.track_names):
        prow, drow = tokens[2 * k], tokens[2 * k + 1]
        notes = []
        for step in range(tokens.shape[1]):
            p, d = int(prow[step]), int(drow[step])
            if vocab.is_pitch(p):
                if vocab.is_duration(d):
                    dur = vocab.duration_of(d)
                else:
                    dur, missing = 1, missing + 1
                notes.extend(Note(step, pitch, dur) for pitch in vocab.pitches_of(p))
            elif vocab.is_duration(d):
                orphan += 1
        tracks.append(Track(name, sorted(notes), (programs or {}).get(name, 0), name in gs.drum_tracks))
    return Decoded(NoteScore(tracks, gs.time_signature, gs.source), missing, orphan)
