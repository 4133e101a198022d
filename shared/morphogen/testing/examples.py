"""Every concrete :class:`~morphogen.processes.base.Process` class, each with small example instances and the exact
denoiser (oracle) of a known target.

:func:`process_classes` imports every module of :mod:`morphogen.processes` and walks ``Process.__subclasses__()``
recursively: the concrete classes of morphogen's own modules (a domain's process classes once their module is
imported; classes defined in test files are not counted). :func:`process_examples` gives the registered
:class:`ProcessExample` of each, in registration order, and raises :class:`MissingExampleError` naming every class
that has none: a new process class cannot slip past the process x sampler contract test
(:mod:`morphogen.testing.contract`) or the oracle benchmark (benchmarks/core_oracle.py), which both read this list.

Adding a process: register an example next to the class (core processes: below), e.g.

    register_example(ProcessExample(
        "my_process", MyProcess, make=MyProcess, shape=(4,),
        target=GaussianMixture(...), oracles={"score": lambda field, proc, gen: MyOracle(field, proc)}))
"""
from __future__ import annotations

import importlib
import inspect
import math
import pkgutil
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch

from morphogen.processes.base import Process

#: oracle(field, process, generator) -> a denoiser (``prediction_kinds`` + ``__call__(state, condition, drop)``)
OracleFactory = Callable[[str, Process, "torch.Generator | None"], Any]


class MissingExampleError(LookupError):
    """A concrete Process class has no registered :class:`ProcessExample`."""


@dataclass(frozen=True)
class ProcessExample:
    """A small default instance of one Process class and the exact denoiser of a known target.

    Attributes:
        name: a short label, unique over all examples (a row of the oracle benchmark): "vp", "masked", ...
        cls: the Process class this example stands for (``make`` must build exactly this class).
        make: ``make(**overrides)`` -> a fresh instance; overrides are constructor arguments (see ``steps_argument``).
        shape: the data shape of one sample, without the batch dimension: a field is (B, *shape).
        target: the distribution the oracles are exact for (GaussianMixture, CategoricalProduct, ...), or None.
        oracles: label -> ``oracle(field, process, generator)``; the first is the default. Labels say what the
            oracle predicts ("score", "velocity", "logits") or how ("mean", "sample" for Bayesian flows). Empty when
            the process has no oracle yet (the contract test then uses a zero prediction).
        data_dtype: dtype of the samples (None: the floating dtype asked for; torch.long for class ids).
        sampler_options: sampler name -> options that suit this example (e.g. the Langevin snr on the torus).
        steps_argument: the constructor argument that must equal the sampler's steps (a Bayesian flow defined on a
            fixed number of steps: "steps" of PeriodicBFN); None when the process does not depend on it.
    """

    name: str
    cls: type[Process]
    make: Callable[..., Process]
    shape: tuple[int, ...]
    target: Any = None
    oracles: Mapping[str, OracleFactory] = field(default_factory=dict)
    data_dtype: torch.dtype | None = None
    sampler_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    steps_argument: str | None = None

    def process(self, steps: int | None = None, **overrides: Any) -> Process:
        """A fresh instance; ``steps`` is passed as ``steps_argument`` where the process has one."""
        if steps is not None and self.steps_argument:
            overrides[self.steps_argument] = int(steps)
        proc = self.make(**overrides)
        if type(proc) is not self.cls:
            raise TypeError(f"example '{self.name}' of {self.cls.__name__} built a {type(proc).__name__}")
        return proc

    def oracle(self, process: Process, field: str = "x", which: str | None = None,
               generator: torch.Generator | None = None):
        """The exact denoiser ``which`` (default: the first) for ``process`` on field ``field``; None without one."""
        if not self.oracles:
            return None
        label = which if which is not None else next(iter(self.oracles))
        if label not in self.oracles:
            raise KeyError(f"example '{self.name}' has no oracle '{label}'; it has {list(self.oracles)}")
        return self.oracles[label](field, process, generator)


_EXAMPLES: dict[str, ProcessExample] = {}


