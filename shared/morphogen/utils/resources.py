"""Where a domain finds its data: one rule for every domain (presets: :func:`morphogen.bundle.load_preset`;
models by name: :func:`morphogen.bundle.load`).

- data: ``$MORPHOGEN_DATA``, else ``$MORPHOGEN_TEST_DATA``, else ``../shared/data`` beside the checkout.
"""
from __future__ import annotations

import os
from pathlib import Path

#: the repository root when running from a checkout (shared/morphogen/utils/resources.py -> root)
_CHECKOUT_ROOT = Path(__file__).resolve().parents[3]


def data_root() -> Path:
    """The folder of real datasets: $MORPHOGEN_DATA, else $MORPHOGEN_TEST_DATA, else ../shared/data of the checkout."""
    env = os.environ.get("MORPHOGEN_DATA") or os.environ.get("MORPHOGEN_TEST_DATA")
    return Path(env) if env else _CHECKOUT_ROOT.parent / "shared" / "data"
