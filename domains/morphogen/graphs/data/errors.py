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
    check_file(path, "JSON file")
    with open(path, encoding="utf-8-sig") as fh:
        try:
            return json.load(fh)
        except json.JSONDecodeError as err:
            raise GraphDataError(f"{path}:{err.lineno}", f"not valid JSON ({err.msg})") from None
        except UnicodeDecodeError as err:
            raise not_text(path, err) from None


def check_file(path: Path, what: str = "file") -> None:
    """A folder where a file is expected is a :class:`GraphDataError`, a missing file a core ``NotFoundError``."""
    from morphogen.errors import NotFoundError

    if path.is_dir():
        raise GraphDataError(str(path), f"is a folder, expected a {what}")
    if not path.is_file():
        raise NotFoundError(f"{what} not found: {path}")


def not_text(path: Path, err: UnicodeDecodeError) -> GraphDataError:
    """The error for a file that is not UTF-8 text (most often a binary file given by mistake)."""
    byte = err.object[err.start]
    return GraphDataError(str(path), f"not a UTF-8 text file (byte 0x{byte:02x} cannot be decoded; a binary file?)")