def register_example(example: ProcessExample) -> ProcessExample:
    """Add an example (names are unique; registering the same name twice is an error)."""
    if example.name in _EXAMPLES:
        raise ValueError(f"a process example named '{example.name}' exists already "
                         f"(for {_EXAMPLES[example.name].cls.__name__})")
    if not (inspect.isclass(example.cls) and issubclass(example.cls, Process)):
        raise TypeError(f"example '{example.name}': cls must be a Process subclass, got {example.cls!r}")
    _EXAMPLES[example.name] = example
    return example


def _import_all(package: str) -> None:
    pkg = importlib.import_module(package)
    for info in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(info.name)


def process_classes(package: str = "morphogen.processes") -> list[type[Process]]:
    """Every concrete Process subclass defined in a ``morphogen.`` module, after importing every module of
    ``package``; sorted by module and name."""
    _import_all(package)
    seen: dict[type, None] = {}
    stack = list(Process.__subclasses__())
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen[cls] = None
        stack.extend(cls.__subclasses__())
    found = [c for c in seen if not inspect.isabstract(c) and c.__module__.startswith("morphogen.")]
    return sorted(found, key=lambda c: (c.__module__, c.__qualname__))


def examples_of(cls: type[Process]) -> list[ProcessExample]:
    """The examples registered for exactly this class (a subclass needs its own)."""
    return [e for e in _EXAMPLES.values() if e.cls is cls]


def process_examples(classes: Sequence[type[Process]] | None = None) -> list[ProcessExample]:
    """The examples of every class in ``classes`` (default: :func:`process_classes`), in registration order.

    Raises: :class:`MissingExampleError` naming each class without an example."""
    classes = process_classes() if classes is None else list(classes)
    missing = [c for c in classes if not examples_of(c)]
    if missing:
        names = ", ".join(f"{c.__module__}.{c.__qualname__}" for c in missing)
        raise MissingExampleError(
            f"no ProcessExample for {names}: register one with morphogen.testing.register_example (core processes: "
            "in shared/morphogen/testing/examples.py), with a small instance, its data shape and, where one exists, "
            "the exact oracle of a known target; the process x sampler contract test and benchmarks/core_oracle.py "
            "read the examples")
    wanted = set(classes)
    return [e for e in _EXAMPLES.values() if e.cls in wanted]


