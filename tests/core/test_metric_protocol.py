"""The Metric protocol (update / compute / reset): morphogen.testing's checks, and every domain's metric classes."""
from __future__ import annotations

import math

import pytest

from morphogen.cli.plugins import discover
from morphogen.metrics import Metric
from morphogen.testing import assert_metric, assert_metric_classes, metric_classes


def mean_of(values) -> float:
    """The pure function of the toy metric below."""
    return sum(values) / len(values) if values else math.nan


class RunningMean:
    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.total, self.count = 0.0, 0

    def update(self, values) -> None:
        self.total += sum(values)
        self.count += len(values)

    def compute(self) -> float:
        return self.total / self.count if self.count else math.nan


class ForgetfulMean(RunningMean):
    def __init__(self):
        self.total, self.count = 0.0, 0

    def reset(self) -> None:  # a broken reset: keeps what was accumulated
        pass


class NoReset:
    def update(self, values) -> None: ...

    def compute(self) -> float: ...


def test_protocol_is_structural():
    assert isinstance(RunningMean(), Metric) and issubclass(RunningMean, Metric)
    assert not isinstance(NoReset(), Metric)


def test_assert_metric_checks_the_pure_function_and_reset():
    batches = [([1.0, 2.0],), ([6.0],)]
    assert_metric(RunningMean, batches, mean_of([1.0, 2.0, 6.0]))
    with pytest.raises(AssertionError, match=r"RunningMean: update x2 then compute\(\) differs .*3\.0 vs 2\.5"):
        assert_metric(RunningMean, batches, 2.5)
    with pytest.raises(AssertionError, match=r"ForgetfulMean: after reset\(\) and one update"):
        assert_metric(ForgetfulMean, batches, mean_of([1.0, 2.0, 6.0]))
    with pytest.raises(AssertionError, match="not a morphogen Metric .lacks reset"):
        assert_metric(NoReset, batches, 3.0)


@pytest.mark.parametrize("domain", sorted(discover()))
def test_every_domain_metric_class_follows_the_protocol(domain):
    """Each class of a domain's metrics package is a result dataclass or a Metric (update / compute / reset)."""
    metrics = assert_metric_classes(f"morphogen.{domain}.metrics")
    assert metrics, f"morphogen.{domain}.metrics has no accumulating metric class"
    _, records, _ = metric_classes(f"morphogen.{domain}.metrics")
    assert not set(metrics) & set(records)
