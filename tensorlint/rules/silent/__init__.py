"""TL5: silent hazards (wrong numbers, no error) where torch and NumPy meet."""
