"""The neutral note representation every reader produces and every writer consumes.

Times are integers in 16th-note steps (4 steps per quarter note); a bar of 4/4 is 16 steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

STEPS_PER_QUARTER = 4


@dataclass(frozen=True, order=True)
class Note:
    """One note. onset, duration: 16th-note steps (duration >= 1); pitch: MIDI number 0..127 (drum tracks: the
    General MIDI percussion key)."""

    onset: int
    pitch: int
    duration: int


@dataclass
class Track:
    """One instrument line. ``program``: General MIDI program 0..127; ``is_drum``: MIDI channel 10."""

    name: str
    notes: list[Note] = field(default_factory=list)
    program: int = 0
    is_drum: bool = False


@dataclass
class NoteScore:
    """A score: tracks in the model's order (top voice first), a time signature and where it came from.

    Attributes:
        tracks: the tracks; a track with no notes is absent from the piece (written as padding in a GETScore).
        time_signature: (numerator, denominator); bars are ``steps_per_bar`` 16th steps long.
        source: file path or record name, used in error messages.
        report: what a reader had to change, by reason -> count (e.g. ``"onset_rounded"``: notes off the 16th grid,
            ``"unmapped_track:Organ(19)"``: notes of a track no model track takes); empty when nothing changed.
    """

    tracks: list[Track]
    time_signature: tuple[int, int] = (4, 4)
    source: str = ""
    report: dict[str, int] = field(default_factory=dict)

    @property
    def steps_per_bar(self) -> int:
        num, den = self.time_signature
        return max(1, num * 16 // den)

    @property
    def end(self) -> int:
        """The step after the last note ends (0 for an empty score)."""
        return max((n.onset + n.duration for t in self.tracks for n in t.notes), default=0)

    @property
    def track_names(self) -> list[str]:
        return [t.name for t in self.tracks]

    def track(self, name: str) -> Track:
        for t in self.tracks:
            if t.name == name:
                return t
        raise KeyError(f"{self.source or 'score'}: no track '{name}' (tracks: {self.track_names})")

    def transpose(self, semitones: int) -> "NoteScore":
        """A copy with every pitched (non-drum) note moved by ``semitones``."""
        tracks = [Track(t.name, [n if t.is_drum else Note(n.onset, n.pitch + semitones, n.duration) for n in t.notes],
                        t.program, t.is_drum) for t in self.tracks]
        return NoteScore(tracks, self.time_signature, self.source, dict(self.report))

    def crop(self, start: int, stop: int) -> "NoteScore":
        """Notes with onset in [start, stop), shifted to start at 0 and cut at ``stop``."""
        tracks = [Track(t.name, [Note(n.onset - start, n.pitch, min(n.duration, stop - n.onset)) for n in t.notes
                                 if start <= n.onset < stop], t.program, t.is_drum) for t in self.tracks]
        return NoteScore(tracks, self.time_signature, self.source, dict(self.report))


def add_report(report: dict[str, int], reason: str, count: int = 1) -> None:
    if count:
        report[reason] = report.get(reason, 0) + int(count)
