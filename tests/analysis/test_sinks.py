"""analysis/sinks.py: which qualified names convert their tensor arguments to NumPy."""
from __future__ import annotations

import pytest

from tensorlint.analysis.sinks import converts_to_numpy


@pytest.mark.parametrize("qualified, expected", [
    ("numpy.asarray", True), ("numpy.vstack", True), ("numpy.linalg.norm", True),
    ("numpy.zeros", False), ("numpy.float64", False), ("numpy.random.randn", False), ("numpy.shape", False),
    ("sklearn.metrics.roc_auc_score", True), ("sklearn.metrics.ConfusionMatrixDisplay", False),
    ("matplotlib.pyplot.plot", True), ("matplotlib.pyplot.figure", False), ("torch.tensor", False),
])
def test_converts_to_numpy(qualified, expected):
    assert converts_to_numpy(qualified) is expected
