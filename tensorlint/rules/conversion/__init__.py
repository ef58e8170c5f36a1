"""TL1: conversions from torch to NumPy."""
