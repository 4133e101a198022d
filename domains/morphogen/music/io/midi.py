"""Writing a :class:`NoteScore` as a Standard MIDI File (format 1) with music21's low-level MIDI classes.

One MIDI track per non-empty score track, named after it, with its General MIDI program; drum tracks on channel
10, the others on channels 1, 2, ... (skipping 10). 480 ticks per quarter note (120 per 16th step); velocity 80;
tempo 100 quarter notes per minute unless given. The file is written atomically (complete or absent:
:func:`morphogen.utils.outputs.atomic_bytes`).
"""
from __future__ import annotations

from pathlib import Path

from morphogen.music.data.notes import STEPS_PER_QUARTER, NoteScore

TICKS_PER_QUARTER = 480


def _events(track, pairs):
    """MidiEvents with DeltaTimes for (tick, order, maker) pairs; ``maker(track)`` builds the event."""
    from music21 import midi

    out, last = [], 0
    for tick, _, make in sorted(pairs, key=lambda p: (p[0], p[1])):
        dt = midi.DeltaTime(track, time=tick - last)
        out.extend([dt, make(track)])
        last = tick
    return out


def write_midi(score: NoteScore, path: str | Path, tempo_qpm: float = 100.0, velocity: int = 80) -> Path:
    from music21 import midi

    from morphogen.utils.outputs import atomic_bytes

    tps = TICKS_PER_QUARTER // STEPS_PER_QUARTER
    mf = midi.MidiFile()
    mf.ticksPerQuarterNote = TICKS_PER_QUARTER
    mf.format = 1
    conductor = midi.MidiTrack(0)

    def meta(kind, data):
        def make(tr):
            ev = midi.MidiEvent(tr, type=kind)
            ev.data = data
            return ev
        return make

    num, den = score.time_signature
    usec = int(round(60_000_000 / tempo_qpm))
    conductor.events = _events(conductor, [
        (0, 0, meta(midi.MetaEvents.TIME_SIGNATURE, bytes([num, max(den, 1).bit_length() - 1, 24, 8]))),
        (0, 1, meta(midi.MetaEvents.SET_TEMPO, usec.to_bytes(3, "big"))),
    ])
    conductor.events += [midi.DeltaTime(conductor, time=0), midi.MidiEvent(conductor, type=midi.MetaEvents.END_OF_TRACK)]
    conductor.events[-1].data = b""
    mf.tracks.append(conductor)
    channels = iter([c for c in range(1, 17) if c != 10])
    for i, t in enumerate([t for t in score.tracks if t.notes], start=1):
        tr = midi.MidiTrack(i)
        ch = 10 if t.is_drum else next(channels)

        def chan(kind, ch=ch, **kw):
            def make(track):
                ev = midi.MidiEvent(track, type=kind, channel=ch)
                for k, v in kw.items():
                    setattr(ev, k, v)
                return ev
            return make

        pairs = [(0, 0, meta(midi.MetaEvents.SEQUENCE_TRACK_NAME, t.name.encode())),
                 (0, 1, chan(midi.ChannelVoiceMessages.PROGRAM_CHANGE, data=int(t.program)))]
        for n in t.notes:  # note-offs sort before note-ons at the same tick
            pairs.append((n.onset * tps, 3, chan(midi.ChannelVoiceMessages.NOTE_ON, pitch=n.pitch, velocity=velocity)))
            pairs.append(((n.onset + n.duration) * tps, 2, chan(midi.ChannelVoiceMessages.NOTE_OFF, pitch=n.pitch,
                                                                 velocity=0)))
        tr.events = _events(tr, pairs)
        end = midi.MidiEvent(tr, type=midi.MetaEvents.END_OF_TRACK)
        end.data = b""
        tr.events += [midi.DeltaTime(tr, time=0), end]
        mf.tracks.append(tr)
    return atomic_bytes(path, mf.writestr())
