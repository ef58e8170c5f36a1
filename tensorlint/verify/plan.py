"""How to bind a snippet's free names: real modules, tensors from the matrix, or nothing (SKIPPED).

A snippet's free names are sorted (never guessed):

* names the file imports from NumPy, torch or ``math`` (or, when the file does not import them, the
  conventional ``np``, ``torch``, ``nn``, ``F``, ``math``) are bound to those real modules;
* builtins stay builtins;
* anything imported from another module (``roc_auc_score``, ``plt``) cannot be bound: SKIPPED, unless
  it sits inside an opaque sub-expression (below);
* every other name starts an **opaque sub-expression**, the largest expression around it that says
  nothing about tensors: the name itself (``x``), an attribute chain whose attributes are not
  ``torch.Tensor`` attributes (``self.gain``, ``model.fc.weight``), ``<opaque>.grad``, and a call of
  an opaque callee (``model(images)``, ``g(a.detach().numpy())``). Each distinct opaque
  sub-expression (by its text) becomes one placeholder bound to a tensor of the matrix, so
  ``model(images).cpu().numpy()`` is checked for every kind of tensor ``model(images)`` may be.
  The fix must leave every opaque sub-expression as it was (it may drop one).

Roles: an opaque sub-expression inside the flagged span, used as a receiver (``t.cpu()``, ``t[i]``)
or called is a **tensor**; one outside the span used only as an operand or argument (``lr`` in
``p.data.add_(g, alpha=-lr)``) is an **operand**, which the matrix also tries as a 0-dim tensor and
as the Python numbers ``0.5`` and ``2``. In loop snippets, augmented-assignment targets
(``total += loss``) are **accumulators** (starting at ``0.0``) and receivers of ``.append`` /
``.extend`` / ``.insert`` are **lists** (starting empty); the other opaque sub-expressions are fresh
**step** tensors each iteration. A free name only iterated over (``for x in batches``) cannot be
bound: its elements are unknown.
"""
from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

from tensorlint.verify.snippets import SINK_MODEL
from tensorlint.verify.source_model import ALLOWED_ROOTS, DEFAULT_MODULES, Positions

CONTAINER_METHODS = frozenset({"append", "extend", "insert"})
PLACEHOLDER = "__tl_a{}"
SINK_NAME = SINK_MODEL.split(".")[0]


class Unbindable(Exception):
    """The snippet has a name the verifier will not guess a value for."""


@dataclass
class Atom:
    key: str            # normalized text (ast.unparse)
    placeholder: str
    role: str           # "tensor", "operand", "step", "accumulator", "list"


@dataclass
class Plan:
    mode: str                                     # "eval" or "exec"
    original: str                                 # code text with placeholders
    fixed: str
    atoms: List[Atom] = field(default_factory=list)
    names: Dict[str, List[str]] = field(default_factory=dict)   # free name -> binding spec
    assigned: List[str] = field(default_factory=list)           # names the snippet assigns (statements)
    assumed: List[str] = field(default_factory=list)            # placeholders of `forced` receivers

    def atoms_with(self, *roles: str) -> List[Atom]:
        return [a for a in self.atoms if a.role in roles]


def wrap(text: str, mode: str) -> Tuple[str, int]:
    """Code that compiles on its own, and the offset shift of `text` inside it."""
    if mode == "eval":
        return f"(\n{text}\n)", 2
    if text[:1] in (" ", "\t"):
        return f"if True:\n{text}", 9
    return text, 0


def name_spec(name: str, imports: Dict[str, List[str]]) -> Optional[List[str]]:
    """How a free name is bound: a module/attribute/builtin spec, ["foreign", why], or None (unknown)."""
    if name == SINK_NAME:
        return ["module", "numpy"]
    binding = imports.get(name)
    if binding is not None:
        return binding
    if name in DEFAULT_MODULES:
        return ["module", DEFAULT_MODULES[name]]
    if hasattr(builtins, name):
        return ["builtin", name]
    return None


