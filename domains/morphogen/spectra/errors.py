"""Spectra's error types, in a module that imports nothing heavy (the command line checks its inputs with them
before numpy, RDKit or tblite are loaded)."""
from __future__ import annotations

from morphogen.errors import DataError, MorphogenError


class SpectraDataError(DataError):
    """Bad input in a spectra file, record or option file. ``where`` is ``"path:line"`` (or ``"path"``, or
    ``"<record k>"``); ``reason`` says what is wrong with it."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message


class SimulationError(MorphogenError):
    """A molecule whose spectrum could not be computed (no 3-D embedding, a relaxation that does not converge,
    an imaginary mode, no IR-active mode). The message is the reason written to ``failed.csv``."""
