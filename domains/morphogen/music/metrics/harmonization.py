"""All harmonisation metrics of a set of four-part pieces, accumulated piece by piece."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from morphogen.music.data.notes import NoteScore
from morphogen.music.metrics.frames import voice_frames
from morphogen.music.metrics.harmony import chord_counts
from morphogen.music.metrics.similarity import HistogramOverlap
from morphogen.music.metrics.voice_leading import VOICE_RANGES, crossing_counts, parallel_counts, range_counts


@dataclass
class HarmonizationReport:
    """Set-level metrics (counts summed over pieces before dividing).

    Attributes:
        range_share: share of notes (all voices) inside their voice's range.
        parallels_per_100: parallel fifths + octaves per 100 voice transitions (fifths / octaves separately too).
        crossing_percent: percentage of full frames with a voice crossing.
        chord_share: share of frames (>= 3 voices sounding) forming a triad or seventh chord.
        pitch_class_overlap, duration_overlap: histogram overlap of the ``measured`` voices with the reference set
            (nan without a reference).
        pieces, notes: how much was measured.
    """

    range_share: float
    parallels_per_100: float
    parallel_fifths: int
    parallel_octaves: int
    voice_transitions: int
    crossing_percent: float
    chord_share: float
    pitch_class_overlap: float
    duration_overlap: float
    pieces: int
    notes: int

    def as_dict(self) -> dict:
        return asdict(self)


class HarmonizationMetrics:
    """Accumulate :class:`HarmonizationReport` over pieces.

    Args:
        voices: the voices, top first (default SATB).
        measured: the voices whose notes enter the range share and the histograms (e.g. the generated ``alto,
            tenor, bass``; default all). Parallels, crossings and chords always use every voice.
    """

    def __init__(self, voices: list[str] | None = None, measured: list[str] | None = None):
        self.voices = list(voices or VOICE_RANGES)
        self.measured = list(measured or self.voices)
        self.reset()

    def reset(self) -> None:
        """Forget every piece and reference seen (the voices stay)."""
        self.inside = self.total = 0
        self.fifths = self.octaves = self.transitions = 0
        self.crossed = self.full_frames = 0
        self.chords = self.chord_frames = 0
        self.hist = HistogramOverlap()
        self.pieces = 0
        self.has_reference = False

    def update(self, score: NoteScore, reference: NoteScore | None = None) -> None:
        """Add one piece (and optionally a reference piece whose measured voices go into the reference histograms)."""
        frames = voice_frames(score, self.voices)
        rc = range_counts({v: [n.pitch for n in score.track(v).notes] for v in self.measured})
        self.inside += sum(rc.inside.values())
        self.total += sum(rc.total.values())
        pc = parallel_counts(frames)
        self.fifths, self.octaves, self.transitions = (self.fifths + pc.fifths, self.octaves + pc.octaves,
                                                       self.transitions + pc.transitions)
        cc = crossing_counts(frames)
        self.crossed, self.full_frames = self.crossed + cc.crossed, self.full_frames + cc.frames
        ch = chord_counts(frames)
        self.chords, self.chord_frames = self.chords + ch.chords, self.chord_frames + ch.frames
        self.hist.update(generated=[(n.pitch, n.duration) for v in self.measured for n in score.track(v).notes])
        if reference is not None:
            self.add_reference(reference)
        self.pieces += 1

    def add_reference(self, reference: NoteScore) -> None:
        self.has_reference = True
        self.hist.update(reference=[(n.pitch, n.duration) for v in self.measured for n in reference.track(v).notes])

    def compute(self) -> HarmonizationReport:
        nan = float("nan")
        h = self.hist.compute() if self.has_reference else {"pitch_class_overlap": nan, "duration_overlap": nan}
        return HarmonizationReport(
            range_share=self.inside / self.total if self.total else nan,
            parallels_per_100=100.0 * (self.fifths + self.octaves) / self.transitions if self.transitions else nan,
            parallel_fifths=self.fifths, parallel_octaves=self.octaves, voice_transitions=self.transitions,
            crossing_percent=100.0 * self.crossed / self.full_frames if self.full_frames else nan,
            chord_share=self.chords / self.chord_frames if self.chord_frames else nan,
            pitch_class_overlap=h["pitch_class_overlap"], duration_overlap=h["duration_overlap"],
            pieces=self.pieces, notes=self.total)
