"""The pygls server: document state, diagnostics, code actions, hover. Imported only by `serve()`.

Each document's text is linted once (on the one linter thread, off the event loop) into a
`Snapshot`; diagnostics, code actions and hovers are answered from it. An edit re-lints only the
top-level statements it can have changed (`incremental`); opening and saving lint the whole text.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import os
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from tensorlint import __version__
from tensorlint.config.reader import load_config
from tensorlint.config.targets import ProjectConfigError, settings_for
from tensorlint.core.diagnostics import Diagnostic, Fix
from tensorlint.core.settings import DEFAULT
from tensorlint.run.imported import context_or_none
from tensorlint.adapters.lsp.documents import NotebookSnapshot, Snapshot, analyse, analyse_notebook
from tensorlint.adapters.lsp.links import rule_href, rule_text
from tensorlint.adapters.lsp.options import (FIX_ALL_KIND, FIX_ALL_TITLE, PYTHON_SUFFIXES, SOURCE, clear_project_caches,
                      fix_title, kind_wanted)
from tensorlint.adapters.lsp.text import Lines, TextChange, minimal_changes, noqa_change, noqa_change_within

SYNTAX_ERROR = "TL002"


class Rules(NamedTuple):
    select: Optional[List[str]]   # [] when the file is excluded or no rule is left
    ignore: Optional[List[str]]
    settings: Any                 # the project's NumPy/torch range
    warning: str                  # for the user, once (a broken pyproject.toml)
    syntax_errors: bool           # TL002 is reported (not ignored, not excluded)


class TensorlintServer(LanguageServer):
    def __init__(self) -> None:
        cells = types.NotebookDocumentFilterWithCells(notebook="*",
                                                      cells=[types.NotebookCellLanguage(language="python")])
        super().__init__("tensorlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=types.NotebookDocumentSyncOptions(notebook_selector=[cells]))
        self.select: Optional[List[str]] = None
        self.ignore: Optional[List[str]] = None
        self.shutdown_requested = False
        self.snapshots: Dict[str, Snapshot] = {}
        self.notebooks: Dict[str, Tuple[tuple, NotebookSnapshot]] = {}
        self.running: Dict[str, Tuple[Any, asyncio.Future]] = {}  # uri -> (what is linted, its future)
        self.pending: Dict[str, asyncio.Task] = {}
        self.reported: set = set()
        # One worker: lints run in order, off the event loop, so requests stay answerable.
        self.linter = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="tensorlint")

    def report_server_error(self, error: Exception, source: Any) -> None:
        self.log(types.MessageType.Error, f"tensorlint: internal error: {error!r}")  # a log line, not a pop-up

    # -- messages
    def log(self, kind: "types.MessageType", message: str) -> None:
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def warn_once(self, message: str) -> None:
        if message not in self.reported:
            self.reported.add(message)
            self.log(types.MessageType.Warning, message)
            self.window_show_message(types.ShowMessageParams(type=types.MessageType.Warning, message=message))

    # -- documents
    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or "utf-16")

    @staticmethod
    def path_of(uri: str) -> Optional[str]:
        return to_fs_path(uri) if uri.startswith("file:") else None

    def is_python(self, document) -> bool:
        path = self.path_of(document.uri) or document.uri
        return document.language_id == "python" or path.endswith(PYTHON_SUFFIXES)

    def notebook_of(self, cell_uri: str) -> Optional[str]:
        notebook = self.workspace.get_notebook_document(cell_uri=cell_uri)
        return notebook.uri if notebook is not None else None

    def checker(self, uri: str) -> "Rules":
        """What to check in a document, as `tensorlint check` would for its path: `[tool.tensorlint]`
        (select, ignore, extend-select, per-file-ignores, exclude) with initializationOptions on top,
        as the command line's options are. Runs on the linter thread."""
        from tensorlint.core.file_problems import reported_codes  # libcst: warm_up loads it after `initialize`
        path = self.path_of(uri)
        try:
            config = load_config(path if path is not None else (self.workspace.root_path or os.getcwd()))
            if path is not None and config.is_excluded(path, explicit=True):
                return Rules([], None, DEFAULT, "", False)
            select = sorted(config.codes_for(path, cli_select=self.select, cli_ignore=self.ignore))
            syntax_errors = SYNTAX_ERROR in reported_codes(config, path, frozenset(select), self.ignore)
            return Rules(select, None, settings_for(path) if path is not None else DEFAULT, "", syntax_errors)
        except ProjectConfigError as error:  # also config.ConfigError: a bad [tool.tensorlint]
            return Rules(self.select, self.ignore, DEFAULT, f"tensorlint: {error} (using default settings)", True)

    def lint(self, uri: str, source: str, previous: Optional[Snapshot], whole: bool) -> Tuple[Snapshot, str, str]:
        """On the linter thread: (snapshot, warning for the user, line for the log)."""
        from tensorlint.api import check_source  # libcst and the rules: loaded by warm_up
        try:
            rules = self.checker(uri)
            path = self.path_of(uri)

            def check(text, tree):
                if rules.select == []:
                    return []
                project = context_or_none(path, tree) if path is not None else None
                return check_source(text, path, rules.select, rules.ignore, settings=rules.settings, tree=tree,
                                    project=project)
            snapshot = analyse(source, previous, check, self.encoding, whole)
            snapshot.report_syntax_error = rules.syntax_errors
            return snapshot, rules.warning, ""
        except Exception as error:  # noqa: BLE001 - a bug in a rule must not take the editor down
            return (Snapshot(source, Lines(source, self.encoding), [], fixable=False), "",
                    f"tensorlint: cannot check {uri}: {error!r}")

    def lint_notebook(self, uri: str, cells, previous: Optional[NotebookSnapshot]) -> Tuple[NotebookSnapshot, str, str]:
        from tensorlint.adapters.notebook.lint import check_cells  # libcst and the rules: loaded by warm_up
        try:
            rules = self.checker(uri)
            path = self.path_of(uri)

            def check(sources):
                return [] if rules.select == [] else check_cells(sources, path, rules.select, rules.ignore,
                                                                 settings=rules.settings)
            snapshot = analyse_notebook(cells, previous, check, self.encoding)
            for cell in snapshot.cells.values():
                cell.report_syntax_error = rules.syntax_errors
            return snapshot, rules.warning, ""
        except Exception as error:  # noqa: BLE001
            return NotebookSnapshot(), "", f"tensorlint: cannot check {uri}: {error!r}"

    async def run_once(self, uri: str, key: Any, work: Callable[[], Tuple[Any, str, str]]) -> Any:
        """`work()` on the linter thread, shared by every caller that asks for the same `key` meanwhile."""
        running = self.running.get(uri)
        if running is not None and running[0] == key:
            return await asyncio.shield(running[1])
        future = asyncio.get_running_loop().run_in_executor(self.linter, work)
        self.running[uri] = (key, future)
        try:
            result, warning, log = await asyncio.shield(future)
        finally:
            if self.running.get(uri, (None, None))[1] is future:
                del self.running[uri]
        if warning:
            self.warn_once(warning)
        if log:
            self.log(types.MessageType.Error, log)
        return result, warning, log

    async def analysis(self, uri: str, source: str, whole: bool = False) -> Snapshot:
        cached = self.snapshots.get(uri)
        if cached is not None and cached.source == source and not whole:
            return cached
        result = await self.run_once(uri, (source, whole), lambda: self.lint(uri, source, cached, whole))
        snapshot = result[0]
        self.snapshots[uri] = snapshot
        return snapshot

    def notebook_cells(self, uri: str) -> Tuple[Tuple[str, Optional[str]], ...]:
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        cells = []
        for cell in notebook.cells if notebook is not None else ():
            document = self.workspace.text_documents.get(cell.document)
            python = cell.kind == types.NotebookCellKind.Code and document is not None \
                and document.language_id in ("python", None, "")
            cells.append((cell.document, document.source if python else None))
        return tuple(cells)

    async def notebook_analysis(self, uri: str) -> NotebookSnapshot:
        cells = self.notebook_cells(uri)
        cached = self.notebooks.get(uri)
        if cached is not None and cached[0] == cells:
            return cached[1]
        previous = cached[1] if cached is not None else None
        result = await self.run_once(uri, cells, lambda: self.lint_notebook(uri, cells, previous))
        self.notebooks[uri] = (cells, result[0])
        return result[0]

    async def snapshot_for(self, uri: str) -> Tuple[Optional[Snapshot], Any]:
        """The current snapshot of a document or notebook cell, and its text document."""
        document = self.workspace.get_text_document(uri)
        notebook = self.notebook_of(uri)
        if notebook is not None:
            return (await self.notebook_analysis(notebook)).cells.get(uri), document
        if not self.is_python(document):
            return None, document
        return await self.analysis(uri, document.source), document

    # -- publishing
    def schedule(self, uri: str, delay: float = 0.0, whole: bool = False) -> None:
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.get_running_loop().create_task(self.publish_later(uri, delay, whole))

    async def publish_later(self, uri: str, delay: float, whole: bool) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)
            if self.workspace.get_notebook_document(notebook_uri=uri) is not None:
                await self.publish_notebook(uri)
                return
            document = self.workspace.text_documents.get(uri)
            if document is None or not self.is_python(document):
                return
            source, version = document.source, document.version
            snapshot = await self.analysis(uri, source, whole)
            current = self.workspace.text_documents.get(uri)
            if current is None or current.version != version or current.source != source:
                return  # changed meanwhile: the newer task publishes
            self.publish(uri, version, snapshot)
        except asyncio.CancelledError:
            pass
        finally:
            if self.pending.get(uri) is asyncio.current_task():
                del self.pending[uri]

    async def publish_notebook(self, uri: str) -> None:
        before = self.notebooks.get(uri)
        snapshot = await self.notebook_analysis(uri)
        if self.notebook_cells(uri) != self.notebooks.get(uri, ((), None))[0]:
            return  # changed meanwhile
        for cell_uri, cell in snapshot.cells.items():
            document = self.workspace.text_documents.get(cell_uri)
            self.publish(cell_uri, document.version if document is not None else None, cell)
        for cell_uri in (before[1].cells if before is not None else ()):
            if cell_uri not in snapshot.cells:  # a deleted cell
                self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=cell_uri, diagnostics=[]))

    def publish(self, uri: str, version: Optional[int], snapshot: Snapshot) -> None:
        diagnostics = [self.to_lsp(d, snapshot.lines) for d in snapshot.shown]
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics))

    def reload_project(self) -> None:
        """The project's settings may have changed: check every open document again."""
        clear_project_caches()
        self.snapshots.clear()
        self.notebooks.clear()
        self.reported.clear()
        for uri in list(self.workspace.text_documents):
            if self.notebook_of(uri) is None:
                self.schedule(uri)
        for uri in list(self.workspace.notebook_documents):
            self.schedule(uri)

    def forget(self, uri: str, published: Iterable[str]) -> None:
        task = self.pending.pop(uri, None)
        if task is not None:
            task.cancel()
        self.snapshots.pop(uri, None)
        self.notebooks.pop(uri, None)
        for each in published:
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=each, diagnostics=[]))

    # -- conversions
    @staticmethod
    def lsp_range(lines: Lines, start: int, end: int) -> "types.Range":
        start_line, start_char = lines.position(start)
        end_line, end_char = lines.position(end)
        return types.Range(start=types.Position(line=start_line, character=start_char),
                           end=types.Position(line=end_line, character=end_char))

    def to_lsp(self, diagnostic: Diagnostic, lines: Lines) -> "types.Diagnostic":
        href = rule_href(diagnostic.code)
        error = diagnostic.code == SYNTAX_ERROR
        return types.Diagnostic(
            range=self.lsp_range(lines, diagnostic.start_offset, diagnostic.end_offset),
            message=diagnostic.message,
            severity=types.DiagnosticSeverity.Error if error else types.DiagnosticSeverity.Warning,
            code=diagnostic.code,
            code_description=types.CodeDescription(href=href) if href else None,
            source=SOURCE,
        )

    def workspace_edit(self, document, lines: Lines, changes: Iterable[TextChange]) -> "types.WorkspaceEdit":
        edits = [types.TextEdit(range=self.lsp_range(lines, c.start, c.end), new_text=c.text)
                 for c in sorted(set(changes), key=lambda c: (c.start, c.end))]
        capabilities = self.client_capabilities.workspace
        if capabilities and capabilities.workspace_edit and capabilities.workspace_edit.document_changes:
            identifier = types.OptionalVersionedTextDocumentIdentifier(uri=document.uri, version=document.version)
            return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=identifier,
                                                                                edits=edits)])
        return types.WorkspaceEdit(changes={document.uri: edits})

    # -- code actions
    @property
    def can_resolve_edits(self) -> bool:
        code_action = self.client_capabilities.text_document and self.client_capabilities.text_document.code_action
        support = code_action and code_action.resolve_support
        return bool(support and "edit" in support.properties)

    async def code_actions(self, params: "types.CodeActionParams") -> List["types.CodeAction"]:
        snapshot, document = await self.snapshot_for(params.text_document.uri)
        if snapshot is None or not snapshot.fixable or not snapshot.findings:
            return []
        lines, only = snapshot.lines, params.context.only
        actions: List[types.CodeAction] = []
        if kind_wanted(types.CodeActionKind.QuickFix, only):
            start = lines.offset(params.range.start.line, params.range.start.character)
            end = lines.offset(params.range.end.line, params.range.end.character)
            here = [d for d in snapshot.findings if d.start_offset <= end and start <= d.end_offset]
            actions += self.quick_fixes(document, snapshot, here)
        in_notebook = self.notebook_of(document.uri) is not None
        if kind_wanted(FIX_ALL_KIND, only) and not in_notebook \
                and any(d.fix is not None and d.fix.is_safe for d in snapshot.findings):
            if only is not None:  # asked for by kind (on save, the source-action menu): worth the wait
                action = await self.fix_all_action(document)
                if action is not None:
                    actions.append(action)
            elif self.can_resolve_edits:  # asked on every cursor move: the edit is made only if chosen
                actions.append(types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND,
                                                data={"uri": document.uri, "version": document.version}))
        return actions

    def quick_fixes(self, document, snapshot: Snapshot, here: List[Diagnostic]) -> List["types.CodeAction"]:
        lines = snapshot.lines
        actions = []
        by_fix: Dict[Fix, List[Diagnostic]] = {}  # TL101 and TL102 on one `.numpy()` share one action
        for diagnostic in here:
            if diagnostic.fix is not None:
                by_fix.setdefault(diagnostic.fix, []).append(diagnostic)
        for fix, found in by_fix.items():
            actions.append(types.CodeAction(
                title=fix_title(fix), kind=types.CodeActionKind.QuickFix,
                diagnostics=[self.to_lsp(d, lines) for d in found], is_preferred=fix.is_safe,
                edit=self.workspace_edit(document, lines, (TextChange(e.start, e.end, e.text) for e in fix.edits))))
        seen = set()
        for diagnostic in here:
            if (diagnostic.line, diagnostic.code) in seen:
                continue
            seen.add((diagnostic.line, diagnostic.code))
            change = self.noqa(snapshot, diagnostic)
            if change is not None:
                actions.append(types.CodeAction(
                    title=f"Ignore {diagnostic.code} for this line (noqa)", kind=types.CodeActionKind.QuickFix,
                    diagnostics=[self.to_lsp(diagnostic, lines)], edit=self.workspace_edit(document, lines, [change])))
        return actions

    @staticmethod
    def noqa(snapshot: Snapshot, diagnostic: Diagnostic) -> Optional[TextChange]:
        for group in snapshot.groups or ():
            if group.holds(diagnostic.line):
                return noqa_change_within(snapshot.source, snapshot.lines, diagnostic, group.first, group.last)
        return noqa_change(snapshot.source, diagnostic)

    async def fix_all_action(self, document) -> Optional["types.CodeAction"]:
        source = document.source
        fixed, why_not = await asyncio.get_running_loop().run_in_executor(
            self.linter, self.fix_all, document.uri, source)
        if why_not:
            self.log(types.MessageType.Warning, why_not)
        if fixed is None or fixed == source:
            return None
        lines = Lines(source, self.encoding)
        return types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND,
                                edit=self.workspace_edit(document, lines, minimal_changes(source, fixed)))

    def fix_all(self, uri: str, source: str) -> Tuple[Optional[str], str]:
        """On the linter thread: the fixed text, or None and why not."""
        from tensorlint.api import fix_source  # libcst and the rules: loaded by warm_up
        try:
            rules = self.checker(uri)
            if rules.select == []:
                return source, ""
            return fix_source(source, path=self.path_of(uri), select=rules.select, ignore=rules.ignore,
                              settings=rules.settings).source, ""
        except Exception as error:  # noqa: BLE001 - a fix that cannot be made is simply not offered
            return None, f"tensorlint: cannot fix {uri}: {error}"

    async def resolve(self, action: "types.CodeAction") -> "types.CodeAction":
        data = action.data if isinstance(action.data, dict) else {}
        if action.edit is None and action.kind == FIX_ALL_KIND and isinstance(data.get("uri"), str):
            resolved = await self.fix_all_action(self.workspace.get_text_document(data["uri"]))
            action.edit = resolved.edit if resolved is not None else types.WorkspaceEdit(changes={})
        return action

    # -- hover
    async def hover(self, params: "types.HoverParams") -> Optional["types.Hover"]:
        snapshot, _ = await self.snapshot_for(params.text_document.uri)
        if snapshot is None:
            return None
        offset = snapshot.lines.offset(params.position.line, params.position.character)
        texts = []
        for diagnostic in snapshot.shown:
            if diagnostic.start_offset <= offset <= diagnostic.end_offset and diagnostic.code not in \
                    [t[0] for t in texts]:
                text = rule_text(diagnostic.code)
                if text:
                    texts.append((diagnostic.code, text))
        if not texts:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown,
                                                        value="\n\n---\n\n".join(t for _, t in texts)))

    def warm_up(self) -> None:
        """On the linter thread, once the editor has its answer to `initialize`: pay for the imports
        of the linter (libcst, the rules) before the first document needs them."""
        from tensorlint.api import check_source
        from tensorlint.adapters.notebook.lint import check_cells  # noqa: F401
        from tensorlint.core.file_problems import parse_python  # noqa: F401
        check_source("import torch\nx = torch.ones(1)\n")
