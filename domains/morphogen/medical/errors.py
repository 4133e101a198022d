"""Medical domain errors: each names the file (and the record) it is about."""
from __future__ import annotations

from morphogen.errors import DataError


class MedicalDataError(DataError):
    """An image, mask, video or table that cannot be used (the message names the file and, where there is one,
    the record)."""
