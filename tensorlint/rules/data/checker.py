"""Finds `.data` on values the shared analysis knows are tensors, and tells reads from in-place writes."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence

import libcst as cst

from tensorlint.analysis import YES
from tensorlint.analysis.scope import enclosing_scope, is_in_place_method, mutates_in_place
from tensorlint.core.diagnostics import Edit, Fix, Safety
from tensorlint.core.noqa import without_suppressed
from tensorlint.rules.base import FamilyChecker
from tensorlint.rules.data.rules import RULES, DataInplaceWrite, DataRead

# In-place methods that change the `.data` alias's shape or identity, not just values: through `.data`
# they leave the parameter alone, so `with torch.no_grad(): p.t_()` would change behaviour.
_METADATA_CHANGING = frozenset({"t_", "resize_", "resize_as_", "set_", "requires_grad_", "squeeze_", "unsqueeze_",
                                "transpose_", "swapdims_", "swapaxes_", "as_strided_", "share_memory_"})


@dataclass(frozen=True)
class _Write:
    """A statement line whose TL202 fix wraps it in `with torch.no_grad():`."""
    line: cst.SimpleStatementLine
    drop: Edit                # the `.data` it drops
    fix: Fix                  # its own one-statement fix
    torch_name: Optional[str]  # None: the file does not import torch


class DataChecker(FamilyChecker):
    rules = RULES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._writes: Dict[int, _Write] = {}

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value != "data":
            return
        claimed, handover = self.context.claimed(node)
        if claimed:  # a conversion's finding covers it, or hands it over as its one finding (`x.data.numpy()`)
            if handover is not None and self.wants(DataRead) and self.semantic.may_be_tensor_data(node):
                self.report(DataRead, node, *handover)
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
        elif self._item_assignment_depth(node):
            # `p.data[i] = v`, `p.data[..., 0][mask] = v`: the store goes through views of `.data`
            depth = self._item_assignment_depth(node)
            target_holder = self._ancestor(depth + 1)
            statement = target_holder if isinstance(target_holder, cst.AugAssign) else self._ancestor(depth + 2)
            self._report_write(node, statement, "an item assignment")
        elif (isinstance(parent, cst.Attribute) and parent.value is node and is_in_place_method(parent.attr.value)
              and isinstance(grandparent, cst.Call) and grandparent.func is parent):
            statement = None if parent.attr.value in _METADATA_CHANGING else self._ancestor(3)
            self._report_write(node, statement, f"`.{parent.attr.value}()`")
        elif self._in_place_on_a_slice(node):  # `p.data[:, k:].copy_(new)`: writes through a view of `.data`
            method = self._ancestor(2).attr.value
            statement = None if method in _METADATA_CHANGING else self._ancestor(4)
            self._report_write(node, statement if isinstance(statement, cst.Expr) else None, f"`[...].{method}()`")
        elif self.wants(DataRead):
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
                shown = self.context.one_line(node.value, 40)
                title += f" (assumes {'the value' if shown is None else f'`{shown}`'} is a torch tensor)"
                assumes = (self._code(node.value),)
            fix = Fix(title, (edit,), safety, assumes)
        self.report(DataRead, node, f"`{self._code(node)}` reads through unsafe legacy `.data`: use "
                    f"`{self._code(node.value)}.detach()` (autograd then sees later in-place changes)", fix)

    def _may_be_mutated_later(self, node: cst.Attribute) -> bool:
        """Is the alias stored under a name that the enclosing function later changes in place?"""
        parent = self._ancestor(1)
        if isinstance(parent, (cst.Call, cst.Arg, cst.Return, cst.BinaryOperation, cst.Comparison, cst.UnaryOperation)):
            return False
        if isinstance(parent, cst.Attribute) and parent.value is node and not is_in_place_method(parent.attr.value):
            return False
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            scope = enclosing_scope(self.semantic.ancestors, self.context.module)
            return mutates_in_place(scope, parent.targets[0].target.value)
        return True

    # -- TL202 ------------------------------------------------------------------------------
    def _report_write(self, node: cst.Attribute, statement: Optional[cst.CSTNode], what: str) -> None:
        if not self.wants(DataInplaceWrite):
            return
        owner = self._code(node.value)
        self.report(
            DataInplaceWrite, node,
            f"in-place change through `.data` ({what}) is hidden from autograd: write it as "
            f"`with torch.no_grad(): {owner}...` without `.data`", self._no_grad_fix(node, statement))

    def _report_replacement(self, node: cst.Attribute) -> None:
        if not self.wants(DataInplaceWrite):
            return
        owner = self._code(node.value)
        self.report(
            DataInplaceWrite, node,
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
                                   f"{self.context.module.default_newline}{indent}{_unit(indent)}"), drop]
        if torch_name is None:
            edits.append(self.context.import_edit("import torch"))
        if any(edit is None for edit in edits):
            return None
        fix = Fix("Wrap in `with torch.no_grad():` and drop `.data`", tuple(edits), Safety.UNSAFE)
        self._writes[id(line)] = _Write(line, drop, fix, torch_name)
        return fix

    # -- one `with` block for neighbouring writes ---------------------------------------------
    def leave_Module(self, node: cst.Module) -> None:
        """Give adjacent writes of one block, and a `for` loop whose body is only such writes, one merged
        fix: every diagnostic of the run carries the same fix, so fixing any of them (or all) writes one
        `with torch.no_grad():` block, in one pass."""
        if not self._writes:
            return
        diagnostics = self.context.diagnostics
        by_fix: Dict[Fix, List[int]] = {}
        for index, diagnostic in enumerate(diagnostics):
            if diagnostic.code == DataInplaceWrite.code and diagnostic.fix is not None:
                by_fix.setdefault(diagnostic.fix, []).append(index)
        # a statement whose finding is suppressed (`# noqa: TL202`) is left as it is, so it ends a run
        kept = set(without_suppressed(self.context.source, diagnostics))
        writes = {key: write for key, write in self._writes.items()
                  if by_fix.get(write.fix) and all(diagnostics[i] in kept for i in by_fix[write.fix])}
        for run in _runs(node, writes):
            fix = self._merged_fix(run, [writes[id(line)] for line in _lines_of(run)])
            if fix is None:
                continue
            for write in (writes[id(line)] for line in _lines_of(run)):
                for index in by_fix[write.fix]:
                    diagnostics[index] = replace(diagnostics[index], fix=fix)

    def _merged_fix(self, run: Sequence[cst.BaseStatement], writes: Sequence[_Write]) -> Optional[Fix]:
        context = self.context
        start, end = context.start_of(run[0]), context.end_of(run[-1])
        indent = context.statement_indent(run[0])
        torch_name = writes[0].torch_name
        unit = _unit(indent)
        edits: List[Optional[Edit]] = [context.edit(start, start, f"with {torch_name or 'torch'}.no_grad():"
                                                    f"{context.module.default_newline}{indent}{unit}")]
        strings = [(context.start_of(s), context.end_of(s)) for s in _multiline_strings(run, context)]
        source = context.source
        for match in _NEWLINE.finditer(source, start, end):
            line = match.end()
            if line >= end or any(a < line < b for a, b in strings):
                continue
            following = _NEWLINE.search(source, line)
            blank = not source[line:following.start() if following else len(source)].strip()
            if source.startswith(indent, line) and not blank:
                edits.append(context.edit(line + len(indent), line + len(indent), unit))
        edits += [write.drop for write in writes]
        if torch_name is None:
            edits.append(context.import_edit("import torch"))
        if any(edit is None for edit in edits):
            return None
        if len(run) == 1:
            title = "Wrap the `for` loop in `with torch.no_grad():` and drop `.data`"
        else:
            title = f"Wrap {len(run)} statements in one `with torch.no_grad():` and drop `.data`"
        return Fix(title, tuple(edits), Safety.UNSAFE)

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

    def _in_place_on_a_slice(self, node: cst.Attribute) -> bool:
        subscript, method, call = self._ancestor(1), self._ancestor(2), self._ancestor(3)
        return (isinstance(subscript, cst.Subscript) and subscript.value is node
                and isinstance(method, cst.Attribute) and method.value is subscript and is_in_place_method(method.attr.value)
                and isinstance(call, cst.Call) and call.func is method)

    def _item_assignment_depth(self, node: cst.Attribute) -> int:
        """How many subscripts deep `node` is in the target of an item assignment (`p.data[i][j] = v`: 2);
        0 when it is not one."""
        depth, inner = 0, node
        while True:
            outer = self._ancestor(depth + 1)
            if not (isinstance(outer, cst.Subscript) and outer.value is inner):
                break
            depth, inner = depth + 1, outer
        if depth and self._is_write_target(inner, self._ancestor(depth + 1)):
            return depth
        return 0

    @staticmethod
    def _is_write_target(subscript: cst.Subscript, parent: Optional[cst.CSTNode]) -> bool:
        return (isinstance(parent, cst.AssignTarget) and parent.target is subscript) or (
            isinstance(parent, cst.AugAssign) and parent.target is subscript)

    def _code(self, node: cst.CSTNode) -> str:
        return self.context.code(node)


_NEWLINE = re.compile(r"\r\n|\r|\n")


def _unit(indent: str) -> str:
    """One more level of indentation: a tab where the block is indented with tabs."""
    return "\t" if "\t" in indent else "    "


def _runs(module: cst.Module, writes: Dict[int, _Write]) -> List[List[cst.BaseStatement]]:
    """Runs of sibling statements that one `with` block can hold: two or more adjacent writes, or a plain
    `for` loop (no `else`) whose body is only such writes and loops, with the writes next to it."""
    def wrappable(statement: cst.CSTNode) -> bool:
        if id(statement) in writes:
            return True
        return (isinstance(statement, cst.For) and statement.asynchronous is None and statement.orelse is None
                and isinstance(statement.body, cst.IndentedBlock) and all(map(wrappable, statement.body.body)))

    runs: List[List[cst.BaseStatement]] = []

    class Finder(cst.CSTVisitor):
        def visit_Module(self, node: cst.Module) -> None:
            self._scan(node.body)

        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            self._scan(node.body)

        def visit_For(self, node: cst.For) -> bool:
            return not any(node is statement for run in runs for statement in run)  # a wrapped loop's body is in its run already

        @staticmethod
        def _scan(body: Sequence[cst.BaseStatement]) -> None:
            run: List[cst.BaseStatement] = []
            for statement in list(body) + [None]:
                if statement is not None and wrappable(statement):
                    run.append(statement)
                    continue
                if len(run) > 1 or any(isinstance(s, cst.For) for s in run):
                    runs.append(run)
                run = []

    module.visit(Finder())
    return runs


def _lines_of(run: Sequence[cst.BaseStatement]) -> List[cst.SimpleStatementLine]:
    lines: List[cst.SimpleStatementLine] = []
    for statement in run:
        if isinstance(statement, cst.For):
            lines += _lines_of(statement.body.body)
        else:
            lines.append(statement)
    return lines


def _multiline_strings(run: Sequence[cst.BaseStatement], context) -> List[cst.CSTNode]:
    """String literals whose text spans lines: their inner lines are never re-indented."""
    found: List[cst.CSTNode] = []

    class Finder(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if "\n" in node.value or "\r" in node.value:
                found.append(node)

        def visit_FormattedString(self, node: cst.FormattedString) -> bool:
            if "\n" in context.code(node) or "\r" in context.code(node):
                found.append(node)
            return False

    for statement in run:
        statement.visit(Finder())
    return found
