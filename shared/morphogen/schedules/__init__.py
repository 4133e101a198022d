"""Schedules: Gaussian (alpha, sigma), discrete keep probabilities, Bayesian-flow accuracies."""
from morphogen.schedules.bfn import ContinuousAccuracy, DiscreteAccuracy, VonMisesAccuracy
from morphogen.schedules.discrete import CosineKeep, LinearKeep, PolynomialKeep
from morphogen.schedules.gaussian import VE, LinearInterpolant, SubVP, VPCosine, VPLinear

__all__ = [
    "ContinuousAccuracy", "CosineKeep", "DiscreteAccuracy", "LinearInterpolant", "LinearKeep", "PolynomialKeep",
    "SubVP", "VE", "VPCosine", "VPLinear", "VonMisesAccuracy",
]
