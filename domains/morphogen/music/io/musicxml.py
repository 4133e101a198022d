"""Writing a :class:`NoteScore` as MusicXML with music21 (one part per non-empty track, top first).

Notes starting together in a track with the same duration become a chord; a track whose notes overlap in time is
written with one music21 voice per overlapping layer so that nothing is lost; music21 splits notes at bar lines
into tied notes (``makeNotation``). Drum tracks are written as pitched notes on their GM key numbers. music21
writes to a temporary name in the folder of the file, which is then renamed (complete or absent:
:func:`morphogen.utils.outputs.write_output`).
"""
from __future__ import annotations

from pathlib import Path

from morphogen.music.data.notes import STEPS_PER_QUARTER, NoteScore


def to_music21(score: NoteScore):
    """A music21 ``stream.Score`` of the NoteScore."""
    from music21 import chord, instrument, meter, note, stream

    out = stream.Score()
    for t in score.tracks:
        if not t.notes:
            continue
        part = stream.Part(id=t.name)
        part.partName = t.name.capitalize()
        try:
            inst = instrument.instrumentFromMidiProgram(int(t.program))
        except Exception:  # music21 has no class for some programs
            inst = instrument.Instrument()
        inst.partName = t.name.capitalize()
        part.insert(0, inst)
        part.insert(0, meter.TimeSignature(f"{score.time_signature[0]}/{score.time_signature[1]}"))
        groups: dict[tuple[int, int], list[int]] = {}
        for n in t.notes:
            groups.setdefault((n.onset, n.duration), []).append(n.pitch)
        layers: list[list[tuple[int, int, list[int]]]] = []  # non-overlapping layers of (onset, dur, pitches)
        for (onset, dur), pitches in sorted(groups.items()):
            for layer in layers:
                if layer[-1][0] + layer[-1][1] <= onset:
                    layer.append((onset, dur, pitches))
                    break
            else:
                layers.append([(onset, dur, pitches)])
        for li, layer in enumerate(layers):
            target = part if li == 0 else stream.Voice()
            for onset, dur, pitches in layer:
                el = note.Note(pitches[0]) if len(pitches) == 1 else chord.Chord(sorted(pitches))
                el.quarterLength = dur / STEPS_PER_QUARTER
                target.insert(onset / STEPS_PER_QUARTER, el)
            if li > 0:
                part.insert(0, target)
        out.insert(0, part)
    return out


def write_musicxml(score: NoteScore, path: str | Path) -> Path:
    from morphogen.utils.outputs import write_output

    s = to_music21(score)
    # the temporary name does not end in .mxl, so music21 writes uncompressed MusicXML under it, as for the final name
    return write_output(path, lambda tmp: s.write("musicxml", fp=tmp, makeNotation=True))
