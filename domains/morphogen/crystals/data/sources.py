"""Where a preset's data come from and how they are read: the ``data:`` section of a crystals preset (typed), the
default data folder, and the splits of a CDVAE folder, a pool CSV or a prepared file.

``data:`` keys (unknown keys and mistyped values are errors naming the preset file and the key)::

    data:
      niggli: true                                # canonical form of CDVAE / DiffCSP (Niggli-reduced cells)
      primitive: false
      split: {fractions: [0.8, 0.1, 0.1], seed: 0}   # used when the data are one pool CSV
      # split: {fractions: [0.8, 0.1, 0.1], seed: 0, group_by: composition}   # polymorphs never straddle parts
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


@dataclass(frozen=True)
class SplitConfig:
    """Seeded train / val / test fractions of a pool CSV (:func:`morphogen.crystals.data.split_indices`);
    ``group_by: composition`` keeps all cells of one reduced composition (its polymorphs) in one part
    (:func:`morphogen.crystals.data.grouped_split_indices`, the polymorph-grouped split of Martirossyan et al.)."""

    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    seed: int = 0
    group_by: str | None = None


@dataclass(frozen=True)
class DataConfig:
    """The ``data:`` section of a crystals preset.

    Attributes:
        niggli, primitive: the canonical form the CIFs are put in (:func:`canonical_structure`).
        split: how a single pool CSV is split.
    """

    niggli: bool = True
    primitive: bool = False
    split: SplitConfig = field(default_factory=SplitConfig)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None, where: str = "data") -> "DataConfig":
        from morphogen.utils.typed import TypedConfigError, from_mapping

        raw = dict(data or {})
        split = raw.pop("split", None)
        if split is not None and not isinstance(split, Mapping):
            raise TypedConfigError(f"{where}.split: expected a mapping, got {split!r}")
        base = from_mapping(cls, raw, where)
        sc = from_mapping(SplitConfig, split, f"{where}.split")
        if sc.group_by not in (None, "composition"):
            raise TypedConfigError(f"{where}.split.group_by: 'composition' or absent, got {sc.group_by!r}")
        return cls(base.niggli, base.primitive, sc)

    def reader_options(self) -> dict[str, bool]:
        """The options a prepared file records and must agree with."""
        return {"niggli": self.niggli, "primitive": self.primitive}


@dataclass
class DataSplits:
    """Records of each split (``test`` may be empty when the folder has none) and a description of the source.

    Attributes:
        train, val, test: lists of :class:`morphogen.crystals.data.CrystalRecord`.
        source: the file or folder read (for a prepared file, also the source it was prepared from).
        fingerprint: a short hash of the files read and the reader options (stored in a trained model's metadata).
    """

    train: list
    val: list
    test: list
    source: str
    fingerprint: str | None = None

    def describe(self) -> str:
        return f"data {self.source}: {len(self.train)} train, {len(self.val)} val, {len(self.test)} test"


def default_data_location(name: str) -> Path:
    """Where a dataset is looked for when none is given: <data root>/crystals/<name> (see
    :func:`morphogen.utils.resources.data_root`), else ../shared/data/crystals/<name> from the working directory."""
    from morphogen.utils.resources import data_root

    candidates = [data_root() / "crystals" / name, Path.cwd().parent / "shared" / "data" / "crystals" / name]
    for c in candidates:
        if c.exists():
            return c
    raise FileNotFoundError(f"no data for '{name}' found at {[str(c) for c in candidates]}; pass --data "
                            "(a folder with train.csv/val.csv[/test.csv] or one CDVAE-format CSV)")


def load_splits(preset, data: str | os.PathLike | None = None, limit: int | None = None) -> DataSplits:
    """Read the dataset of ``preset`` (a :class:`morphogen.bundle.Preset` of crystals): a folder with CDVAE's
    train.csv / val.csv (/ test.csv), one CSV (or a folder with pool.csv) split with the preset's seeded fractions,
    or a prepared file (``.json.gz``, see :mod:`morphogen.crystals.data.prepared`: no pymatgen needed).
    ``limit``: only the first records of each file (of each split of a prepared file)."""
    from morphogen.crystals.data import composition_key, grouped_split_indices, split_indices
    from morphogen.crystals.data.prepared import is_prepared, read_prepared
    from morphogen.errors import PreparedDataError
    from morphogen.train.entry import fingerprint
    from morphogen.utils.cache import file_fingerprint

    cfg = DataConfig.from_mapping(preset.data, f"{preset.source or preset.name}: data")
    path = Path(data) if data is not None else default_data_location(preset.name)
    opts = {**cfg.reader_options(), "limit": limit}
    if is_prepared(path):
        parts, header = read_prepared(path)
        got = {k: header["options"].get(k) for k in ("niggli", "primitive")}
        if got != cfg.reader_options():
            raise PreparedDataError(f"{path}: prepared with {got}, but preset '{preset.name}' asks for "
                                    f"{cfg.reader_options()}")
        cut = (lambda r: r[:limit]) if limit is not None else (lambda r: r)
        return DataSplits(cut(parts["train"]), cut(parts["val"]), cut(parts["test"]), f"{path} ({header['source']})",
                          fingerprint({"prepared": file_fingerprint(path), "limit": limit}))
    if path.is_dir() and (path / "train.csv").is_file():
        files = [path / f"{k}.csv" for k in ("train", "val", "test") if (path / f"{k}.csv").is_file()]
        test = _read_csv_cached(path / "test.csv", opts) if (path / "test.csv").is_file() else []
        return DataSplits(_read_csv_cached(path / "train.csv", opts), _read_csv_cached(path / "val.csv", opts), test,
                          str(path), fingerprint({"files": [file_fingerprint(f) for f in files], **opts}))
    pool = path / "pool.csv" if path.is_dir() else path
    records = _read_csv_cached(pool, opts)
    split_key = [*cfg.split.fractions, cfg.split.seed]
    if cfg.split.group_by == "composition":
        s = grouped_split_indices([composition_key(r.atomic_numbers) for r in records], cfg.split.fractions,
                                  cfg.split.seed)
        split_key.append("composition")
    else:
        s = split_indices(len(records), cfg.split.fractions, cfg.split.seed)
    return DataSplits([records[i] for i in s.train], [records[i] for i in s.val], [records[i] for i in s.test],
                      str(pool), fingerprint({"pool": file_fingerprint(pool), **opts, "split": split_key}))


def _read_csv_cached(path: Path, opts: dict) -> list:
    """:func:`read_cdvae_csv` of ``path`` with ``opts``, kept in ``$MORPHOGEN_CACHE/crystals`` as a prepared file
    keyed by the file's fingerprint and the options (parsing and Niggli-reducing Perov-5 takes ~15 s; reading the
    cache well under a second). A read error is raised exactly as without the cache (nothing is cached then)."""
    import hashlib
    import json

    from morphogen.crystals.data import read_cdvae_csv
    from morphogen.crystals.data.prepared import PREPARED_FORMAT, read_prepared, write_prepared
    from morphogen.errors import PreparedDataError
    from morphogen.utils.cache import cache_dir, file_fingerprint

    root = cache_dir()
    if root is None or not Path(path).is_file():
        return read_cdvae_csv(path, **opts)
    key = json.dumps({"format": PREPARED_FORMAT, "file": file_fingerprint(path), **opts}, sort_keys=True)
    cached = root / "crystals" / f"{Path(path).stem}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json.gz"
    if cached.is_file():
        try:
            return read_prepared(cached)[0]["train"]
        except PreparedDataError:
            pass  # a damaged cache entry: parse again and overwrite it
    records = read_cdvae_csv(path, **opts)
    try:
        write_prepared(cached, {"train": records}, source=str(path), options=opts)
    except OSError:
        pass  # a read-only cache folder only costs the parse next time
    return records
