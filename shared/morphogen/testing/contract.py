"""The process x sampler contract: what every pair of a Process class and a known sampler must honour.

The pairs are read, never listed: processes from :func:`morphogen.testing.examples.process_examples` (every
concrete Process subclass, each with its registered examples), samplers from the registry (core, installed entry
points, run-time registrations). For each pair :func:`check_contract` asserts:

1. the sampler is registered under its own ``name``, and a default-configured instance needs exactly the capability
   set its class declares (``requirements() == requires``);
2. compatibility is the declared set inclusion ``sampler.requires <= process.capabilities``, and
   ``compatible_samplers(process)`` agrees;
3. an incompatible pair raises :class:`~morphogen.samplers.base.IncompatibleSamplerError` naming the field, before
   any network evaluation;
4. a compatible pair samples a small padded batch: one field of shape (B, *shape), the example's dtype (the
   floating dtype asked for, or long class ids), padding entries 0, real entries finite;
5. the network evaluations made (counted on the denoiser), ``SampleResult.nfe`` and the sampler's documented
   ``expected_nfe()`` agree, and classifier-free guidance doubles the count (``expected_nfe(guided=True)``).

The batch is small and the steps few: the whole contract runs in seconds.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from morphogen.guidance.cfg import ClassifierFreeGuidance
from morphogen.processes.joint import JointProcess
from morphogen.samplers.base import IncompatibleSamplerError
from morphogen.samplers.registry import compatible_samplers, sampler_class, sampler_entries
from morphogen.testing.denoisers import CountingDenoiser, ZeroDenoiser
from morphogen.testing.examples import ProcessExample, process_examples

FIELD = "x"


class ContractError(AssertionError):
    """A process x sampler pair broke the contract."""


@dataclass(frozen=True)
class ContractCase:
    """One process example and one sampler name; ``compatible`` is the declared set inclusion."""

    example: ProcessExample
    sampler: str
    compatible: bool

    @property
    def id(self) -> str:
        return f"{self.example.name}-{self.sampler}"


@dataclass
class ContractReport:
    """What one :func:`check_contract` call saw: the NFE made without and with guidance (0 when incompatible)."""

    case: ContractCase
    nfe: int = 0
    nfe_guided: int = 0


def contract_cases(examples: list[ProcessExample] | None = None) -> list[ContractCase]:
    """Every (example, sampler) pair: all examples (default :func:`process_examples`) x all known samplers."""
    examples = process_examples() if examples is None else examples
    cases = []
    for ex in examples:
        caps = ex.process().capabilities
        for entry in sampler_entries():
            cases.append(ContractCase(ex, entry.name, entry.load().requires <= caps))
    return cases


def padding_mask(batch: int, shape: tuple[int, ...]) -> torch.Tensor:
    """(B, *shape) bool mask, all real except the last entry of the first sample (which is padding)."""
    mask = torch.ones(batch, *shape, dtype=torch.bool)
    mask.view(batch, -1)[0, -1] = False
    return mask


def _fail(case: ContractCase, msg: str) -> None:
    ex = case.example
    raise ContractError(f"{ex.cls.__name__} (example '{ex.name}') x sampler '{case.sampler}': {msg}")


def check_contract(case: ContractCase, batch: int = 3, steps: int = 3, dtype: torch.dtype = torch.float64,
                   seed: int = 0) -> ContractReport:
    """Run the contract (see the module docstring) on one pair; raises :class:`ContractError` on a breach."""
    ex, name = case.example, case.sampler
    cls = sampler_class(name)
    if cls.name != name:
        _fail(case, f"{cls.__module__}.{cls.__qualname__} is registered as '{name}' but calls itself '{cls.name}'")
    smp = cls(steps=steps, **dict(ex.sampler_options.get(name, {})))
    if smp.requirements() != cls.requires:
        _fail(case, f"a default {cls.__name__} needs {sorted(smp.requirements())}, its class declares "
                    f"{sorted(cls.requires)}")
    proc = ex.process(steps=steps)
    declared = cls.requires <= proc.capabilities
    if declared != case.compatible or cls.compatible_with(proc) != declared:
        _fail(case, f"compatibility must be requires {sorted(cls.requires)} <= capabilities "
                    f"{sorted(proc.capabilities)} ({declared})")
    if (name in compatible_samplers(proc)) != declared:
        _fail(case, f"compatible_samplers() {'omits' if declared else 'lists'} it")
    joint = JointProcess({FIELD: proc})
    shape = (batch, *ex.shape)

    def denoiser():
        gen = torch.Generator().manual_seed(seed + 1)
        inner = ex.oracle(proc, FIELD, generator=gen)
        return CountingDenoiser(inner if inner is not None else ZeroDenoiser(joint, {FIELD: ex.shape}))

    report = ContractReport(case)
    den = denoiser()
    if not declared:
        try:
            smp.sample(joint, den, {FIELD: shape}, generator=torch.Generator().manual_seed(seed), dtype=dtype)
        except IncompatibleSamplerError as e:
            if f"'{FIELD}'" not in str(e):
                _fail(case, f"the incompatibility error does not name the field: {e}")
        else:
            _fail(case, "an incompatible pair sampled instead of raising IncompatibleSamplerError")
        if den.calls:
            _fail(case, f"the denoiser was called {den.calls} times before the incompatibility was reported")
        return report

    mask = padding_mask(batch, ex.shape)
    try:
        res = smp.sample(joint, den, {FIELD: shape}, masks={FIELD: mask},
                         generator=torch.Generator().manual_seed(seed), dtype=dtype)
    except IncompatibleSamplerError as e:
        _fail(case, f"compatible by its declared capabilities, but refused at sampling time: {e}")
    if set(res.fields) != {FIELD}:
        _fail(case, f"returned fields {sorted(res.fields)}, expected ['{FIELD}']")
    x = res.fields[FIELD]
    if tuple(x.shape) != shape:
        _fail(case, f"samples of shape {tuple(x.shape)}, expected {shape}")
    want = ex.data_dtype or dtype
    if x.dtype != want:
        _fail(case, f"samples of dtype {x.dtype}, expected {want}")
    pad = x[~mask]
    if pad.numel() and bool((pad != 0).any()):
        _fail(case, f"padding entries changed: {pad.tolist()} (expected 0)")
    if x.is_floating_point() and not bool(torch.isfinite(x[mask]).all()):
        bad = (~torch.isfinite(x[mask])).sum().item()
        _fail(case, f"{bad} of {int(mask.sum())} real entries are not finite")
    expected = smp.expected_nfe()
    if not (den.calls == res.nfe == expected):
        _fail(case, f"{den.calls} network evaluations made, {res.nfe} reported, {expected} documented "
                    f"(expected_nfe) for steps={steps}")
    report.nfe = res.nfe
    den = denoiser()
    guided = smp.sample(joint, den, {FIELD: shape}, masks={FIELD: mask}, guidance=ClassifierFreeGuidance(1.0),
                        generator=torch.Generator().manual_seed(seed), dtype=dtype)
    expected_g = smp.expected_nfe(guided=True)
    if not (den.calls == guided.nfe == expected_g):
        _fail(case, f"with guidance {den.calls} evaluations made, {guided.nfe} reported, {expected_g} documented")
    report.nfe_guided = guided.nfe
    return report