def _local_names(tree: ast.AST) -> Set[str]:
    local: Set[str] = set()
    aug_targets = {id(n.target) for n in ast.walk(tree) if isinstance(n, ast.AugAssign)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and id(node) not in aug_targets:
            local.add(node.id)
        elif isinstance(node, ast.arg):
            local.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            local.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            local.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            local.add(node.name)
    return local


class _Analysis:
    def __init__(self, code: str, mode: str, imports: Dict[str, List[str]], tensor_attrs: FrozenSet[str],
                 loop: bool, forced: FrozenSet[str] = frozenset()) -> None:
        self.code = code
        self.forced = forced
        self.tree = ast.parse(code, mode="eval" if mode == "eval" else "exec")
        self.positions = Positions(code)
        self.imports = imports
        self.tensor_attrs = tensor_attrs
        self.loop = loop
        self.local = _local_names(self.tree)
        self.parents: Dict[int, ast.AST] = {}
        for node in ast.walk(self.tree):
            for child in ast.iter_child_nodes(node):
                self.parents[id(child)] = node
        self.unknown = {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)
                        and n.id not in self.local and name_spec(n.id, imports) is None}
        self.containers: Set[str] = set()
        if loop:
            for node in ast.walk(self.tree):
                if isinstance(node, ast.Attribute) and node.attr in CONTAINER_METHODS \
                        and isinstance(node.value, ast.Name) and node.value.id in self.unknown \
                        and isinstance(self.parents.get(id(node)), ast.Call) \
                        and self.parents[id(node)].func is node:
                    self.containers.add(node.value.id)
        self.aug_targets = {n.target.id for n in ast.walk(self.tree)
                            if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name)}

    def opaque(self, node: ast.AST) -> bool:
        if self.forced and isinstance(node, ast.expr) and _key(node) in self.forced:
            return True
        if isinstance(node, ast.Name):
            return node.id in self.unknown and node.id not in self.containers
        if isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and node.value.id in self.containers:
                return False
            return self.opaque(node.value) and (node.attr == "grad" or node.attr not in self.tensor_attrs)
        if isinstance(node, ast.Call):
            return self.opaque(node.func)
        return False

    def atoms(self) -> List[ast.expr]:
        found: List[ast.expr] = []

        def visit(node: ast.AST) -> None:
            if isinstance(node, ast.expr) and self.opaque(node):
                found.append(node)
                return
            for child in ast.iter_child_nodes(node):
                visit(child)

        visit(self.tree)
        return found

    def span(self, node: ast.AST) -> Tuple[int, int]:
        return self.positions.span(node)


def _key(node: ast.AST) -> str:
    return ast.unparse(node)


def make_plan(original: str, fixed: str, mode: str, flagged: Sequence[int], imports: Dict[str, List[str]],
              tensor_attrs: FrozenSet[str], loop: bool = False, forced: Sequence[str] = ()) -> Plan:
    """Placeholders and bindings for one candidate; raises Unbindable (or SyntaxError for the original).

    `forced`: sub-expressions (by normalized text, see :func:`assumed_receivers`) that become
    placeholders of their own even where they say something about tensors (`counter.sum()`).
    """
    code_original, shift = wrap(original, mode)
    code_fixed, _ = wrap(fixed, mode)
    left = _Analysis(code_original, mode, imports, tensor_attrs, loop, frozenset(forced))
    try:
        right = _Analysis(code_fixed, mode, imports, tensor_attrs, loop, frozenset(forced))
    except SyntaxError as error:
        raise _FixedSyntaxError(f"the fixed snippet does not parse: {error.msg}") from None
    flag_start, flag_end = flagged[0] + shift, flagged[1] + shift

    for analysis in (left, right):
        for node in ast.walk(analysis.tree):
            if isinstance(node, ast.comprehension) and isinstance(node.iter, ast.Name) \
                    and node.iter.id in analysis.unknown:
                raise Unbindable(f"`{node.iter.id}` is only iterated over: its elements are unknown")
            if isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.iter, ast.Name) \
                    and node.iter.id in analysis.unknown:
                raise Unbindable(f"`{node.iter.id}` is only iterated over: its elements are unknown")

    left_atoms = left.atoms()
    right_atoms = right.atoms()
    placeholders: Dict[str, str] = {}
    roles: Dict[str, str] = {}
    for node in left_atoms:
        key = _key(node)
        if key not in placeholders:
            placeholders[key] = PLACEHOLDER.format(len(placeholders))
        role = _role(left, node, flag_start, flag_end, loop)
        previous = roles.get(key)
        roles[key] = role if previous in (None, "operand") else previous
    for node in right_atoms:
        if _key(node) not in placeholders:
            raise Unbindable(f"the fix changes the opaque sub-expression `{_key(node)}`, so the two sides "
                             "cannot be given the same value")
    for name in left.containers | right.containers:
        if any(isinstance(n, ast.Name) and n.id == name and not _is_container_use(analysis, n)
               for analysis in (left, right) for n in ast.walk(analysis.tree)):
            raise Unbindable(f"`{name}` is used both as a list and as a value")

    names: Dict[str, List[str]] = {}
    for analysis, atoms in ((left, left_atoms), (right, right_atoms)):
        inside = set()
        for node in atoms:
            inside.update(id(n) for n in ast.walk(node))
        for node in ast.walk(analysis.tree):
            if not isinstance(node, ast.Name) or id(node) in inside or node.id in analysis.local:
                continue
            if node.id in analysis.containers:
                names[node.id] = ["list"]
                continue
            spec = name_spec(node.id, imports)
            if spec is None:
                continue  # an unknown name outside atoms cannot happen: names are atoms
            if spec[0] in ("foreign", "ambiguous"):
                raise Unbindable(f"`{node.id}` is {spec[1]}" if spec[0] == "foreign" else spec[1])
            if spec[0] == "module" and spec[1].split(".")[0] not in ALLOWED_ROOTS:
                raise Unbindable(f"`{node.id}` is module `{spec[1]}`")
            names[node.id] = spec

    plan = Plan(mode, _substitute(left, left_atoms, placeholders), _substitute(right, right_atoms, placeholders),
                names=names)
    for key, placeholder in placeholders.items():
        plan.atoms.append(Atom(key, placeholder, roles[key]))
    plan.assumed = [placeholders[key] for key in forced if key in placeholders]
    assigned = set()
    for analysis in (left, right):
        assigned |= {n.id for n in ast.walk(analysis.tree) if isinstance(n, ast.Name)
                     and isinstance(n.ctx, ast.Store) and n.id not in analysis.aug_targets}
    plan.assigned = sorted(assigned - set(placeholders.values()))
    return plan


