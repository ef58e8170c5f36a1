"""Finds `.data` on values the shared analysis knows are tensors, and tells reads from in-place writes."""
from __future__ import annotations

from typing import Optional

import libcst as cst

from ..analysis import YES, dotted_name
from ..diagnostics import Fix, Safety
from .base import FamilyChecker

# In-place methods that change the `.data` alias's shape or identity, not just values: through `.data`
# they leave the parameter alone, so `with torch.no_grad(): p.t_()` would change behaviour.
_METADATA_CHANGING = frozenset({"t_", "resize_", "resize_as_", "set_", "requires_grad_", "squeeze_", "unsqueeze_",
                                "transpose_", "swapdims_", "swapaxes_", "as_strided_", "share_memory_"})


def is_in_place_method(name: str) -> bool:
    """`add_`, `copy_`, `zero_`: torch's in-place methods end with one underscore."""
    return name.endswith("_") and not name.endswith("__") and len(name) > 1


class DataChecker(FamilyChecker):
    triggers = (".data",)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "data":
            return
        claimed, handover = self.context.claimed(node)
        if claimed:  # a conversion's finding covers it, or hands it over as its one finding (`x.data.numpy()`)
            if handover is not None and self.wants("TL201"):
                self.context.report("TL201", node, *handover)
            return
        if self.semantic.facts(node.value).tensor is not YES or not self.semantic.may_be_tensor_data(node):
            return
        parent = self._ancestor(1)
        grandparent = self._ancestor(2)
        # `p.data = x`, `p.data, meta = f()`, `for p.data in xs`, `with f() as p.data`: a store, never a read
        if isinstance(self.semantic.store_of(node), (cst.AssignTarget, cst.For, cst.CompFor, cst.AsName)):
            self._report_replacement(node)
        elif isinstance(parent, cst.AugAssign) and parent.target is node:
            self._report_write(node, parent, f"`{self._code(node)} {self._code(parent.operator).strip()} ...`")
        elif isinstance(parent, cst.Subscript) and parent.value is node and self._is_write_target(parent, grandparent):
            statement = grandparent if isinstance(grandparent, cst.AugAssign) else self._ancestor(3)
            self._report_write(node, statement, "an item assignment")
        elif (isinstance(parent, cst.Attribute) and parent.value is node and is_in_place_method(parent.attr.value)
              and isinstance(grandparent, cst.Call) and grandparent.func is parent):
            statement = None if parent.attr.value in _METADATA_CHANGING else self._ancestor(3)
            self._report_write(node, statement, f"`.{parent.attr.value}()`")
        elif self._in_place_on_a_slice(node):  # `p.data[:, k:].copy_(new)`: writes through a view of `.data`
            method = self._ancestor(2).attr.value
            statement = None if method in _METADATA_CHANGING else self._ancestor(4)
            self._report_write(node, statement if isinstance(statement, cst.Expr) else None, f"`[...].{method}()`")
        elif self.wants("TL201"):
            self._report_read(node)

    # -- TL201 ------------------------------------------------------------------------------
    def _report_read(self, node: cst.Attribute) -> None:
        edit = self._replace_data(node, ".detach()")
        fix = None
        if edit is not None:
            # `.detach()` exists only on torch tensors: without proof (`self.model.data` of a client object) unsafe
            proven = self.semantic.proves_torch_tensor(self.semantic.facts(node.value))
            safety = Safety.UNSAFE if self._may_be_mutated_later(node) or not proven else Safety.SAFE
            title = "Replace `.data` with `.detach()`"
            assumes = ()
            if not proven:
                title += f" (assumes `{self._code(node.value)}` is a torch tensor)"
                assumes = (self._code(node.value),)
            fix = Fix(title, (edit,), safety, assumes)
        self.context.report("TL201", node, f"`{self._code(node)}` reads through unsafe legacy `.data`: use "
                            f"`{self._code(node.value)}.detach()` (autograd then sees later in-place changes)", fix)

    def _may_be_mutated_later(self, node: cst.Attribute) -> bool:
        """Is the alias stored under a name that the enclosing function later changes in place?"""
        parent = self._ancestor(1)
        if isinstance(parent, (cst.Call, cst.Arg, cst.Return, cst.BinaryOperation, cst.Comparison, cst.UnaryOperation)):
            return False
        if isinstance(parent, cst.Attribute) and parent.value is node and not is_in_place_method(parent.attr.value):
            return False
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            return _mutates_in_place(self._enclosing_scope(), parent.targets[0].target.value)
        return True

    # -- TL202 ------------------------------------------------------------------------------
    def _report_write(self, node: cst.Attribute, statement: Optional[cst.CSTNode], what: str) -> None:
        if not self.wants("TL202"):
            return
        owner = self._code(node.value)
        self.context.report(
            "TL202", node,
            f"in-place change through `.data` ({what}) is hidden from autograd: write it as "
            f"`with torch.no_grad(): {owner}...` without `.data`", self._no_grad_fix(node, statement))

    def _report_replacement(self, node: cst.Attribute) -> None:
        if not self.wants("TL202"):
            return
        owner = self._code(node.value)
        self.context.report(
            "TL202", node,
            f"assigning `{owner}.data` swaps the tensor behind autograd's back: use "
            f"`with torch.no_grad(): {owner}.copy_(new)` when shapes match, "
            f"`torch.utils.swap_tensors({owner}, new)` otherwise")

    def _no_grad_fix(self, node: cst.Attribute, small: Optional[cst.CSTNode]) -> Optional[Fix]:
        drop = self._replace_data(node, "")
        if drop is None or small is None:
            return None
        if not self.semantic.grad_enabled:
            return Fix("Drop `.data` (already under no_grad)", (drop,), Safety.UNSAFE)
        line = self._ancestor_statement_line()
        if line is None or len(line.body) != 1 or line.body[0] is not small:
            return None  # `a; b` on one line, or a write nested in an expression: no local rewrite
        torch_name = next((local for local, full in self.semantic.imports.names.items() if full == "torch"), None)
        start = self.context.start_of(line)
        indent = self.context.statement_indent(line)
        edits = [self.context.edit(start, start, f"with {torch_name or 'torch'}.no_grad():"
                                   f"{self.context.module.default_newline}{indent}    "), drop]
        if torch_name is None:
            edits.append(self.context.import_edit("import torch"))
        if any(edit is None for edit in edits):
            return None
        return Fix("Wrap in `with torch.no_grad():` and drop `.data`", tuple(edits), Safety.UNSAFE)

    # -- helpers ----------------------------------------------------------------------------
    def _replace_data(self, node: cst.Attribute, text: str):
        return self.context.edit(self.context.end_with_parentheses(node.value), self.context.end_of(node), text)

    def _ancestor(self, depth: int) -> Optional[cst.CSTNode]:
        ancestors = self.semantic.ancestors
        return ancestors[-1 - depth] if len(ancestors) > depth else None

    def _ancestor_statement_line(self) -> Optional[cst.SimpleStatementLine]:
        for ancestor in reversed(self.semantic.ancestors):
            if isinstance(ancestor, cst.SimpleStatementLine):
                return ancestor
            if isinstance(ancestor, cst.BaseCompoundStatement):
                return None
        return None

    def _enclosing_scope(self) -> cst.CSTNode:
        for ancestor in reversed(self.semantic.ancestors):
            if isinstance(ancestor, (cst.FunctionDef, cst.Module)):
                return ancestor
        return self.context.module

    def _in_place_on_a_slice(self, node: cst.Attribute) -> bool:
        subscript, method, call = self._ancestor(1), self._ancestor(2), self._ancestor(3)
        return (isinstance(subscript, cst.Subscript) and subscript.value is node
                and isinstance(method, cst.Attribute) and method.value is subscript and is_in_place_method(method.attr.value)
                and isinstance(call, cst.Call) and call.func is method)

    @staticmethod
    def _is_write_target(subscript: cst.Subscript, parent: Optional[cst.CSTNode]) -> bool:
        return (isinstance(parent, cst.AssignTarget) and parent.target is subscript) or (
            isinstance(parent, cst.AugAssign) and parent.target is subscript)

    def _code(self, node: cst.CSTNode) -> str:
        return self.context.code(node)


def _mutates_in_place(scope: cst.CSTNode, name: str) -> bool:
    """Does `scope` contain `name.add_(...)`, `name[...] = ...` or `name += ...`?"""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            nonlocal found
            func = call.func
            if isinstance(func, cst.Attribute) and dotted_name(func.value) == name and is_in_place_method(func.attr.value):
                found = True

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            nonlocal found
            target = node.target.value if isinstance(node.target, cst.Subscript) else node.target
            found = found or dotted_name(target) == name

        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            nonlocal found
            found = found or (isinstance(node.target, cst.Subscript) and dotted_name(node.target.value) == name)

    scope.visit(Finder())
    return found
