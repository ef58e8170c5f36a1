"""The verifier's subprocess: evaluates original and fixed snippets on the binding matrix.

Run as ``python -m tensorlint.verify.worker``; the parent (:mod:`tensorlint.verify.runner`) sends one
JSON job per line on stdin and reads JSON lines back: first ``{"hello": {...}}`` (versions and mode),
then per job ``{"id", "progress": ...}`` lines (so that a timeout can say which side hung) and one
``{"id", "result": {...}}``. The snippets' own output (``print``) goes to /dev/null, never into the
protocol. A job of kind "numpy" goes to :mod:`tensorlint.verify.numpy_check`, every other one to
:mod:`tensorlint.verify.tensor_check`; what a snippet may do: :mod:`tensorlint.verify.evaluation` and
:mod:`tensorlint.verify.sandbox`; verdicts: :mod:`tensorlint.verify.tally`.
"""
from __future__ import annotations

import io
import json
import os
import sys
import traceback
from typing import Any, Dict

import numpy as np
import torch

from tensorlint.verify import sandbox
from tensorlint.verify.aliasing_check import AliasingVerifier
from tensorlint.verify.evaluation import job_result
from tensorlint.verify.module_input import ModuleInputVerifier
from tensorlint.verify.numpy_check import NumpyVerifier
from tensorlint.verify.sync_count import emulated_synchronize, record
from tensorlint.verify.tensor_check import TensorVerifier


def hello(real_cuda: bool) -> dict:
    info = {"torch": torch.__version__, "numpy": np.__version__, "python": sys.version.split()[0],
            "mode": "cuda" if real_cuda else "emulated"}
    if real_cuda:
        info["device"] = torch.cuda.get_device_name(0)
    else:
        info["device"] = "EmulatedCudaTensor (cuda:0 emulated on the CPU; no GPU)"
    return info


def main() -> int:
    protocol = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"), encoding="utf-8")
    wanted = os.environ.get("TENSORLINT_VERIFY_DEVICE", "auto")
    available = torch.cuda.is_available()
    if wanted == "cuda" and not available:
        protocol.write(json.dumps({"fatal": "--device cuda: torch.cuda.is_available() is False"}) + "\n")
        return 2
    real_cuda = available and wanted != "emulated"
    if not real_cuda:
        torch.cuda.synchronize = emulated_synchronize  # a snippet's synchronize counts as a sync
    else:  # set_sync_debug_mode misses torch.cuda.synchronize() (FACTS §5): count it ourselves
        real_synchronize = torch.cuda.synchronize

        def counted_synchronize(device=None):
            record("synchronize")
            return real_synchronize(device)
        torch.cuda.synchronize = counted_synchronize
    current: Dict[str, Any] = {"id": None}

    def emit(message: dict) -> None:
        protocol.write(json.dumps(dict(message, id=current["id"]), default=str) + "\n")

    tensors = TensorVerifier(real_cuda, emit)
    names = NumpyVerifier(emit)
    verifiers = {"numpy": names, "module_input": ModuleInputVerifier(emit), "aliasing": AliasingVerifier(emit)}
    memory = os.environ.get("TENSORLINT_VERIFY_MEMORY_BYTES")
    sandbox.confine(os.getcwd(), int(memory) if memory else sandbox.DEFAULT_MEMORY_BYTES,
                    limit_address_space=not real_cuda)
    protocol.write(json.dumps({"hello": hello(real_cuda)}) + "\n")
    for line in sys.stdin:  # from here on, the sandbox applies (see tensorlint/verify/sandbox.py)
        if not line.strip():
            continue
        request = json.loads(line)
        current["id"] = request["id"]
        try:
            job = request["job"]
            result = verifiers.get(job["kind"], tensors).verify(job)
        except Exception as error:  # noqa: BLE001 - one job's crash is that job's error
            tail = traceback.format_exc(limit=3).strip().splitlines()[-1]
            result = job_result("SKIPPED", error=f"verifier error: {type(error).__name__}: {error} ({tail})")
        emit({"result": result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
