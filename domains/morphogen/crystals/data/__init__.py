"""Readers of the field's public formats (CDVAE-format CSV, composition lists), splits and padded batches."""
from morphogen.crystals.data.batching import CrystalDataset, collate_crystals, pad_atoms
from morphogen.crystals.data.cdvae import CifParseError, read_cdvae_csv
from morphogen.crystals.data.compositions import CompositionRecord, read_compositions
from morphogen.crystals.data.lattice import LatticeCodec
from morphogen.crystals.data.splits import Split, split_indices
from morphogen.crystals.data.structures import CrystalRecord, canonical_structure, record_from_structure, record_to_structure

__all__ = [
    "CifParseError", "CompositionRecord", "CrystalDataset", "CrystalRecord", "LatticeCodec", "Split",
    "canonical_structure", "collate_crystals", "pad_atoms", "read_cdvae_csv", "read_compositions", "record_from_structure",
    "record_to_structure", "split_indices",
]
