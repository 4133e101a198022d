"""What medical segmentation adds to the core's training: reading a preset's images, the split by subject, the
prepared arrays and the augmented dataset; the fit itself is :func:`morphogen.train.entry.train_bundle`.

Used by ``morphogen medical train``; everything it does is available to a notebook too.
"""
from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path

from morphogen.medical.errors import MedicalDataError

PRESET_DIR = Path(__file__).resolve().parent / "presets"
READERS = ("hc18", "camus", "echonet")


def load_preset(name_or_path: str, variant: str | None = None):
    """A preset by name (``hc18``, ``camus``, ``echonet``) or path, in the core schema; ``variant`` (``dual``,
    ``gaussian``, ``bernoulli``: the ablation) applied when given."""
    from morphogen.bundle.preset import PresetError
    from morphogen.bundle.preset import load_preset as _load

    preset = _load(name_or_path, PRESET_DIR, "medical")
    if preset.data.get("reader") not in READERS:
        raise PresetError(f"{preset.source}: data.reader must be one of {READERS}, got {preset.data.get('reader')!r}")
    return preset.variant(variant) if variant else preset


def data_root(preset, data_dir: str | os.PathLike | None = None) -> Path:
    """``data_dir`` if given, else the preset's ``data.root``: absolute, or relative to the data root of
    :func:`morphogen.utils.resources.data_root` ($MORPHOGEN_DATA, else ../shared/data beside the checkout)."""
    if data_dir is not None:
        return Path(data_dir)
    root = preset.data.get("root")
    if not root:
        raise MedicalDataError(f"preset '{preset.name}' names no data folder: give --data DIR")
    from morphogen.utils.resources import data_root as shared_root

    p = Path(root)
    if not p.is_absolute():
        p = shared_root() / p
    if not p.exists():
        raise MedicalDataError(f"{p}: the data folder of preset '{preset.name}' does not exist; give --data DIR")
    return p


def read_records(preset, data_dir: str | os.PathLike | None = None):
    """Every labelled record of a preset's data."""
    reader = preset.data["reader"]
    root = data_root(preset, data_dir)
    if reader == "hc18":
        from morphogen.medical.data.hc18 import read_hc18

        return read_hc18(root, "train")
    if reader == "camus":
        from morphogen.medical.data.camus import read_camus

        return read_camus(root, **dict(preset.data.get("options", {})))
    from morphogen.medical.data.echonet import read_echonet

    return read_echonet(root, **dict(preset.data.get("options", {})))


@dataclass
class SplitData:
    """The records of each split and the prepared arrays of the training and validation splits."""

    records: dict
    train: object
    val: object


def load_split(preset, data_dir=None, limit: int | None = None, progress: bool = False) -> SplitData:
    """Read, split by subject (``data.split``), and prepare at ``data.size`` (cached)."""
    from morphogen.medical.data.preprocess import prepare
    from morphogen.medical.data.splits import split_by_subject

    records = read_records(preset, data_dir)
    sp = dict(preset.data.get("split", {}))
    splits = split_by_subject(records, float(sp.get("val", 0.1)), float(sp.get("test", 0.15)), int(sp.get("seed", 0)))
    if limit:
        splits = {k: v[:limit] for k, v in splits.items()}
    if not splits["train"]:
        raise MedicalDataError(f"preset '{preset.name}': no training images after the split")
    size = tuple(preset.data.get("size", (160, 240)))
    train = prepare(splits["train"], size, progress=progress)
    val = prepare(splits["val"], size, progress=progress) if splits["val"] else None
    return SplitData(splits, train, val)


def build_model(preset, denoiser_overrides: dict | None = None):
    """A fresh :class:`SegmentationModel` for a preset."""
    from morphogen.bundle.model import BundleMetadata
    from morphogen.medical.models.bundle import SegmentationModel
    from morphogen.utils.config import build

    dspec = copy.deepcopy(preset.denoiser)
    dspec.setdefault("args", {}).update(denoiser_overrides or {})
    d = preset.data
    return SegmentationModel(process=build(copy.deepcopy(preset.process)), denoiser=build(dspec),
                             sampler=preset.sampler, metadata=BundleMetadata(preset=preset.name),
                             image_size=tuple(d.get("size", (160, 240))), objective_args=dict(d.get("objective", {})),
                             postprocess=d.get("postprocess", "largest"), target=d.get("target", "foreground"))


def train(preset_name: str, out_dir: str | Path, data_dir=None, limit: int | None = None, variant: str | None = None,
          denoiser_overrides: dict | None = None, options=None, **trainer_kwargs):
    """Train on a preset's data through the core's :func:`morphogen.train.entry.train_bundle`; writes
    ``out_dir/model.safetensors`` and ``out_dir/run/`` (resumed by the next call with the same ``out_dir``).
    Returns :class:`morphogen.train.entry.TrainResult`."""
    preset = load_preset(preset_name, variant)
    split = load_split(preset, data_dir, limit, progress=True)

    from morphogen.medical.data.dataset import SegmentationDataset
    from morphogen.train.entry import TrainData, fingerprint, resolved_config, train_bundle
    from morphogen.train.options import TrainOptions

    options = options or TrainOptions()
    cfg = resolved_config(preset.train, options)
    model = build_model(preset, denoiser_overrides)
    chains = model.chains
    train_ds = SegmentationDataset(split.train, chains, dict(preset.data.get("augment") or {}), seed=cfg.seed)
    val_ds = SegmentationDataset(split.val, chains, None) if split.val is not None else None
    ids = {k: [r.id for r in v] for k, v in split.records.items()}
    td = TrainData(train_ds, val_ds, fingerprint=fingerprint({"ids": ids, "data": preset.data}),
                   description=f"{len(split.train)} training and {len(split.val) if split.val else 0} validation "
                               f"images ({preset.data['reader']}, split by subject, seed "
                               f"{preset.data.get('split', {}).get('seed', 0)})")
    model.metadata.notes["split"] = {k: len(v) for k, v in ids.items()}
    if variant:
        model.metadata.notes["variant"] = variant
    return train_bundle(model, td, preset.train, out_dir, options, **trainer_kwargs)
