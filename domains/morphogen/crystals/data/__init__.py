"""Readers of the field's public formats (CDVAE-format CSV, composition lists), splits and padded batches."""
from morphogen.crystals.data.cdvae import CifParseError, read_cdvae_csv
from morphogen.crystals.data.compositions import CompositionRecord, read_compositions
from morphogen.crystals.data.splits import Split, composition_key, grouped_split_indices, split_indices
from morphogen.crystals.data.structures import CrystalRecord, canonical_structure, record_from_structure, record_to_structure

__all__ = [
    "CifParseError", "CompositionRecord", "CrystalDataset", "CrystalRecord", "LatticeCodec", "LatticeMatrixCodec",
    "Split", "canonical_structure", "collate_crystals", "composition_key", "grouped_split_indices", "pad_atoms",
    "read_cdvae_csv", "read_compositions", "record_from_structure",
    "lattice_codec_class", "record_to_structure", "split_indices",
]


_LAZY = {"CrystalDataset": "batching", "collate_crystals": "batching", "pad_atoms": "batching",
         "LatticeCodec": "lattice", "LatticeMatrixCodec": "lattice", "lattice_codec_class": "lattice"}


def __getattr__(name):  # these import torch: loaded when first used, so the readers (and their errors) start fast
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"morphogen.crystals.data.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
