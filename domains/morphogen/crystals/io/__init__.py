"""Writing results in the field's formats: one CIF per structure, an index.csv, and the prediction / generation
folders made of them."""
from morphogen.crystals.io.cif import INDEX_COLUMNS, IndexRow, read_index, write_cif, write_index
from morphogen.crystals.io.folders import WrittenFolder, write_generation_folder, write_prediction_folder

__all__ = ["INDEX_COLUMNS", "IndexRow", "WrittenFolder", "read_index", "write_cif", "write_generation_folder",
           "write_index", "write_prediction_folder"]