class _FixedSyntaxError(Exception):
    """The fixed side does not parse (the original does): the fix is wrong."""


def _is_container_use(analysis: _Analysis, node: ast.Name) -> bool:
    parent = analysis.parents.get(id(node))
    return isinstance(parent, ast.Attribute) and parent.attr in CONTAINER_METHODS


def _role(analysis: _Analysis, node: ast.expr, flag_start: int, flag_end: int, loop: bool) -> str:
    if loop:
        if isinstance(node, ast.Name) and node.id in analysis.aug_targets:
            return "accumulator"
        return "step"
    start, end = analysis.span(node)
    parent = analysis.parents.get(id(node))
    receiver = isinstance(parent, (ast.Attribute, ast.Subscript)) and parent.value is node
    if isinstance(node, ast.Call) or receiver or (start < flag_end and flag_start < end):
        return "tensor"
    if isinstance(parent, ast.AugAssign) and parent.target is node:
        return "tensor"
    return "operand"


def _substitute(analysis: _Analysis, atoms: Sequence[ast.expr], placeholders: Dict[str, str]) -> str:
    code = analysis.code
    spans = sorted(((analysis.span(node), placeholders[_key(node)]) for node in atoms), reverse=True)
    for (start, end), placeholder in spans:
        code = code[:start] + placeholder + code[end:]
    return code


# -- what a fix assumes is a torch tensor ------------------------------------------------------------
# Links a conversion fix inserts; a receiver that gains one (or loses `.data`) is taken for a tensor.
LINKS = frozenset({"detach", "cpu", "cuda", "numpy", "to", "float", "clone", "item", "tolist", "data"})


def assumed_receivers(original: str, fixed: str, mode: str, imports: Dict[str, List[str]],
                      assumes: Sequence[str] = (), unproven: bool = False) -> List[str]:
    """Sub-expressions of `original` (normalized texts) to bind also to non-tensor look-alikes.

    `assumes`: the receivers the fix says it takes for tensors without proof (`Fix.assumes`); those
    found in the snippet. `unproven` (an unsafe fix): also every receiver that gains a link
    (`boxes.xyxy` in `boxes.xyxy.cpu()` -> `boxes.xyxy.detach().cpu()`) or loses `.data`, when it
    starts from a name the snippet does not bind to a module (`torch.zeros(3)` is a tensor).
    """
    try:
        left = ast.parse(wrap(original, mode)[0], mode="eval" if mode == "eval" else "exec")
        right = ast.parse(wrap(fixed, mode)[0], mode="eval" if mode == "eval" else "exec")
    except SyntaxError:
        return []
    present = {_key(node) for node in ast.walk(left) if isinstance(node, ast.expr)}
    wanted: List[str] = []
    for text in assumes:
        try:
            wanted.append(_key(ast.parse(text.strip(), mode="eval").body))
        except SyntaxError:
            continue
    if unproven:
        before, after = _links(left), _links(right)
        derived = [receiver for (receiver, link), count in after.items()
                   if link != "data" and count > before.get((receiver, link), 0)]
        derived += [receiver for (receiver, link), count in before.items()
                    if link == "data" and count > after.get((receiver, link), 0)]
        # what the original already detaches (`x.detach()` gaining `.cpu()`) is a tensor in practice
        wanted += [receiver for receiver in derived if not receiver.endswith(".detach()")]
    roots = {key: _root(node) for node in ast.walk(left) if isinstance(node, ast.expr) for key in [_key(node)]}
    found = []
    for key in dict.fromkeys(wanted):
        root = roots.get(key)
        if key in present and root is not None and name_spec(root, imports) in (None, ["builtin", root]):
            found.append(key)
    return found


def _links(tree: ast.AST) -> Dict[Tuple[str, str], int]:
    found: Dict[Tuple[str, str], int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in LINKS:
            key = (_key(node.value), node.attr)
            found[key] = found.get(key, 0) + 1
    return found


def _root(node: ast.AST) -> Optional[str]:
    """The name an attribute/call/subscript chain starts from (`self` in `self.boxes[0].cpu()`)."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None
