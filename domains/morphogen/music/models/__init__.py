"""Denoisers for GETScores and the saved-model bundle (vocabulary + tracks + process + network)."""
from morphogen.music.models.roformer import GETMusicTransformer

__all__ = ["GETMusicTransformer"]
