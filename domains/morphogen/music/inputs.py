"""Checks of an input score file that need neither torch nor music21, so that ``morphogen music generate`` refuses
a bad file at once (before the model is loaded), and the length bound of a generation.

* :func:`check_input_file`: the file exists, is a file, has a suffix the readers know, is not empty, and its bytes
  look like what the suffix says (a Standard MIDI File whose chunks are all there, a zip archive, XML text).
* :func:`check_smf`: the chunk structure of a Standard MIDI File: a track chunk shorter than its header says, or
  fewer track chunks than the file header announces, is a truncated file (music21 would read the notes before the
  cut without a word).
* :data:`MAX_COLUMNS`: the longest piece a generation takes (the denoiser attends over every 16th column of the
  piece at once, so time and memory grow with the square of the length).
"""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

from morphogen.music.errors import MusicDataError

MIDI_SUFFIXES = (".mid", ".midi")
SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl")
INPUT_SUFFIXES = MIDI_SUFFIXES + SCORE_SUFFIXES
MAX_COLUMNS = 2048  # 16th-note columns per generated piece: 128 bars of 4/4
EVALUATION_SPLITS = ("jsb-test", "jsb-valid", "jsb-train", "chorales-test")  # `evaluate --split`


def max_bars(steps_per_bar: int = 16) -> int:
    """The most bars a generation takes at ``steps_per_bar`` columns per bar (:data:`MAX_COLUMNS`)."""
    return MAX_COLUMNS // max(1, int(steps_per_bar))


def check_length(columns: int, what: str, steps_per_bar: int = 16) -> None:
    """Raise :class:`MusicDataError` (naming ``what``) when a piece of ``columns`` 16th columns is longer than
    :data:`MAX_COLUMNS`."""
    if columns > MAX_COLUMNS:
        spb = max(1, int(steps_per_bar))
        raise MusicDataError(f"{what}: {columns} sixteenth-note columns (about {-(-columns // spb)} bars), but a "
                             f"generation is limited to {MAX_COLUMNS} columns ({max_bars(spb)} bars of "
                             f"{spb} sixteenths); cut the piece into shorter sections")


def check_smf(data: bytes, path: str | Path) -> None:
    """Raise :class:`MusicDataError` naming ``path`` unless ``data`` is a complete Standard MIDI File: an ``MThd``
    header of at least 6 bytes, then as many ``MTrk`` chunks as the header announces, each as long as its length
    field says (chunks of other kinds are skipped, as the standard asks; bytes after the last track are ignored)."""
    if len(data) < 14 or data[:4] != b"MThd":
        start = data[:8]
        raise MusicDataError(f"{path}: not a readable MIDI file (a Standard MIDI File starts with 'MThd', this "
                             f"one with {start!r})")
    (hlen,) = struct.unpack(">I", data[4:8])
    if hlen < 6 or 8 + hlen > len(data):
        raise MusicDataError(f"{path}: not a readable MIDI file (damaged header: length {hlen}, file of "
                             f"{len(data)} bytes)")
    _fmt, ntracks, _div = struct.unpack(">HHH", data[8:14])
    pos, found = 8 + hlen, 0
    while found < ntracks:
        if pos + 8 > len(data):
            raise MusicDataError(f"{path}: not a readable MIDI file (truncated: the header announces {ntracks} "
                                 f"track chunks, the file ends after {found}, at {len(data)} bytes)")
        kind = data[pos: pos + 4]
        (clen,) = struct.unpack(">I", data[pos + 4: pos + 8])
        have = len(data) - pos - 8
        if kind == b"MTrk" and clen > have:
            raise MusicDataError(f"{path}: not a readable MIDI file (truncated: track chunk {found + 1} of {ntracks} "
                                 f"says {clen} bytes, the file holds only {have} of them)")
        if kind != b"MTrk" and not all(32 <= c < 127 for c in kind):
            raise MusicDataError(f"{path}: not a readable MIDI file (damaged: no chunk at byte {pos}, found "
                                 f"{kind!r}, after {found} of {ntracks} track chunks)")
        found += kind == b"MTrk"
        pos += 8 + clen


def check_input_file(path: str | Path) -> Path:
    """``path`` as a Path when it can be an input score (module documentation); else :class:`MusicDataError`
    naming the file and what is wrong with it."""
    path = Path(path)
    if path.is_dir():
        raise MusicDataError(f"{path}: is a folder, not a score file")
    if not path.is_file():
        raise MusicDataError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix not in INPUT_SUFFIXES:
        raise MusicDataError(f"{path}: not a MIDI or MusicXML file (the suffix must be one of "
                             f"{', '.join(INPUT_SUFFIXES)})")
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as err:
        raise MusicDataError(f"{path}: cannot be read ({err.strerror or err})") from None
    if not data.strip():
        raise MusicDataError(f"{path}: the file is empty")
    if suffix in MIDI_SUFFIXES:
        check_smf(data, path)
    elif suffix == ".mxl":
        if not zipfile.is_zipfile(path):
            raise MusicDataError(f"{path}: not a compressed MusicXML file (.mxl is a zip archive; this is not one)")
    else:
        utf16 = data.startswith((b"\xff\xfe", b"\xfe\xff"))
        text = data.lstrip(b"\xef\xbb\xbf \t\r\n")
        if not utf16 and (text[:1] != b"<" or b"\x00" in text[:4096]):
            raise MusicDataError(f"{path}: not a MusicXML file (MusicXML is XML text starting with '<')")
    return path
