"""TL5: silent hazards at the torch/NumPy border (a dtype, a copy, a view that is not what the code assumes)."""
