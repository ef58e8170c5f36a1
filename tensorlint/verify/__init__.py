"""Runtime verification helpers for tensorlint (not used by the linter itself).

This package imports PyTorch and NumPy at import time, so it needs the ``verify`` extra
(``pip install torch==2.13.0 -e ".[verify]"`` -- pin torch to your build). The linter, the flake8
plugin and the CLI never import ``tensorlint.verify``; import its modules directly, e.g.
``from tensorlint.verify.emulation import to_emulated_cuda, count_syncs``.

Modules:

* :mod:`tensorlint.verify.emulation` -- a CPU-only stand-in for CUDA tensors (``device`` reports
  ``cuda:0``, ``.numpy()`` raises the real CUDA error, ``.cpu()`` copies) that counts every
  host<->device synchronisation, so fixes can be checked on a machine without a GPU.
"""
