"""Writing results in the field's formats: MIDI, MusicXML (music21) and piano-roll pictures."""
from morphogen.music.io.midi import write_midi
from morphogen.music.io.musicxml import to_music21, write_musicxml
from morphogen.music.io.pianoroll import plot_pianoroll, write_pianoroll

__all__ = ["write_midi", "to_music21", "write_musicxml", "plot_pianoroll", "write_pianoroll"]
