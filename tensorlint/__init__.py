"""tensorlint: find and fix PyTorch↔NumPy interop hazards."""
from typing import Any

__version__ = "0.1.0"
__all__ = ["Diagnostic", "Edit", "Fix", "Safety", "check_source", "fix_source", "__version__"]

# Loaded on first use (PEP 562): `tensorlint --version` and a check answered from the cache never import
# libcst and the rules, which `check_source` needs.
_LAZY = {"check_source": "api", "fix_source": "api",
         "Diagnostic": "core.diagnostics", "Edit": "core.diagnostics", "Fix": "core.diagnostics",
         "Safety": "core.diagnostics"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tensorlint' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_LAZY])
