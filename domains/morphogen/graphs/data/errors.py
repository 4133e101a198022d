"""The error every reader of this domain raises for bad input: it names the file and the line or record."""
from __future__ import annotations


class GraphDataError(ValueError):
    """Bad input in a graph or molecule file. ``where`` is ``"path:line"`` or ``"path: graph i"``."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message
