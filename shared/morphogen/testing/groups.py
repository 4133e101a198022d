"""The symmetry groups :func:`morphogen.testing.assert_equivariant` checks, as actions on named tensors.

A :class:`Symmetry` says which inputs of a function a group moves and how, and which outputs must move with them
(equivariant); every other output must stay as it is (invariant). ``draw`` picks a random group element for one
batch; each sample of the batch gets its own element, so a function that mixes samples is caught too.

- :class:`Permutation`: relabelling the nodes (atoms, tokens) of each sample, within its real (unpadded) nodes.
- :class:`Euclidean`: E(3) on 3-D coordinates: rotations, reflections (improper rotations), translations.
- :class:`PeriodicTranslation`: fractional coordinates moved by whole cells, or every atom of a sample moved by
  one common shift, modulo the period.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import torch
from torch import Tensor

Inputs = Mapping[str, Any]


class GroupElement(ABC):
    """One drawn group element: how it moves the inputs and what it predicts for each output."""

    #: e.g. "rotation" (used in assertion messages)
    kind: str

    @abstractmethod
    def apply_inputs(self, inputs: Inputs) -> dict[str, Any]:
        """The transformed inputs (inputs the group does not move are passed through)."""

    def expected(self, name: str, output: Tensor) -> Tensor:
        """What output ``name`` of the original inputs becomes under this element (identity: invariant)."""
        return output

    def deviation(self, name: str, actual: Tensor, expected: Tensor) -> Tensor:
        """|actual - expected| entrywise (periodic outputs compare modulo their period)."""
        return (actual - expected).abs()


class Symmetry(ABC):
    """A group acting on a function's named inputs and outputs. ``outputs`` names the equivariant outputs."""

    outputs: Any

    @abstractmethod
    def element_kinds(self) -> tuple[str, ...]:
        """The kinds of element tested one at a time (e.g. ``("rotation", "translation")``)."""

    @abstractmethod
    def draw(self, inputs: Inputs, kind: str, generator: torch.Generator) -> GroupElement:
        """A random element of ``kind`` for the batch in ``inputs``."""

    def invariant(self) -> "Symmetry":
        """The same action with no equivariant output: every output must be unchanged."""
        return replace(self, outputs={} if isinstance(self.outputs, Mapping) else ())  # type: ignore[type-var]

    def equivariant_outputs(self) -> set[str]:
        return set(self.outputs)


def _tensor(inputs: Inputs, name: str, what: str) -> Tensor:
    if name not in inputs:
        raise KeyError(f"{what} names the input '{name}', but the inputs are {sorted(inputs)}")
    x = inputs[name]
    if not isinstance(x, Tensor):
        raise TypeError(f"{what}: input '{name}' must be a tensor, got {type(x).__name__}")
    return x


def _node_mask(mask: Tensor, like: Tensor, upto: int) -> Tensor:
    """A (B, N) mask as a float factor broadcastable against ``like`` (B, N, ...) (``upto`` leading dims)."""
    m = mask.to(like.dtype)
    return m.reshape(*m.shape, *([1] * (like.dim() - upto)))


# -- permutations ------------------------------------------------------------------------------------------------
@dataclass
class Permutation(Symmetry):
    """Relabel the nodes of each sample: ``x[b, i] -> x[b, perm_b[i]]`` along every node dimension.

    Args:
        inputs: input name -> its node dimensions, e.g. ``{"x": (1,), "adj": (1, 2), "mask": (1,)}`` for x (B, N, F),
            adj (B, N, N); inputs not named here are passed unchanged.
        outputs: equivariant output name -> its node dimensions (permuted like the inputs); every other output
            must be unchanged (a graph-level prediction, a lattice).
        mask: name of a (B, N) input marking real nodes (1 / True): each sample permutes its real nodes among
            themselves and padding stays where it is. None: all N nodes of every sample are permuted.
    """

    inputs: Mapping[str, tuple[int, ...]]
    outputs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    mask: str | None = None

    def element_kinds(self) -> tuple[str, ...]:
        return ("permutation",)

    def draw(self, inputs: Inputs, kind: str, generator: torch.Generator) -> GroupElement:
        if not self.inputs:
            raise ValueError("Permutation needs at least one input with node dimensions")
        first, dims = next(iter(self.inputs.items()))
        ref = _tensor(inputs, first, "Permutation")
        b, n = ref.shape[0], ref.shape[dims[0]]
        real = (_tensor(inputs, self.mask, "Permutation mask").bool().reshape(b, n) if self.mask
                else torch.ones(b, n, dtype=torch.bool))
        perm = torch.arange(n).repeat(b, 1)
        for i in range(b):
            idx = real[i].nonzero().flatten()
            if idx.numel() < 2:
                continue
            while True:  # a permutation that moves something
                shuffled = idx[torch.randperm(idx.numel(), generator=generator)]
                if not torch.equal(shuffled, idx):
                    break
            perm[i, idx] = shuffled
        return _PermutationElement(self, perm.to(ref.device), n)


