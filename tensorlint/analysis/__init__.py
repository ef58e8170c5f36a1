"""The one place that knows imports and tensor provenance. Every rule asks it; none re-derives it."""
from .facts import MAYBE, NO, YES, Facts, Tri
from .imports import ImportMap, dotted_name
from .semantic import Semantic

__all__ = ["Facts", "ImportMap", "MAYBE", "NO", "Semantic", "Tri", "YES", "dotted_name"]
