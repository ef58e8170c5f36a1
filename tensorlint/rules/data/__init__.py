"""TL2: the legacy `.data` attribute."""