# ---------------------------------------------------------------------------------------------------------------
# the core's examples (the targets of tests/core and benchmarks/core_oracle.py)
# ---------------------------------------------------------------------------------------------------------------
def _register_core() -> None:
    from morphogen.oracles.bfn import BFNCategoricalOracle, BFNGaussianMixtureOracle, BFNVonMisesMixtureOracle
    from morphogen.oracles.categorical import BernoulliOracle, CategoricalProductOracle
    from morphogen.oracles.gaussian_mixture import GaussianMixture, GaussianMixtureOracle
    from morphogen.oracles.torus import TorusFlowOracle, WrappedGaussianOracle, WrappedNormalMixture
    from morphogen.processes import (
        BernoulliDiffusion, ContinuousBFN, DiscreteBFN, FlowMatching, GaussianProcess, MaskedDiffusion, PeriodicBFN,
        TorusFlowMatching, UniformDiscrete, WrappedGaussian,
    )
    from morphogen.schedules import VE, SubVP, VPCosine, VPLinear
    from morphogen.testing.targets import CategoricalProduct, IndependentBernoulli, VonMisesMixture

    ang = torch.arange(4) * math.pi / 2
    ring = GaussianMixture(torch.tensor([0.4, 0.3, 0.2, 0.1]), torch.stack([2 * torch.cos(ang), 2 * torch.sin(ang)], 1),
                           torch.tensor([0.3]))  # four modes on a circle of radius 2, unequal weights
    cats = CategoricalProduct(torch.softmax(2.0 * torch.randn(6, 5, generator=torch.Generator().manual_seed(0)), -1))
    bits = IndependentBernoulli(torch.linspace(0.02, 0.98, 64).view(1, 8, 8))
    vm = VonMisesMixture(torch.tensor([0.6, 0.4]), torch.tensor([0.2, 0.7]), torch.tensor([30.0, 10.0]))
    wn = WrappedNormalMixture([0.35, 0.65], [0.15, 0.6], [0.05, 0.1])

    def gm(kind):
        return {kind: lambda f, p, g: GaussianMixtureOracle(f, ring, p, kind)}

    for name, sched in (("vp", VPLinear), ("vp_cosine", VPCosine), ("ve", lambda: VE(sigma_max=10.0)),
                        ("subvp", SubVP)):
        register_example(ProcessExample(name, GaussianProcess, lambda s=sched, **kw: GaussianProcess(s(), **kw), (2,),
                                        ring, gm("score")))
    register_example(ProcessExample("flow_matching", FlowMatching, FlowMatching, (2,), ring, gm("velocity")))
    register_example(ProcessExample(
        "masked", MaskedDiffusion, lambda **kw: MaskedDiffusion(5, **kw), (6,), cats,
        {"logits": lambda f, p, g: CategoricalProductOracle(f, cats.probs, p)}, data_dtype=torch.long))
    register_example(ProcessExample(
        "uniform", UniformDiscrete, lambda **kw: UniformDiscrete(5, **kw), (6,), cats,
        {"logits": lambda f, p, g: CategoricalProductOracle(f, cats.probs, p)}, data_dtype=torch.long))
    register_example(ProcessExample(
        "bernoulli", BernoulliDiffusion, BernoulliDiffusion, (1, 8, 8), bits,
        {"logit": lambda f, p, g: BernoulliOracle(f, bits.probs, p)}))
    register_example(ProcessExample(
        "bfn_discrete", DiscreteBFN, lambda **kw: DiscreteBFN(5, **kw), (6,), cats,
        {"logits": lambda f, p, g: BFNCategoricalOracle(f, cats.probs)}, data_dtype=torch.long))
    register_example(ProcessExample(
        "bfn_continuous", ContinuousBFN, ContinuousBFN, (2,), ring,
        {mode: (lambda f, p, g, mode=mode: BFNGaussianMixtureOracle(f, p, ring.weights, ring.means, ring.stds,
                                                                     mode=mode, generator=g))
         for mode in ("mean", "sample")}))
    register_example(ProcessExample(
        "bfn_periodic", PeriodicBFN, PeriodicBFN, (1,), vm,
        {mode: (lambda f, p, g, mode=mode: BFNVonMisesMixtureOracle(f, p, vm.weights, vm.locs, vm.kappas, mode=mode,
                                                                     generator=g))
         for mode in ("mean", "sample")}, steps_argument="steps"))
    register_example(ProcessExample(
        "wrapped_gaussian", WrappedGaussian, WrappedGaussian, (1,), wn,
        {"score": lambda f, p, g: WrappedGaussianOracle(f, wn, p)},
        sampler_options={"pc": {"snr": 0.2}, "langevin": {"snr": 0.2}}))
    from morphogen.oracles.zero_com import ZeroCoMGaussianMixture, ZeroCoMGaussianMixtureOracle
    from morphogen.processes import ZeroCoMGaussian

    tri = torch.tensor([[1.0, 0.0], [-0.5, 0.866], [-0.5, -0.866]])  # an equilateral triangle, and it mirrored
    shapes = ZeroCoMGaussianMixture(torch.tensor([0.6, 0.4]), torch.stack([tri, -tri]), torch.tensor([0.15]))
    register_example(ProcessExample(
        "zero_com", ZeroCoMGaussian, lambda **kw: ZeroCoMGaussian(VPCosine(), **kw), (3, 2), shapes,
        {"score": lambda f, p, g: ZeroCoMGaussianMixtureOracle(f, shapes, p, "score")}))
    register_example(ProcessExample(
        "torus_flow_matching", TorusFlowMatching, TorusFlowMatching, (1,), wn,
        {"velocity": lambda f, p, g: TorusFlowOracle(f, wn, p, "velocity")}))


_register_core()
