"""The loop snippet of a TL503 fix (a shared NumPy buffer refilled in a loop), built in the parent from the file.

The rule reports a sharing construction (`torch.from_numpy(buf)`) in a loop that refills `buf` in place and
keeps the tensor in a list or dict made outside the loop. The snippet is that loop reduced to its evidence,
with the fix applied on one side only:

    buf = np.empty((3, 4), dtype=np.float32)      # the buffer's creation, as written
    batch = []                                     # each keeping container's creation, as written
    for __tl_iteration in range(__tl_iterations):
        path = __tl_value(__tl_iteration)          # the loop's targets: a distinct value per iteration
        buf[:] = load(path)                        # the loop body's refills of `buf`, in source order,
        batch.append(torch.from_numpy(buf))        # the statement with the construction and those that keep it

Each of these statements is a simple statement of the loop body (at any depth of `if`/`with`/`try` in it,
run unconditionally here). Every other name is bound in the worker (:mod:`tensorlint.verify.aliasing_check`):
modules the file imports from NumPy/torch/math to them, names in the creation statements to a size (4),
everything else (`load`, a file, a reader) to a source that gives a new value at each call, read or item.
What is not covered: a buffer or container made in another function or method (other than `self.x = []`
assigned in the class), loops whose refill depends on statements the snippet leaves out.
"""
from __future__ import annotations

import ast
import builtins
from typing import Dict, List, Optional, Sequence, Set, Tuple

from tensorlint.core.diagnostics import Fix
from tensorlint.verify.source_model import ALLOWED_ROOTS, DEFAULT_MODULES, SourceModel

ITERATION = "__tl_iteration"
_READ_INTO = frozenset({"readinto", "readinto1", "recv_into", "recvfrom_into"})
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


class Unextractable(Exception):
    pass


def extract(model: SourceModel, case, fix: Fix, others: Sequence[Fix], region_texts, flagged_in
            ) -> Tuple[str, str, str, object, str]:
    """Mark `case` (a snippets.Case) as an "aliasing" case and return its candidate's parts (original text, fixed
    text, description, flagged span, mode): the loop snippet around its finding. `region_texts` and `flagged_in`
    are snippets.py's (original/fixed text of a region; the flagged span); snippets.py builds the Candidate."""
    first = case.first
    call = model.covering(first.start_offset, first.end_offset, kinds=(ast.Call,))
    if call is None or not call.args or not isinstance(call.args[0], ast.Name):
        raise Unextractable("the finding is not a call on a buffer name")
    buffer = call.args[0].id
    loop, scope, cls = _loop_and_scope(model, call, buffer)
    statements = _selected(model, loop, call, buffer)
    creation = _last_assignment(model, scope, buffer, before=loop)
    if creation is None:
        raise Unextractable(f"no `{buffer} = ...` before the loop")
    containers, container_lines = _containers(model, statements, call, scope, cls, loop)
    original_lines: List[str] = [_text(model, creation)] + container_lines
    fixed_lines = list(original_lines)
    targets = sorted(_names(loop.target)) if isinstance(loop, (ast.For, ast.AsyncFor)) else []
    header = [f"for {ITERATION} in range(__tl_iterations):"] + [
        f"    {name} = __tl_value({ITERATION})" for name in targets]
    original_lines += header
    fixed_lines += header
    flagged = (0, 0)
    for statement in statements:
        start, end = model.span(statement)
        original, fixed, _ = region_texts(model.source, start, end, fix, others)
        if statement is _statement_of(model, call):
            before = len("\n".join(original_lines)) + 1 + 4
            flagged = tuple(before + offset for offset in flagged_in(first, start, ()))
        original_lines.append("    " + original)
        fixed_lines.append("    " + fixed)
    original_text, fixed_text = "\n".join(original_lines) + "\n", "\n".join(fixed_lines) + "\n"
    bound = {buffer, ITERATION, *targets, *containers}
    for statement in [creation, *statements]:
        bound |= _assigned(statement)
    sizes = sorted(_free(creation, bound) | set().union(*(_free(a, bound) for a in _container_nodes(model, scope, containers, loop))))
    free = sorted(set().union(*(_free(s, bound) for s in statements)) - set(sizes))
    modules: Dict[str, List[str]] = {}
    sources: List[str] = []
    for name in sorted(set(free) | set(sizes)):
        spec = model.imports.get(name) or (["module", DEFAULT_MODULES[name]] if name in DEFAULT_MODULES else None)
        if spec is not None and spec[0] in ("module", "attr") and spec[1].split(".")[0] in ALLOWED_ROOTS:
            modules[name] = spec
        elif name in free and not hasattr(builtins, name):
            sources.append(name)
    case.kind = "aliasing"
    case.extra = {"buffer": buffer, "kept": sorted(containers), "modules": modules, "sizes":
                  [n for n in sizes if n not in modules and not hasattr(builtins, n)],
                  "sources": [n for n in sources if n != "self"], "self": "self" in set(free) | set(sizes) or any(
                      c.startswith("self.") for c in containers)}
    return original_text, fixed_text, "loop around the finding, reduced to its evidence", flagged, "exec"


