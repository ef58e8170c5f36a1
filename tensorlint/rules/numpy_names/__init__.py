"""TL3: NumPy names that no longer exist."""
