"""The one thread policy of every command: ``$MORPHOGEN_THREADS`` if set, else what torch chose, at most 4.

Small networks on a few cores gain nothing from more intra-op threads and lose to oversubscription when a second
job shares the machine; set ``MORPHOGEN_THREADS`` (or pass ``threads``) to choose.
"""
from __future__ import annotations

import os

MAX_DEFAULT_THREADS = 4


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads by the policy above and return the number set."""
    import torch

    if threads is None:
        env = os.environ.get("MORPHOGEN_THREADS", "").strip()
        if env:
            try:
                threads = int(env)
            except ValueError:
                raise ValueError(f"MORPHOGEN_THREADS must be a positive integer, got {env!r}") from None
        else:
            threads = min(torch.get_num_threads(), MAX_DEFAULT_THREADS)
    if int(threads) < 1:
        raise ValueError(f"the number of threads must be >= 1, got {threads}")
    torch.set_num_threads(int(threads))
    return int(threads)