def _loop_and_scope(model: SourceModel, call: ast.Call, buffer: str):
    """The innermost loop around `call` whose body refills `buffer`, its function (or module), its class."""
    current: ast.AST = call
    loop = None
    while True:
        parent = model.parent(current)
        if parent is None or isinstance(parent, _FUNCTIONS):
            break
        if loop is None and isinstance(parent, (ast.For, ast.AsyncFor, ast.While)) and current in parent.body and \
                _refills(parent, buffer):
            loop = parent
        current = parent
    if loop is None:
        raise Unextractable(f"no loop around the finding refills `{buffer}`")
    scope = parent if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) else model.tree
    cls = model.parent(scope) if scope is not model.tree else None
    return loop, scope, cls if isinstance(cls, ast.ClassDef) else None


def _walk(node: ast.AST):
    """The nodes under `node`, nested functions and classes aside."""
    pending = list(ast.iter_child_nodes(node))
    while pending:
        child = pending.pop()
        if isinstance(child, _FUNCTIONS):
            continue
        yield child
        pending.extend(ast.iter_child_nodes(child))


def _is_refill(statement: ast.stmt, buffer: str) -> bool:
    if isinstance(statement, ast.Assign):
        return any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == buffer
                   for t in statement.targets)
    if isinstance(statement, ast.AugAssign):
        target = statement.target.value if isinstance(statement.target, ast.Subscript) else statement.target
        return isinstance(target, ast.Name) and target.id == buffer
    for node in ast.walk(statement):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        first = node.args[0] if node.args else None
        named = isinstance(first, ast.Name) and first.id == buffer
        if isinstance(func, ast.Attribute) and (func.attr in _READ_INTO or func.attr == "copyto") and named:
            return True
        if isinstance(func, ast.Attribute) and func.attr == "fill" and isinstance(func.value, ast.Name) and \
                func.value.id == buffer:
            return True
        if any(k.arg == "out" and isinstance(k.value, ast.Name) and k.value.id == buffer for k in node.keywords):
            return True
    return False


def _refills(loop: ast.AST, buffer: str) -> bool:
    return any(isinstance(node, ast.stmt) and _is_refill(node, buffer) for node in _walk(loop))


def _simple(node: ast.AST) -> bool:
    return isinstance(node, ast.stmt) and not any(hasattr(node, name) for name in ("body", "orelse", "handlers"))


def _statement_of(model: SourceModel, node: ast.AST) -> ast.stmt:
    while not isinstance(node, ast.stmt):
        node = model.parent(node)
    return node


def _selected(model: SourceModel, loop: ast.AST, call: ast.Call, buffer: str) -> List[ast.stmt]:
    """The loop body's refills of `buffer`, the statement with `call`, and those that keep what it binds."""
    construction = _statement_of(model, call)
    if not _simple(construction):
        raise Unextractable("the construction is in a compound statement's header")
    bound = _assigned(construction)
    chosen = []
    for node in _walk(loop):
        if not _simple(node) or node in loop.__dict__.get("orelse", ()):
            continue
        if node is construction or _is_refill(node, buffer) or bound and _keeps(node, bound):
            chosen.append(node)
    return sorted(chosen, key=lambda s: (s.lineno, s.col_offset))