@dataclass
class _PermutationElement(GroupElement):
    group: Permutation
    perm: Tensor  # (B, N): position i of sample b takes the node perm[b, i]
    n: int
    kind: str = "permutation"

    def _apply(self, name: str, x: Tensor, dims: tuple[int, ...]) -> Tensor:
        for d in dims:
            if x.shape[d] != self.n:
                raise ValueError(f"Permutation: '{name}' has size {x.shape[d]} along dim {d}, expected {self.n} nodes")
            shape = [x.shape[0]] + [1] * (x.dim() - 1)
            shape[d] = self.n
            x = torch.take_along_dim(x, self.perm.to(x.device).reshape(shape), dim=d)
        return x

    def apply_inputs(self, inputs: Inputs) -> dict[str, Any]:
        out = dict(inputs)
        for name, dims in self.group.inputs.items():
            out[name] = self._apply(name, _tensor(inputs, name, "Permutation"), tuple(dims))
        return out

    def expected(self, name: str, output: Tensor) -> Tensor:
        dims = self.group.outputs.get(name)
        return output if dims is None else self._apply(name, output, tuple(dims))


# -- E(3) --------------------------------------------------------------------------------------------------------
EUCLIDEAN_KINDS = ("rotation", "reflection", "translation")
_POINT, _VECTOR = "point", "vector"


def random_rotation(batch: int, generator: torch.Generator, dtype: torch.dtype = torch.float64,
                    proper: bool = True) -> Tensor:
    """(B, 3, 3) Haar-random orthogonal matrices, det +1 (``proper``) or det -1 (a rotation times a reflection)."""
    a = torch.randn(batch, 3, 3, generator=generator, dtype=torch.float64)
    q, r = torch.linalg.qr(a)
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)  # uniform (Haar) on O(3)
    det = torch.linalg.det(q)
    want = 1.0 if proper else -1.0
    flip = torch.where(det * want < 0, -1.0, 1.0).to(q.dtype)
    q = q * flip[:, None, None]  # -Q flips the determinant in 3-D
    return q.to(dtype)


