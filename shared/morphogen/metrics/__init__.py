"""Metrics of the core (MMD, categorical distances) and the :class:`Metric` protocol of accumulating metrics."""
from morphogen.metrics.protocol import Metric

__all__ = ["Metric"]
