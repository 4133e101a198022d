"""Test helpers every domain uses: symmetry assertions, the process x sampler contract, the Metric protocol.

- :func:`assert_equivariant` / :func:`assert_invariant` with the groups :class:`Permutation` (nodes, with
  padding masks), :class:`Euclidean` (E(3): rotation, reflection, translation) and :class:`PeriodicTranslation`
  (whole cells and common shifts of fractional coordinates);
- :func:`process_classes`, :func:`process_examples` (every concrete Process subclass with small examples and exact
  oracles; :func:`register_example` for a new one), :func:`contract_cases` and :func:`check_contract` (every
  process example x every known sampler);
- :class:`Metric` (update / compute / reset), :func:`assert_metric` (against the pure function) and
  :func:`assert_metric_classes` (a census of a metrics package).

Importing this package imports no domain.
"""
from morphogen.metrics.protocol import Metric
from morphogen.testing.contract import ContractCase, ContractError, ContractReport, check_contract, contract_cases
from morphogen.testing.denoisers import CountingDenoiser, ZeroDenoiser
from morphogen.testing.equivariance import EquivarianceError, SymmetryReport, assert_equivariant, assert_invariant
from morphogen.testing.examples import (
    MissingExampleError, ProcessExample, examples_of, process_classes, process_examples, register_example,
)
from morphogen.testing.groups import Euclidean, PeriodicTranslation, Permutation, Symmetry, random_rotation
from morphogen.testing.metric import assert_metric, assert_metric_classes, metric_classes
from morphogen.testing.targets import CategoricalProduct, IndependentBernoulli, VonMisesMixture

__all__ = [
    "CategoricalProduct", "ContractCase", "ContractError", "ContractReport", "CountingDenoiser", "EquivarianceError",
    "Euclidean", "IndependentBernoulli", "Metric", "MissingExampleError", "PeriodicTranslation", "Permutation",
    "ProcessExample", "Symmetry", "SymmetryReport", "VonMisesMixture", "ZeroDenoiser", "assert_equivariant",
    "assert_invariant", "assert_metric", "assert_metric_classes", "check_contract", "contract_cases",
    "examples_of", "metric_classes", "process_classes", "process_examples", "random_rotation", "register_example",
]
