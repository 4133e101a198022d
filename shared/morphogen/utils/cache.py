"""Where domains keep derived data they can rebuild (featurised datasets, reference statistics), and how they key it.

``$MORPHOGEN_CACHE`` names the folder (default ``~/.cache/morphogen``); ``off``, ``none``, ``0``, ``false`` or an
empty value turn caching off. A cache entry is keyed by everything its content depends on, a source file by
:func:`file_fingerprint` (path, size, modification time), so an edited file is read again.
"""
from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path | None:
    """``$MORPHOGEN_CACHE`` (default ``~/.cache/morphogen``); None when caching is off."""
    env = os.environ.get("MORPHOGEN_CACHE")
    if env is not None and env.strip().lower() in ("off", "none", "0", "false", ""):
        return None
    return Path(env).expanduser() if env else Path.home() / ".cache" / "morphogen"


def file_fingerprint(path: str | os.PathLike) -> list:
    """[resolved path, size, mtime in ns] of a file: part of a cache key."""
    p = Path(path).resolve()
    st = p.stat()
    return [str(p), st.st_size, st.st_mtime_ns]
