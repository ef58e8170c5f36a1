"""The project's settings: `[tool.tensorlint]`, and the NumPy/torch versions it supports."""
