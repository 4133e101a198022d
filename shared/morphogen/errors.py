"""The project's own error types, one per kind of bad input, so that commands can print one line naming the file,
record or option (and exit non-zero) instead of a traceback. Domain errors derive from these."""
from __future__ import annotations


class MorphogenError(Exception):
    """Base class of every error Morphogen raises on purpose about its input."""


class DataError(MorphogenError, ValueError):
    """A dataset file or record that cannot be used (the message names the file and the record)."""


class PreparedDataError(DataError):
    """A prepared (pre-featurised) data file that is damaged, of another format version, or made with options
    other than the ones asked for."""


class NotFoundError(MorphogenError, FileNotFoundError):
    """A preset, model or data file that is not where it was looked for (the message lists the places)."""
