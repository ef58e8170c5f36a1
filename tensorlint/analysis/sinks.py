"""Calls that convert their tensor arguments to NumPy: NumPy functions, sklearn metrics, matplotlib plots.

What a conversion site is, for the conversion family (which judges each site), the per-step family (a
conversion every step is a host copy every step) and the latent conversions of project summaries.
"""
from __future__ import annotations

# Keyword arguments of NumPy/sklearn/matplotlib calls that never carry array data.
STRUCTURAL_KEYWORDS = frozenset({"dtype", "axis", "out", "order", "casting", "keepdims", "ddof", "ax", "label",
                                  "copy", "like", "subok", "ndmin", "sample_weight_mode", "average", "normalize"})
# numpy callables that take no array-likes; `np.float64`/`np.double`, which convert a 0-d tensor
# through `__float__` (no grad check) and are nearly always given one; and those that ask the tensor
# itself (`np.shape(t)` is `t.shape`, `np.squeeze(t)` is `t.squeeze()`): no conversion happens.
NUMPY_NON_SINKS = frozenset({"dtype", "finfo", "iinfo", "issubdtype", "set_printoptions", "errstate",
                             "seterr", "seed", "default_rng", "RandomState", "get_printoptions",
                             "float64", "double", "shape", "ndim", "size", "squeeze", "nonzero", "argwhere",
                             "real", "isscalar", "iterable",
                             # sizes and shapes are read through `__index__`, not `__array__`: no conversion
                             "zeros", "ones", "empty", "eye", "identity", "arange", "tri", "indices"})
# `np.random.randn(n, d)`, `np.random.randint(low, high, size)`: sizes, seeds and bounds, read as Python numbers.
_NUMPY_NON_SINK_MODULES = ("numpy.random.",)
# matplotlib functions (`plt.plot(t)`, `ax.imshow(t)`) that turn their array arguments into NumPy arrays.
PLOT_FUNCTIONS = frozenset({
    "plot", "imshow", "scatter", "hist", "bar", "barh", "errorbar", "fill_between", "contour", "contourf",
    "pcolormesh", "matshow", "stem", "step", "boxplot", "violinplot", "hist2d", "semilogy", "semilogx",
    "loglog", "quiver", "stackplot", "pie",
})


def converts_to_numpy(qualified: str) -> bool:
    """Does the function of this qualified name convert its tensor arguments to NumPy (`np.*`, sklearn metrics,
    matplotlib plots)? The one definition the conversion and per-step families share."""
    last = qualified.rsplit(".", 1)[-1]
    if qualified.startswith("numpy."):
        return last not in NUMPY_NON_SINKS and not qualified.startswith(_NUMPY_NON_SINK_MODULES)
    return (qualified.startswith("sklearn.metrics.") and last[:1].islower()
            or qualified.startswith("matplotlib.pyplot.") and last in PLOT_FUNCTIONS)
