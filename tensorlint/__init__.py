"""tensorlint: find and fix PyTorch↔NumPy interop hazards."""
from .api import check_source, fix_source
from .diagnostics import Diagnostic, Edit, Fix, Safety

__version__ = "0.1.0"
__all__ = ["Diagnostic", "Edit", "Fix", "Safety", "check_source", "fix_source", "__version__"]
