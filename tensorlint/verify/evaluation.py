"""Running one snippet in the worker: a fresh namespace with its names bound, and what came of it.

Snippets get a copy of the builtins without ``input``, ``open``, ``exit``, ``quit``, ``breakpoint`` and
``help``, and an ``__import__`` that only imports NumPy, torch and ``math`` (the user's modules are never
imported). Each run starts from the same random seeds, so both sides of a fix see the same numbers.
"""
from __future__ import annotations

import builtins
import importlib
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch

from tensorlint.verify.compare import summary
from tensorlint.verify.plan import Plan, Unbindable

MAX_REPORTED = 4   # failures (and limitations) listed per fix
_REAL_IMPORT = builtins.__import__
_ALLOWED_IMPORTS = ("numpy", "torch", "math", "builtins")


def _restricted_import(numpy_module: Any = None) -> Callable:
    def _import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or name.split(".")[0] not in _ALLOWED_IMPORTS:
            raise ImportError(f"the verifier does not import `{name}` (only NumPy, torch and math)")
        if name == "numpy" and numpy_module is not None:
            return numpy_module
        return _REAL_IMPORT(name, globals, locals, fromlist, level)
    return _import


def snippet_builtins(numpy_module: Any = None) -> Dict[str, Any]:
    """The builtins a snippet sees; `numpy_module` stands in for `numpy` (a NumPy version's view)."""
    names = dict(vars(builtins))
    for name in ("input", "open", "exit", "quit", "breakpoint", "help", "copyright", "credits", "license"):
        names.pop(name, None)
    names["__import__"] = _restricted_import(numpy_module)
    return names


def bind_spec(spec: List[str], numpy_module: Any = None) -> Any:
    """The value a name's binding spec (`plan.name_spec`) stands for."""
    kind = spec[0]
    if kind == "builtin":
        return getattr(builtins, spec[1])
    if kind == "module":
        if spec[1] == "numpy" and numpy_module is not None:
            return numpy_module
        return importlib.import_module(spec[1])
    if kind == "attr":
        if spec[1] == "numpy" and numpy_module is not None:
            return getattr(numpy_module, spec[2])
        return getattr(importlib.import_module(spec[1]), spec[2])
    raise Unbindable(f"cannot bind {spec}")


def plan_namespace(plan: Plan) -> Dict[str, Any]:
    """A fresh namespace with the plan's modules and lists bound (its placeholders are bound per binding)."""
    namespace: Dict[str, Any] = {"__builtins__": snippet_builtins(), "__name__": "__tensorlint_verify__"}
    for name, spec in plan.names.items():
        if spec[0] == "list":
            namespace[name] = []
        else:
            namespace[name] = bind_spec(spec)
    return namespace


@dataclass
class Outcome:
    ok: bool
    value: Any = None
    error: str = ""            # "TypeError: message"
    error_type: str = ""
    shared: frozenset = frozenset()
    syncs: float = 0.0
    sync_kinds: Optional[Dict[str, int]] = None
    retained: int = 0

    def text(self) -> str:
        return summary(self.value) if self.ok else self.error


def run_snippet(code: Any, namespace: Dict[str, Any], grad_enabled: bool, mode: str) -> Outcome:
    """Evaluate (`mode` "eval") or execute ("exec") compiled `code` in `namespace`."""
    torch.manual_seed(0)
    np.random.seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # ...except CUDA's sync debug warnings, which tally.SyncCount records on a real GPU
            warnings.filterwarnings("always", message=".*synchroniz")
            with torch.set_grad_enabled(grad_enabled):
                if mode == "eval":
                    value = eval(code, namespace)
                else:
                    exec(code, namespace)
                    value = None
        return Outcome(True, value)
    except BaseException as error:  # noqa: BLE001 - SystemExit from a snippet is an outcome too
        if isinstance(error, KeyboardInterrupt):
            raise
        message = " ".join(str(error).split())
        if len(message) > 300:
            message = message[:297] + "..."
        return Outcome(False, error=f"{type(error).__name__}: {message}", error_type=type(error).__name__)


def job_result(verdict: str, reason: Optional[str] = None, error: Optional[str] = None, **extra: Any) -> dict:
    """What the worker answers for one job: its verdict, why, and the details the report shows."""
    result = {"verdict": verdict, "reason": reason, "error": error}
    result.update(extra)
    return result
