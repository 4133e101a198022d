"""``morphogen medical ...``: train, segment, evaluate. Imports only typer and the core's plugin types at module
level; everything heavy (torch, MONAI) is imported inside the commands."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from morphogen.cli.options import SamplingOptions, TrainRequest, load_checkpoint, sampling_command, train_command
from morphogen.cli.plugins import DemoResult, DomainPlugin

app = typer.Typer(help="Medical segmentation: Echo-DND dual-noise (Gaussian + Bernoulli) diffusion of masks "
                       "(HC18, CAMUS, EchoNet-Dynamic).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)

VARIANTS = ("dual", "gaussian", "bernoulli")


@app.command()
@train_command
def train(
    request: TrainRequest,
    variant: Optional[str] = typer.Option(None, "--variant", help="dual (both chains, the default) | gaussian | "
                                          "bernoulli (the chain ablation)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N images of each split."),
) -> None:
    """Train a model (presets hc18 | camus | echonet, or a YAML path; --data: the dataset folder, default the
    preset's); writes OUT/model.safetensors and OUT/run/ (resumed by the same command)."""
    if variant is not None and variant not in VARIANTS:
        raise typer.BadParameter(f"must be one of {', '.join(VARIANTS)}, got {variant!r}", param_hint="--variant")
    from morphogen.medical.training import train as run
    from morphogen.utils.threads import configure_threads

    configure_threads()
    out = request.out_dir("medical", None if variant in (None, "dual") else Path("runs") / f"medical-{variant}")
    res = run(request.preset, out, request.data, limit, variant, options=request.options)
    log = sorted(res.run_dir.glob("logs/version_*/metrics.csv"))
    typer.echo(f"trained {res.steps} steps; model: {res.model_path}; log: {log[-1] if log else 'none'}")


@app.command()
@sampling_command
def segment(
    sampling: SamplingOptions,
    images: Path = typer.Option(..., "--images", help="An image file or a folder of them (PNG, JPEG, BMP, TIFF, "
                                "NIfTI, MetaImage .mhd); in a folder, label files (*_Annotation, *_gt, *_mask) are "
                                "skipped and counted."),
    ensemble: int = typer.Option(1, "--ensemble", min=1, max=64, help="Independent samples per image, fused by "
                                 "STAPLE; their disagreement is written as OUT/<stem>_uncertainty.png."),
    fusion: str = typer.Option("staple", "--fusion", help="How ensemble members are fused: staple | mean."),
) -> None:
    """Segment images: OUT/<stem>_mask.png (0/255, the input's size), OUT/<stem>_overlay.png, with an ensemble
    OUT/<stem>_uncertainty.png, then OUT/index.csv and OUT/segmentation.json (written last)."""
    from morphogen.medical.segmentation import FUSIONS, find_images, run_segmentation

    if fusion not in FUSIONS:
        raise typer.BadParameter(f"must be one of {', '.join(FUSIONS)}, got {fusion!r}", param_hint="--fusion")
    inputs = find_images(images)  # before the model is loaded: a bad --images costs nothing
    from morphogen.utils.threads import configure_threads

    configure_threads()
    model = load_checkpoint(sampling.checkpoint, "medical", device=sampling.device)
    try:
        model.make_sampler(sampling.sampler, sampling.steps)
    except (ValueError, TypeError) as err:
        raise typer.BadParameter(str(err), param_hint="--sampler") from None
    if inputs.skipped_labels:
        typer.echo(f"skipped {len(inputs.skipped_labels)} label file(s) in {images} (e.g. "
                   f"{inputs.skipped_labels[0].name})", err=True)
    info = run_segmentation(model, images, sampling.out, steps=sampling.steps, sampler=sampling.sampler,
                            ensemble=ensemble, batch_size=sampling.batch_size or 8, fusion=fusion,
                            seed=sampling.seed, progress=True, checkpoint=sampling.checkpoint)
    typer.echo(f"segmented {info['images']} image(s) at {info['steps']} steps x {ensemble} member(s) "
               f"({info['nfe_per_image']} network evaluations per image, {info['images_per_second']} images/s); "
               f"wrote {Path(sampling.out) / 'index.csv'}")


@app.command()
def evaluate(
    predictions: Path = typer.Option(..., "--predictions", help="A `segment` output folder (its index.csv and "
                                     "<stem>_mask.png files)."),
    labels: Path = typer.Option(..., "--labels", help="The reference: an HC18 folder or its CSV (masks, pixel "
                                "sizes, head circumferences), or a folder of label files named <stem>[_gt|_mask|"
                                "_Annotation].<ext>."),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON file to write (default PREDICTIONS/evaluation.json)."),
) -> None:
    """Dice, IoU, HD95 (mm where the pixel size is known) and, with HC18 labels, the head-circumference error in
    mm (ellipse fit, Ramanujan perimeter), per image and aggregated; writes JSON."""
    from morphogen.medical.evaluation import evaluate_folder

    report = evaluate_folder(predictions, labels, out)
    typer.echo(json.dumps(report["summary"], indent=1))
    typer.echo(f"wrote {report['path']}")


def demo(out_dir: Path) -> DemoResult:
    """Segment generated fetal-head phantoms with the shipped ``hc18`` model (:func:`morphogen.medical.demo.run`)."""
    from morphogen.medical.demo import run
    from morphogen.utils.threads import configure_threads

    configure_threads()
    return run(out_dir)


def _shipped_model_present() -> bool:
    return (Path(__file__).parent / "checkpoints" / "hc18.safetensors").is_file()


plugin = DomainPlugin(name="medical", app=app, demo=demo if _shipped_model_present() else None,
                      summary="Medical segmentation: Echo-DND dual-noise mask diffusion (HC18, CAMUS, EchoNet).",
                      checkpoint_dir=Path(__file__).parent / "checkpoints")

if __name__ == "__main__":
    app()
