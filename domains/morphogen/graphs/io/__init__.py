"""Writing results in the field's formats: ``graphs.json`` files and PNG grids of graphs (:mod:`.formats`), the
samples folder of ``morphogen graphs sample`` (:mod:`.samples`; molecules are written with
:mod:`morphogen.molecules`) and PyTorch Geometric ``Data`` objects (:func:`to_pyg`, :mod:`.pyg`). Imports nothing
heavy."""
from morphogen.graphs.io.formats import draw_graphs
from morphogen.graphs.io.pyg import to_pyg
from morphogen.graphs.io.samples import SamplingSummary, write_samples

__all__ = ["SamplingSummary", "draw_graphs", "to_pyg", "write_samples"]
