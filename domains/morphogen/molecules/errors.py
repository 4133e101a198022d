"""The error every molecule reader raises for bad input: it names the file and the line or record."""
from __future__ import annotations

from morphogen.errors import DataError


class MoleculeDataError(DataError):
    """Bad input in a molecule file or record. ``where`` is ``"path:line"`` or ``"<record k>"``; ``reason`` says
    what is wrong with it."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message
