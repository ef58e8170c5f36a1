"""A file as the verifier reads it, with :mod:`ast` (never run): node spans as character offsets, parents,
what each imported name is bound to, and the grad mode the code has at a node (lexically inside
`with torch.no_grad()`, `torch.inference_mode()`, `torch.set_grad_enabled(False)` or a function decorated
with one of them: off).
"""
from __future__ import annotations

import ast
from typing import Dict, List, Optional, Tuple

from tensorlint.analysis.torch_api import GRAD_ON_CONTEXTS, NO_GRAD_CONTEXTS
from tensorlint.core.diagnostics import physical_lines

# Names bound to real modules when the file does not import them otherwise.
DEFAULT_MODULES: Dict[str, str] = {"np": "numpy", "numpy": "numpy", "torch": "torch", "nn": "torch.nn",
                                   "F": "torch.nn.functional", "math": "math"}
# Modules the verifier may bind names to; names imported from anything else cannot be bound.
ALLOWED_ROOTS = ("numpy", "torch", "math", "builtins")
# torch exports each grad-mode function from all three modules, and code spells it every way; which
# functions turn grad off or on is the analysis's (`torch_api`), which may list only some spellings.
_GRAD_MODE_MODULES = ("torch", "torch.autograd", "torch.autograd.grad_mode")
_GRAD_OFF = frozenset(name.rsplit(".", 1)[1] for name in NO_GRAD_CONTEXTS)
_GRAD_ON = frozenset(name.rsplit(".", 1)[1] for name in GRAD_ON_CONTEXTS)
_SET_GRAD = "set_grad_enabled"


# -- positions ---------------------------------------------------------------------------------
class Positions:
    """Character offsets of ast positions (ast columns are UTF-8 byte offsets)."""

    def __init__(self, source: str) -> None:
        self.lines = physical_lines(source)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        index = lineno - 1
        if index >= len(self.lines):
            return self.starts[-1]
        prefix = self.lines[index].encode("utf-8")[:col].decode("utf-8", errors="ignore")
        return self.starts[index] + len(prefix)

    def span(self, node: ast.AST) -> Tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset), self.offset(node.end_lineno, node.end_col_offset))

    def line_start(self, offset: int) -> int:
        for start in reversed(self.starts):
            if start <= offset:
                return start
        return 0


class SourceModel:
    """A parsed file: spans, parents, imports. Raises SyntaxError for a file that does not parse."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = ast.parse(source)
        self.positions = Positions(source)
        self.parents: Dict[int, ast.AST] = {}
        self.nodes: List[Tuple[int, int, int, ast.AST]] = []   # (start, end, depth, node)
        self._index(self.tree, 0)
        self.imports = imports_of(self.tree)

    def _index(self, node: ast.AST, depth: int) -> None:
        for child in ast.iter_child_nodes(node):
            self.parents[id(child)] = node
            if isinstance(child, (ast.expr, ast.stmt)):
                start, end = self.positions.span(child)
                self.nodes.append((start, end, depth + 1, child))
            self._index(child, depth + 1)

    def parent(self, node: ast.AST) -> Optional[ast.AST]:
        return self.parents.get(id(node))

    def covering(self, start: int, end: int, kinds: tuple) -> Optional[ast.AST]:
        """The smallest (then deepest) node of `kinds` whose span holds [start, end]."""
        best = None
        for node_start, node_end, depth, node in self.nodes:
            if isinstance(node, kinds) and node_start <= start and end <= node_end:
                key = (node_end - node_start, -depth)
                if best is None or key < best[0]:
                    best = (key, node)
        return best[1] if best else None

    def span(self, node: ast.AST) -> Tuple[int, int]:
        return self.positions.span(node)


def imports_of(tree: ast.Module) -> Dict[str, List[str]]:
    """name -> ["module", path] / ["attr", module, name] / ["foreign", what] / ["ambiguous", ...]."""
    found: Dict[str, List[str]] = {}

    def bind(name: str, value: List[str]) -> None:
        if name in found and found[name] != value:
            found[name] = ["ambiguous", f"`{name}` is imported more than once, differently"]
        else:
            found[name] = value

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    target = alias.name
                    name = alias.asname
                else:
                    target = name = alias.name.split(".")[0]
                allowed = target.split(".")[0] in ALLOWED_ROOTS
                bind(name, ["module", target] if allowed else ["foreign", f"module `{target}`"])
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name == "*":
                    continue
                name = alias.asname or alias.name
                allowed = node.level == 0 and module.split(".")[0] in ALLOWED_ROOTS
                bind(name, ["attr", module, alias.name] if allowed else ["foreign", f"`{module}.{alias.name}`"])
    return found


# -- dotted names and grad mode -----------------------------------------------------------------
def dotted(node: ast.AST, imports: Dict[str, List[str]]) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return ""
    binding = imports.get(node.id)
    if binding is None:
        root = DEFAULT_MODULES.get(node.id, node.id)
    elif binding[0] == "module":
        root = binding[1]
    elif binding[0] == "attr":
        root = f"{binding[1]}.{binding[2]}"
    else:
        return ""
    return ".".join([root] + parts[::-1])


def _grad_mode_function(dotted: str) -> str:
    """`torch.autograd.no_grad` -> `no_grad`; "" for anything not exported where torch has grad-mode functions."""
    module, _, name = dotted.rpartition(".")
    return name if module in _GRAD_MODE_MODULES else ""


def _grad_effect(expr: ast.AST, imports: Dict[str, List[str]]) -> Optional[List[bool]]:
    """What a `with` item / decorator does to grad mode: [False], [True], [True, False] (unknown) or None."""
    call = expr if isinstance(expr, ast.Call) else None
    name = _grad_mode_function(dotted(call.func if call else expr, imports))
    if name in _GRAD_OFF:
        if name == "inference_mode" and call is not None:
            flag = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "mode"), None)
            if isinstance(flag, ast.Constant) and flag.value is False:
                return None
            if flag is not None and not isinstance(flag, ast.Constant):
                return [True, False]
        return [False]
    if name in _GRAD_ON:
        return [True]
    if name == _SET_GRAD and call is not None:
        flag = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "mode"), None)
        if isinstance(flag, ast.Constant) and isinstance(flag.value, bool):
            return [flag.value]
        return [True, False]
    return None


def grad_modes(model: SourceModel, node: ast.AST) -> List[bool]:
    """Grad mode at `node`, read lexically; a function's body starts from its decorators, else grad on."""
    current: Optional[ast.AST] = node
    while current is not None:
        parent = model.parent(current)
        if isinstance(parent, (ast.With, ast.AsyncWith)) and current in parent.body:
            for item in reversed(parent.items):
                effect = _grad_effect(item.context_expr, model.imports)
                if effect is not None:
                    return effect
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and current in parent.body:
            for decorator in parent.decorator_list:
                effect = _grad_effect(decorator, model.imports)
                if effect is not None:
                    return effect
            return [True]
        if isinstance(parent, ast.Lambda):
            return [True]
        current = parent
    return [True]