@dataclass
class Euclidean(Symmetry):
    """Rigid motions of 3-D coordinates (last dimension 3): ``x -> R x + s`` per sample.

    Args:
        inputs: input name -> ``"point"`` (rotated and translated: positions) or ``"vector"`` (rotated only:
            velocities, forces, lattice vectors as rows of (B, 3, 3)).
        outputs: equivariant output name -> ``"point"`` or ``"vector"``; every other output must be unchanged
            (energies, distances, atom types).
        kinds: the elements tested, each on its own: ``"rotation"`` (det +1), ``"reflection"`` (det -1: E(3) rather
            than SE(3)), ``"translation"``.
        mask: name of a (B, N) input marking real points of (B, N, 3) inputs: padding is not translated.
    """

    inputs: Mapping[str, str]
    outputs: Mapping[str, str] = field(default_factory=dict)
    kinds: tuple[str, ...] = EUCLIDEAN_KINDS
    mask: str | None = None

    def __post_init__(self):
        for where, spec in (("inputs", self.inputs), ("outputs", self.outputs)):
            bad = {k: v for k, v in spec.items() if v not in (_POINT, _VECTOR)}
            if bad:
                raise ValueError(f"Euclidean {where}: each entry is 'point' or 'vector', got {bad}")
        unknown = set(self.kinds) - set(EUCLIDEAN_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"Euclidean kinds must be a non-empty subset of {EUCLIDEAN_KINDS}, got {self.kinds}")

    def element_kinds(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    def draw(self, inputs: Inputs, kind: str, generator: torch.Generator) -> GroupElement:
        name = next(iter(self.inputs))
        ref = _tensor(inputs, name, "Euclidean")
        b, dtype = ref.shape[0], ref.dtype if ref.is_floating_point() else torch.float64
        eye = torch.eye(3, dtype=dtype).expand(b, 3, 3)
        rot = random_rotation(b, generator, dtype, proper=kind != "reflection") if kind != "translation" else eye
        shift = (torch.randn(b, 3, generator=generator, dtype=torch.float64).to(dtype) * 3.0
                 if kind == "translation" else torch.zeros(b, 3, dtype=dtype))
        mask = _tensor(inputs, self.mask, "Euclidean mask") if self.mask else None
        return _EuclideanElement(self, rot.to(ref.device), shift.to(ref.device), mask, kind)


@dataclass
class _EuclideanElement(GroupElement):
    group: Euclidean
    rot: Tensor  # (B, 3, 3)
    shift: Tensor  # (B, 3)
    mask: Tensor | None
    kind: str

    def _move(self, name: str, x: Tensor, how: str) -> Tensor:
        if x.shape[-1] != 3:
            raise ValueError(f"Euclidean: '{name}' must end in a dimension of size 3, got shape {tuple(x.shape)}")
        r = self.rot.to(x.dtype)
        y = torch.einsum("bij,b...j->b...i", r, x.reshape(x.shape[0], -1, 3)).reshape(x.shape)
        if how == _POINT:
            s = self.shift.to(x.dtype).reshape(x.shape[0], *([1] * (x.dim() - 2)), 3)
            if self.mask is not None:
                s = s * _node_mask(self.mask, x, self.mask.dim())
            y = y + s
        return y

    def apply_inputs(self, inputs: Inputs) -> dict[str, Any]:
        out = dict(inputs)
        for name, how in self.group.inputs.items():
            out[name] = self._move(name, _tensor(inputs, name, "Euclidean"), how)
        return out

    def expected(self, name: str, output: Tensor) -> Tensor:
        how = self.group.outputs.get(name)
        return output if how is None else self._move(name, output, how)


# -- periodic translations ----------------------------------------------------------------------------------------
PERIODIC_KINDS = ("integer", "common")


def wrap_difference(d: Tensor, period: float) -> Tensor:
    """d modulo the period, in [-period / 2, period / 2)."""
    return torch.remainder(d + 0.5 * period, period) - 0.5 * period


@dataclass
class PeriodicTranslation(Symmetry):
    """Translations of periodic (fractional) coordinates (B, N, D), modulo ``period``.

    Args:
        inputs: names of the periodic inputs (moved); other inputs pass unchanged.
        outputs: equivariant outputs, positions that move with the atoms (compared modulo the period); every other
            output must be unchanged (a lattice, a predicted noise or displacement, atom types).
        period: 1.0 for fractional coordinates.
        kinds: ``"integer"``: each real entry moves by a random whole number of periods in [-3, 3], which must change
            nothing (modulo the period); ``"common"``: all real atoms of a sample move by one random shift (D,).
        mask: name of a (B, N) input marking real atoms; padding is not moved (and equivariant outputs are expected
            to stay put there).
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...] = ()
    period: float = 1.0
    kinds: tuple[str, ...] = PERIODIC_KINDS
    mask: str | None = None

    def __post_init__(self):
        self.inputs, self.outputs = tuple(self.inputs), tuple(self.outputs)
        unknown = set(self.kinds) - set(PERIODIC_KINDS)
        if unknown or not self.kinds:
            raise ValueError(f"PeriodicTranslation kinds must be a non-empty subset of {PERIODIC_KINDS}, "
                             f"got {self.kinds}")

    def element_kinds(self) -> tuple[str, ...]:
        return tuple(self.kinds)

    def draw(self, inputs: Inputs, kind: str, generator: torch.Generator) -> GroupElement:
        ref = _tensor(inputs, self.inputs[0], "PeriodicTranslation")
        b, d = ref.shape[0], ref.shape[-1]
        dtype = ref.dtype if ref.is_floating_point() else torch.float64
        if kind == "integer":
            ints = torch.randint(-3, 4, tuple(ref.shape), generator=generator)
            delta, common = ints.to(dtype) * self.period, None
        else:
            common = (torch.rand(b, d, generator=generator, dtype=torch.float64) * self.period).to(dtype)
            delta = None
        mask = _tensor(inputs, self.mask, "PeriodicTranslation mask") if self.mask else None
        return _PeriodicElement(self, delta, common, mask, kind)


@dataclass
class _PeriodicElement(GroupElement):
    group: PeriodicTranslation
    delta: Tensor | None  # (B, N, D) whole periods ("integer")
    common: Tensor | None  # (B, D) one shift per sample ("common")
    mask: Tensor | None
    kind: str

    def _shift_of(self, x: Tensor) -> Tensor:
        if self.delta is not None:
            if self.delta.shape != x.shape:
                raise ValueError(f"PeriodicTranslation: all periodic inputs need one shape, got {tuple(x.shape)} "
                                 f"and {tuple(self.delta.shape)}")
            s = self.delta.to(x)
        else:
            s = self.common.to(x).reshape(x.shape[0], *([1] * (x.dim() - 2)), x.shape[-1])
        if self.mask is not None:
            s = s * _node_mask(self.mask, x, self.mask.dim())
        return s

    def apply_inputs(self, inputs: Inputs) -> dict[str, Any]:
        out = dict(inputs)
        for name in self.group.inputs:
            x = _tensor(inputs, name, "PeriodicTranslation")
            out[name] = x + self._shift_of(x)
        return out

    def expected(self, name: str, output: Tensor) -> Tensor:
        if name not in self.group.outputs or self.common is None:
            return output  # invariant, or equivariant under whole periods (equal modulo the period)
        return output + self._shift_of(output)

    def deviation(self, name: str, actual: Tensor, expected: Tensor) -> Tensor:
        if name in self.group.outputs:
            return wrap_difference(actual - expected, self.group.period).abs()
        return (actual - expected).abs()


def describe(kind: str, group: Symmetry) -> str:
    """A short name of the tested element for messages, e.g. "Euclidean rotation"."""
    return f"{type(group).__name__} {kind}" if kind != "permutation" else "node permutation"


__all__ = ["EUCLIDEAN_KINDS", "Euclidean", "GroupElement", "PERIODIC_KINDS", "PeriodicTranslation", "Permutation",
           "Symmetry", "describe", "random_rotation", "wrap_difference"]
