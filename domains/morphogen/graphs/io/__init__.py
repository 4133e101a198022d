"""Writing results in the field's formats: ``samples.smi`` and ``graphs.json`` files, PNG grids
(:mod:`.formats`), and the samples folder of ``morphogen graphs sample`` (:mod:`.samples`). Imports nothing heavy."""
from morphogen.graphs.io.formats import draw_graphs, draw_molecules, read_smiles_lines, write_smiles
from morphogen.graphs.io.samples import SamplingSummary, write_samples

__all__ = ["SamplingSummary", "draw_graphs", "draw_molecules", "read_smiles_lines", "write_samples", "write_smiles"]
