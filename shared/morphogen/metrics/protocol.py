"""The protocol every accumulating metric follows (the core's and each domain's ``metrics`` room).

A metric comes twice: a pure function of a whole set (``csp_match(samples, references)``) and an accumulating class
for sets that arrive in batches. The class is fed with ``update(...)`` any number of times, ``compute()`` gives
the value over everything fed since it was made or last ``reset()``, and equals the pure function on the
concatenated inputs. ``compute()`` does not consume: calling it twice gives the same value. Options and references
given to the constructor survive ``reset()``; only what was accumulated is dropped.

(The name ``compute`` is what every domain's metric classes already used, and what torchmetrics users know.)
"""
from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Metric(Protocol):
    """update(...) -> accumulate one batch; compute() -> the value so far; reset() -> forget what was accumulated.

    ``isinstance(obj, Metric)`` and ``issubclass(cls, Metric)`` check that the three methods exist;
    :func:`morphogen.testing.assert_metric` checks how they behave.
    """

    def update(self, *args: Any, **kwargs: Any) -> Any: ...

    def compute(self) -> Any: ...

    def reset(self) -> None: ...
