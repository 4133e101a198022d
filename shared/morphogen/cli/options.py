"""The command options every domain shares, defined once: same spelling, same meaning, same checks.

``@train_command`` adds the training options to a domain's ``train`` command and hands them over as one
:class:`morphogen.train.options.TrainOptions` (parameter ``options``); ``@sampling_command`` adds the sampling
options as :class:`SamplingOptions` (parameter ``sampling``), and holds ``--out`` for the run: the folder is
checked for being writable before any work, and a second run into it fails at once
(:func:`morphogen.utils.outputs.exclusive_output`). A domain's command declares only its own options::

    @app.command()
    @train_command
    def train(options: TrainOptions, limit: Optional[int] = typer.Option(None, help="...")): ...

Typer reads the combined signature, so ``--help`` lists the shared options beside the domain's. Only typer is
imported here (``morphogen --help`` stays fast).
"""
from __future__ import annotations

import functools
import inspect
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from morphogen.train.options import TrainOptions

SAMPLER_HELP = ("Sampler: NAME or NAME:key=value,... (default: the model's measured-best setting; naming the same "
                "sampler keeps its settings and changes the given ones). `morphogen info` lists the samplers.")


@dataclass(frozen=True)
class SamplingOptions:
    """The shared options of every sampling command.

    Attributes:
        checkpoint: a model file, run folder or shipped name.
        steps: sampler steps (None: the model's default).
        sampler: ``NAME[:key=value,...]`` (None: the model's default sampler).
        seed: random seed of the draws.
        batch_size: samples per network batch (None: the command's default).
        device: ``cpu``, ``cuda``, ``cuda:1``, ... (None: ``cpu``).
        out: output folder.
    """

    checkpoint: str
    out: Path
    steps: Optional[int] = None
    sampler: Optional[str] = None
    seed: int = 0
    batch_size: Optional[int] = None
    device: Optional[str] = None

    def __post_init__(self):
        if self.steps is not None and self.steps < 1:
            raise typer.BadParameter(f"must be >= 1, got {self.steps}", param_hint="--steps")
        if self.batch_size is not None and self.batch_size < 1:
            raise typer.BadParameter(f"must be >= 1, got {self.batch_size}", param_hint="--batch-size")
        if self.sampler is not None:
            from morphogen.samplers.spec import SamplerSpec, SamplerSpecError

            try:
                name = SamplerSpec.parse(self.sampler).name
            except SamplerSpecError as err:
                raise typer.BadParameter(str(err), param_hint="--sampler") from None
            from morphogen.samplers.registry import sampler_names

            if name not in sampler_names():
                raise typer.BadParameter(f"unknown sampler '{name}'; known samplers: {sampler_names()}",
                                         param_hint="--sampler")


