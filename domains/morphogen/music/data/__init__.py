"""GETScore representation, vocabulary, readers (MIDI folders, music21 Bach chorales, JSB JSON) and datasets."""
from morphogen.music.data.chorales import (VOICES, corpus_split, load_corpus_chorales, load_jsb, read_score_file,
                                           score_from_music21)
from morphogen.music.data.dataset import FIELD, GETScoreDataset, build_vocabulary, choose_targets
from morphogen.music.data.getscore import Decoded, GETScore, decode, encode
from morphogen.music.data.midi import MULTITRACK_TRACKS, read_midi, read_midi_folder
from morphogen.music.data.notes import Note, NoteScore, Track
from morphogen.music.data.vocabulary import EMPTY, PAD, Vocabulary, VocabularyError
from morphogen.music.errors import MusicDataError

__all__ = ["VOICES", "corpus_split", "load_corpus_chorales", "load_jsb", "read_score_file", "score_from_music21",
           "FIELD", "GETScoreDataset", "build_vocabulary", "choose_targets", "Decoded", "GETScore", "decode", "encode",
           "MULTITRACK_TRACKS", "read_midi", "read_midi_folder", "MusicDataError", "Note", "NoteScore", "Track",
           "EMPTY", "PAD", "Vocabulary", "VocabularyError"]
