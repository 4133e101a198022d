"""GDSS denoisers on dense padded graphs."""
from morphogen.graphs.models.gdss import GDSSDenoiser
from morphogen.graphs.models.score_a import ScoreNetworkA
from morphogen.graphs.models.score_x import ScoreNetworkX

__all__ = ["GDSSDenoiser", "ScoreNetworkA", "ScoreNetworkX"]
