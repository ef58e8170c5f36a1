"""Runtime verification of tensorlint's fixes (`tensorlint verify`, `tensorlint fix --verify`).

The linter and the flake8 plugin never import this package. The CLI imports only
:mod:`tensorlint.verify.command`, which (like this ``__init__``, :mod:`~tensorlint.verify.core`,
:mod:`~tensorlint.verify.snippets`, :mod:`~tensorlint.verify.plan`, :mod:`~tensorlint.verify.runner` and
:mod:`~tensorlint.verify.report`) needs neither torch nor NumPy: snippets are evaluated in worker
subprocesses. The modules that import PyTorch and NumPy need the ``verify`` extra
(``pip install torch==2.13.0 -e ".[verify]"`` -- pin torch to your build):

* :mod:`tensorlint.verify.worker` -- the subprocess: the job protocol on stdin/stdout;
* :mod:`tensorlint.verify.tensor_check` -- binds tensor snippets to the matrix, runs both sides, loops, probes;
* :mod:`tensorlint.verify.numpy_check` -- removed NumPy names, as each NumPy version meant them;
* :mod:`tensorlint.verify.evaluation` -- one snippet's run: restricted builtins, bound names, its outcome;
* :mod:`tensorlint.verify.tally` -- outcomes to a verdict; host syncs and retained graphs counted;
* :mod:`tensorlint.verify.matrix` -- the binding matrix (kinds x devices x dtypes);
* :mod:`tensorlint.verify.lookalikes` -- non-tensors real code passes (ndarray, numbers, objects with
  ``.cpu()``/``.numpy()`` but no ``.detach()``), bound where a fix assumes a tensor without proof;
* :mod:`tensorlint.verify.compare` -- identical results, memory sharing;
* :mod:`tensorlint.verify.numpy_facts` -- what removed NumPy names meant (FACTS.md §4, the verifier's copy);
* :mod:`tensorlint.verify.emulation` -- a CPU-only stand-in for CUDA tensors (``device`` reports
  ``cuda:0``, ``.numpy()`` raises the real CUDA error, ``.cpu()`` copies) that counts every
  host<->device synchronisation, so fixes can be checked on a machine without a GPU (the tensor
  itself in :mod:`~tensorlint.verify.emulated_tensor`, the counters in :mod:`~tensorlint.verify.sync_count`).

See docs/verifier.md.
"""
