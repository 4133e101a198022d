"""The ``morphogen`` command line. Heavy libraries (torch, lightning) are imported inside commands only."""
from __future__ import annotations

import time
from pathlib import Path
from typing import List, Optional

import typer

from morphogen.cli.plugins import DemoResult, discover

app = typer.Typer(
    help="Morphogen: diffusion and flow generative models for science. Each installed domain is a sub-command "
    "below; `morphogen info` lists domains, samplers and shipped models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_table(results: list[DemoResult]) -> None:
    head = ("domain", "produced", "key metric", "value", "seconds")
    rows = [(r.domain, r.produced, r.metric, str(r.value), f"{r.seconds:.1f}") for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    line = " | ".join(h.ljust(w) for h, w in zip(head, widths))
    typer.echo("\n" + line)
    typer.echo("-+-".join("-" * w for w in widths))
    for row in rows:
        typer.echo(" | ".join(c.ljust(w) for c, w in zip(row, widths)))


@app.command()
def demo(
    domains: Optional[List[str]] = typer.Option(None, "--domains", "-d",
                                                help="Domains to run (default: every installed domain; 'core' "
                                                     "runs the core demo)."),
    out: Path = typer.Option(Path("outputs/demo"), "--out", help="Output folder; each domain writes to OUT/<domain>/."),
) -> None:
    """Run each installed domain's demo and print a summary table."""
    plugins = {k: p for k, p in discover().items() if p.demo is not None}
    wanted = list(domains) if domains else (sorted(plugins) or ["core"])
    unknown = [d for d in wanted if d != "core" and d not in plugins]
    if unknown:
        raise typer.BadParameter(f"no demo for {unknown}; available: {['core', *sorted(plugins)]}", param_hint="--domains")
    from morphogen.utils.outputs import OutputError, check_output_dir

    try:  # before any demo runs: an --out that is a file or cannot be written
        check_output_dir(out)
    except OutputError as err:
        raise typer.BadParameter(str(err), param_hint="--out") from None
    results = []
    for name in wanted:
        typer.echo(f"== demo: {name} -> {out / name}")
        t0 = time.time()
        if name == "core":
            from morphogen.cli.core_demo import run

            res = run(out / "core")
        else:
            res = plugins[name].demo(out / name)
        res.seconds = res.seconds or time.time() - t0
        results.append(res)
    _print_table(results)


@app.command()
def info() -> None:
    """Versions, devices, installed domains, samplers and models loadable by name."""
    import torch

    from morphogen.bundle import shipped_models
    from morphogen.samplers.registry import sampler_names

    typer.echo(f"torch {torch.__version__}; CUDA available: {torch.cuda.is_available()}")
    typer.echo(f"domains: {sorted(discover()) or 'none installed'}")
    typer.echo(f"samplers: {', '.join(sampler_names())}")
    typer.echo(f"models by name: {', '.join(sorted(shipped_models())) or 'none'}")


def _register_domains() -> None:
    """Add each installed domain's commands to :data:`app`, once (``main`` may run many times in one process: the
    tests and scripts/hostile_input_report.py call it in-process; each call used to add every domain again)."""
    have = {group.name for group in app.registered_groups}
    for name, plugin in sorted(discover().items()):
        if name not in have:
            app.add_typer(plugin.typer_app(), name=name, help=plugin.summary)


def main() -> None:
    """The ``morphogen`` command. An error of the project's own kinds (``morphogen.errors.MorphogenError``: bad data,
    preset, checkpoint, configuration, sampler) prints one line naming the file, record or option and exits with 2;
    ``MORPHOGEN_DEBUG=1`` shows its traceback. Any other exception keeps its traceback."""
    import os
    import sys

    from morphogen.errors import MorphogenError

    _register_domains()
    try:
        app()
    except MorphogenError as err:
        if os.environ.get("MORPHOGEN_DEBUG", "").strip() not in ("", "0"):
            raise
        typer.echo(f"error: {err}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
