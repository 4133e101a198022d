"""The error every reader of this domain raises for bad input: it names the file and the line or record."""
from __future__ import annotations

from pathlib import Path

from morphogen.errors import DataError


class GraphDataError(DataError):
    """Bad input in a graph or molecule file (a core :class:`~morphogen.errors.DataError`, so a ``ValueError``).
    ``where`` is ``"path:line"`` or ``"path: graph i"``."""

    def __init__(self, where: str, message: str):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.reason = message


def load_json(path: str | Path):
    """Parse a JSON file; a syntax error becomes a :class:`GraphDataError` naming the file and line."""
    import json

    path = Path(path)
    with open(path, encoding="utf-8") as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as err:
            raise GraphDataError(f"{path}:{err.lineno}", f"not valid JSON ({err.msg})") from None
