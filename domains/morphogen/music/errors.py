"""Music's error type, in a module that imports nothing heavy (the command line checks its input files with it
before torch and music21 are loaded). Re-exported by :mod:`morphogen.music.data`."""
from __future__ import annotations

from morphogen.errors import DataError


class MusicDataError(DataError):
    """A file or record that cannot be turned into a score; the message names the file (and record) and why."""
