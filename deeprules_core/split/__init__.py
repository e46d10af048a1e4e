"""Replicate-aware splitting, the leakage audit and the locked test set (Tips 1, 4, 7)."""

from ._types import SIDES, Split

__all__ = ["SIDES", "Split"]
