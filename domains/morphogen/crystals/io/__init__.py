"""Writing results in the field's formats: one CIF per structure and an index.csv."""
from morphogen.crystals.io.cif import INDEX_COLUMNS, IndexRow, read_index, write_cif, write_index

__all__ = ["INDEX_COLUMNS", "IndexRow", "read_index", "write_cif", "write_index"]