def _keeps(statement: ast.stmt, names: Set[str]) -> bool:
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
            isinstance(statement.value.func, ast.Attribute) and statement.value.func.attr in ("append", "insert"):
        stored = statement.value.args
    elif isinstance(statement, ast.Assign) and any(isinstance(t, ast.Subscript) for t in statement.targets):
        stored = [statement.value]
    else:
        return False
    return any(isinstance(n, ast.Name) and n.id in names for value in stored for n in ast.walk(value))


def _assigned(statement: ast.stmt) -> Set[str]:
    if isinstance(statement, ast.Assign):
        return set().union(*(_names(t) for t in statement.targets))
    return set()


def _names(target: ast.AST) -> Set[str]:
    if isinstance(target, ast.Name):
        return {target.id}
    if isinstance(target, (ast.Tuple, ast.List)):
        return set().union(*(_names(e) for e in target.elts)) if target.elts else set()
    if isinstance(target, ast.Starred):
        return _names(target.value)
    return set()


def _last_assignment(model: SourceModel, scope: ast.AST, name: str, before: ast.AST) -> Optional[ast.stmt]:
    found = None
    for node in _walk(scope):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and \
                node.targets[0].id == name and (node.lineno, node.col_offset) < (before.lineno, before.col_offset):
            if found is None or (node.lineno, node.col_offset) > (found.lineno, found.col_offset):
                found = node
    return found


def _containers(model: SourceModel, statements: Sequence[ast.stmt], call: ast.Call, scope: ast.AST,
                cls: Optional[ast.ClassDef], loop: ast.AST) -> Tuple[Set[str], List[str]]:
    """The containers the selected statements keep into (`batch`, `self.frames`) and their creations' text."""
    found: Set[str] = set()
    for statement in statements:
        owner = None
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
                isinstance(statement.value.func, ast.Attribute) and statement.value.func.attr in ("append", "insert"):
            owner = statement.value.func.value
        elif isinstance(statement, ast.Assign):
            owner = next((t.value for t in statement.targets if isinstance(t, ast.Subscript)), None)
        path = _dotted(owner)
        if path is not None and path != _dotted(call.args[0]):
            found.add(path)
    if not found:
        raise Unextractable("no container keeps the tensor in the snippet")
    lines = []
    for path in sorted(found):
        if path.startswith("self."):
            assignment = _class_assignment(cls, path.split(".", 1)[1])
        else:
            assignment = _last_assignment(model, scope, path, before=loop)
        if assignment is None:
            raise Unextractable(f"no creation of `{path}` before the loop")
        lines.append(_text(model, assignment) if not path.startswith("self.") else
                     f"{path} = {ast.get_source_segment(model.source, assignment.value)}")
    return found, lines


def _container_nodes(model: SourceModel, scope: ast.AST, containers: Set[str], loop: ast.AST) -> List[ast.AST]:
    nodes = []
    for path in containers:
        if "." not in path:
            assignment = _last_assignment(model, scope, path, before=loop)
            if assignment is not None:
                nodes.append(assignment)
    return nodes


def _class_assignment(cls: Optional[ast.ClassDef], attribute: str) -> Optional[ast.Assign]:
    if cls is None:
        return None
    for node in ast.walk(cls):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Attribute) \
                and _dotted(node.targets[0]) == f"self.{attribute}":
            return node
    return None


def _dotted(node: Optional[ast.AST]) -> Optional[str]:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return ".".join([node.id] + parts[::-1])


def _text(model: SourceModel, statement: ast.stmt) -> str:
    start, end = model.span(statement)
    return model.source[start:end]


def _free(statement: ast.AST, bound: Set[str]) -> Set[str]:
    """Names `statement` reads that the snippet does not bind itself."""
    return {node.id for node in ast.walk(statement) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
            and node.id not in bound}
