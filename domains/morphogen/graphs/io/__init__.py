"""Writing results in the field's formats: ``graphs.json`` files and PNG grids of graphs (:mod:`.formats`), and the
samples folder of ``morphogen graphs sample`` (:mod:`.samples`; molecules are written with
:mod:`morphogen.molecules`). Imports nothing heavy."""
from morphogen.graphs.io.formats import draw_graphs
from morphogen.graphs.io.samples import SamplingSummary, write_samples

__all__ = ["SamplingSummary", "draw_graphs", "write_samples"]
