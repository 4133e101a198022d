"""Sampling-time guidance: classifier-free guidance and fixed (inpainted) fields."""
from morphogen.guidance.cfg import ClassifierFreeGuidance
from morphogen.guidance.inpaint import Inpaint

__all__ = ["ClassifierFreeGuidance", "Inpaint"]