def _param(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _train_params() -> list[inspect.Parameter]:
    O = typer.Option  # noqa: N806
    return [
        _param("preset", str, O(..., "--preset", help="A preset name of this domain or a YAML path.")),
        _param("data", Optional[str], O(None, "--data", help="The dataset (file or folder in its standard format, or "
                                        "a prepared file); default: the preset's source.")),
        _param("out", Optional[Path], O(None, "--out", help="Run folder: OUT/model.safetensors, OUT/run/ (logs, "
                                        "last.ckpt, resumed automatically); default runs/<domain>-<preset>.")),
        _param("devices", str, O("auto", "--devices", help="Lightning devices: auto, a count (2) or ids (0,1).")),
        _param("accelerator", str, O("auto", "--accelerator", help="Lightning accelerator: auto | cpu | gpu | cuda.")),
        _param("strategy", str, O("auto", "--strategy", help="Lightning strategy: auto | ddp | ddp_spawn | ...")),
        _param("num_nodes", int, O(1, "--num-nodes", help="Machines for multi-node training.")),
        _param("precision", str, O("32", "--precision", help="32 | bf16 (bf16-mixed) | 16 (16-mixed) | any "
                                   "Lightning precision.")),
        _param("batch_size", Optional[int], O(None, "--batch-size", help="Override the preset's batch size.")),
        _param("max_steps", Optional[int], O(None, "--max-steps", help="Optimiser steps (overrides the preset's "
                                             "epochs / steps).")),
        _param("max_minutes", Optional[float], O(None, "--max-minutes", help="Stop after this many minutes of this "
                                                 "call (a resumed run gets the full budget again); the EMA model is "
                                                 "written either way.")),
        _param("lr", Optional[float], O(None, "--lr", help="Override the preset's learning rate.")),
        _param("init_from", Optional[str], O(None, "--init-from", help="Start from this model's weights (a file or "
                                             "shipped name of the same configuration; fresh optimiser).")),
        _param("seed", Optional[int], O(None, "--seed", help="Override the preset's seed.")),
        _param("num_workers", int, O(0, "--num-workers", help="DataLoader worker processes.")),
    ]


TRAIN_OPTION_NAMES = tuple(p.name for p in _train_params())


def _sampling_params(out_default: Path | None) -> list[inspect.Parameter]:
    O = typer.Option  # noqa: N806
    out = O(..., "--out", help="Output folder.") if out_default is None else O(out_default, "--out",
                                                                                 help="Output folder.")
    return [
        _param("checkpoint", str, O(..., "--checkpoint", help="A model file, run folder or shipped model name.")),
        _param("steps", Optional[int], O(None, "--steps", help="Sampler steps (default: the model's).")),
        _param("sampler", Optional[str], O(None, "--sampler", help=SAMPLER_HELP)),
        _param("seed", int, O(0, "--seed", help="Random seed.")),
        _param("batch_size", Optional[int], O(None, "--batch-size", help="Samples per network batch.")),
        _param("device", Optional[str], O(None, "--device", help="cpu | cuda | cuda:N (default cpu).")),
        _param("out", Path, out),
    ]


SAMPLING_OPTION_NAMES = tuple(p.name for p in _sampling_params(None))


def option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """One option parameter for :func:`add_options` (``default`` is a ``typer.Option(...)``)."""
    return _param(name, annotation, default)


def add_options(fn: Callable, target: str, shared: list[inspect.Parameter], build: Callable[[dict], Any]) -> Callable:
    """A function typer sees with ``fn``'s own parameters (minus ``target``) plus ``shared``, calling ``fn`` with
    ``target=build(shared values)``: how a group of options is defined once and given to several commands (the
    shared train and sampling options below; a domain's own group, e.g. music's repair options)."""
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    own = [p.replace(annotation=hints.get(p.name, p.annotation), kind=inspect.Parameter.KEYWORD_ONLY)
           for p in sig.parameters.values() if p.name != target]
    clash = {p.name for p in own} & {p.name for p in shared}
    if clash:
        raise TypeError(f"{fn.__name__}: parameters {sorted(clash)} are shared options already")
    names = [p.name for p in shared]

    @functools.wraps(fn)
    def wrapper(**kwargs):
        values = {n: kwargs.pop(n) for n in names}
        return fn(**{target: build(values)}, **kwargs)

    params = shared + own
    wrapper.__signature__ = inspect.Signature(params)
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    del wrapper.__wrapped__  # typer must read the combined signature, not fn's
    return wrapper


@dataclass(frozen=True)
class TrainRequest:
    """What ``@train_command`` hands to a domain's train command: the preset, data and run folder it names, and the
    run options."""

    preset: str
    data: Optional[str]
    out: Optional[Path]
    options: TrainOptions

    def out_dir(self, domain: str, default: Path | None = None) -> Path:
        """The run folder: ``--out``, else ``default``, else ``runs/<domain>-<preset>``; checked for being a folder
        that can be written (an error of ``--out``), creating nothing."""
        out = self.out or default or Path("runs") / f"{domain}-{Path(self.preset).stem}"
        _check_out(out)
        return out


def _check_out(out: Path) -> None:
    from morphogen.utils.outputs import OutputError, check_output_dir

    try:
        check_output_dir(out)
    except OutputError as err:
        raise typer.BadParameter(str(err), param_hint="--out") from None


def _train_request(v: dict) -> TrainRequest:
    if v["out"] is not None:  # a run folder that cannot be written is refused before any data is read
        _check_out(v["out"])
    try:
        opts = TrainOptions(accelerator=v["accelerator"], devices=v["devices"], strategy=v["strategy"],
                            num_nodes=v["num_nodes"], precision=v["precision"], batch_size=v["batch_size"],
                            max_steps=v["max_steps"], max_minutes=v["max_minutes"], lr=v["lr"],
                            init_from=v["init_from"], seed=v["seed"], num_workers=v["num_workers"])
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None
    return TrainRequest(v["preset"], v["data"], v["out"], opts)


def train_command(fn: Callable) -> Callable:
    """Give a domain's train command the shared training options; ``fn`` takes ``request: TrainRequest``."""
    return add_options(fn, "request", _train_params(), _train_request)


def sampling_command(fn: Callable | None = None, *, out_default: Path | None = None) -> Callable:
    """Give a domain's sampling command the shared sampling options; ``fn`` takes ``sampling: SamplingOptions``.
    ``out_default``: a default output folder (None: ``--out`` is required)."""
    def deco(f: Callable) -> Callable:
        @functools.wraps(f)
        def held(*args, sampling: SamplingOptions, **kwargs):
            from morphogen.utils.outputs import OutputError, exclusive_output

            try:
                lock = exclusive_output(sampling.out)
                lock.__enter__()
            except OutputError as err:
                raise typer.BadParameter(str(err), param_hint="--out") from None
            try:
                return f(*args, sampling=sampling, **kwargs)
            finally:
                lock.__exit__(None, None, None)

        return add_options(held, "sampling", _sampling_params(out_default), lambda v: SamplingOptions(**v))

    return deco(fn) if fn is not None else deco


def load_checkpoint(name_or_path: str, domain: str, device: str | None = None):
    """:func:`morphogen.bundle.load` for a command: a model that cannot be found or read is an error of
    ``--checkpoint`` (one line, the places looked at), not a traceback."""
    from morphogen.bundle.store import load
    from morphogen.train.checkpoint import CheckpointError

    try:
        return load(name_or_path, domain=domain, device=device)
    except (FileNotFoundError, CheckpointError) as err:
        raise typer.BadParameter(str(err), param_hint="--checkpoint") from None
