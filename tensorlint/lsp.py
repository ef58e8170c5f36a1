"""`tensorlint lsp`: a language server over stdio (pygls), for editors.

It publishes tensorlint's diagnostics for open Python documents (on open, change and save) and
offers code actions:

* one quick fix per fixable diagnostic (the rule's fix; unsafe ones say "(unsafe)"),
* "Ignore TLxxx for this line (noqa)", which adds or extends a `# noqa:` comment,
* "Fix all safe tensorlint problems" (kind `source.fixAll.tensorlint`), what `tensorlint fix` would do.

Project settings (`[tool.tensorlint]` rule selection and the NumPy/torch range) are read for each
document's path, as `tensorlint check` reads them. Positions are converted from Python's characters to the encoding agreed
with the client (UTF-16 code units unless the client offers UTF-8 or UTF-32).

Optional `initializationOptions`: `{"select": ["TL1"], "ignore": ["TL404"]}` (code prefixes, applied on
top of `[tool.tensorlint]` as the command line's `--select`/`--ignore` are).

pygls is a dependency of tensorlint, imported only when the server starts; the linter never needs it.
"""
from __future__ import annotations

import asyncio
import bisect
import concurrent.futures
import difflib
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from . import __version__
from .api import check_source, fix_source
from .diagnostics import Diagnostic, Fix, physical_lines
from .add_noqa import noqa_edits
from .noqa import without_suppressed

MISSING_EXTRA = "tensorlint lsp needs pygls 2, a dependency of tensorlint missing here: pip install 'pygls>=2'"

SOURCE = "tensorlint"
FIX_ALL_KIND = "source.fixAll.tensorlint"
FIX_ALL_TITLE = "Fix all safe tensorlint problems"
CHANGE_DELAY = 0.15  # seconds of quiet typing before a changed document is linted again
PYTHON_SUFFIXES = (".py", ".pyi")
METADATA_NAMES = ("pyproject.toml", "setup.cfg", "setup.py")
# What settings_for reads: a change to one of these re-reads the project for every open document.
METADATA_GLOBS = ("**/pyproject.toml", "**/setup.cfg", "**/setup.py", "**/requirements*.txt", "**/requirements/*.txt")
_CODE_PREFIX = re.compile(r"^[A-Z]+[0-9]*$")
_RULE_DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


# ------------------------------------------------------------------ positions (no pygls needed)

def _units(text: str, encoding: str) -> int:
    """Length of `text` in the client's position units."""
    if encoding == "utf-32":
        return len(text)
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)  # UTF-16: two units above the BMP


class Lines:
    """A document's physical lines (split where Python and LSP both split: \\r\\n, \\r, \\n)."""

    def __init__(self, source: str, encoding: str = "utf-16") -> None:
        self.source = source
        self.encoding = encoding
        self.lines = physical_lines(source)
        starts, total = [0], 0
        for line in self.lines:
            total += len(line)
            starts.append(total)
        self.starts = starts  # starts[i]: offset of line i; starts[-1] == len(source)

    def position(self, offset: int) -> Tuple[int, int]:
        """Character offset → (line, character) in client units, both 0-based."""
        offset = max(0, min(offset, len(self.source)))
        line = bisect.bisect_right(self.starts, offset) - 1
        if line >= len(self.lines):  # the end of a text that ends with a newline (or of an empty text)
            if self.lines and not self.lines[-1].endswith(("\n", "\r")):
                line = len(self.lines) - 1
            else:
                return len(self.lines), 0
        return line, _units(self.source[self.starts[line]:offset], self.encoding)

    def offset(self, line: int, character: int) -> int:
        """(line, character) in client units → character offset, clamped to the line's text."""
        if line < 0:
            return 0
        if line >= len(self.lines):
            return len(self.source)
        text = self.lines[line].rstrip("\r\n")
        units = 0
        for index, char in enumerate(text):
            if units >= character:
                return self.starts[line] + index
            units += _units(char, self.encoding)
        return self.starts[line] + len(text)

    def line_end(self, line: int) -> int:
        """Offset of the end of 0-based `line`'s text, before its line ending."""
        return self.starts[line] + len(self.lines[line].rstrip("\r\n"))


# ------------------------------------------------------------------ edits (no pygls needed)

@dataclass(frozen=True)
class TextChange:
    start: int
    end: int
    text: str


def minimal_changes(old: str, new: str) -> List[TextChange]:
    """Non-overlapping replacements turning `old` into `new`: a line diff, trimmed to the changed characters."""
    old_lines, new_lines = physical_lines(old), physical_lines(new)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    changes = []
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end, text = starts[i1], starts[i2], "".join(new_lines[j1:j2])
        before = old[start:end]
        # Trim the common end first: `x.numpy()` → `x.detach().numpy()` inserts `.detach()`, not `detach().`.
        suffix = 0
        while suffix < min(len(before), len(text)) and before[-1 - suffix] == text[-1 - suffix]:
            suffix += 1
        prefix = 0
        while prefix < min(len(before), len(text)) - suffix and before[prefix] == text[prefix]:
            prefix += 1
        changes.append(TextChange(start + prefix, end - suffix, text[prefix:len(text) - suffix]))
    return changes


def noqa_change(source: str, diagnostic: Diagnostic) -> Optional[TextChange]:
    """Append `  # noqa: CODE` to the finding's line, or add CODE to the `# noqa: ...` comment already there
    (on the last line of a multi-line string or continued line: see `tensorlint.add_noqa`).

    None where flake8 would still not honour it (the line's first `# noqa` is inside a string), or
    where the text does not tokenize.
    """
    edits = noqa_edits(source, [(diagnostic.line, diagnostic.code)])
    if not edits:
        return None
    change = TextChange(edits[0].start, edits[0].end, edits[0].text)
    after = source[:change.start] + change.text + source[change.end:]
    return change if not without_suppressed(after, [diagnostic]) else None


def clear_project_caches() -> None:
    """Forget what was read from project metadata and `[tool.tensorlint]` (they may have changed)."""
    from . import project
    project.clear_cache()
    try:
        from . import config
    except ImportError:
        return
    config.clear_cache()


def fix_title(fix: Fix) -> str:
    return fix.title if fix.is_safe else f"{fix.title} (unsafe)"


def rule_doc_uri(code: str) -> Optional[str]:
    """A file:// link to docs/rules/CODE.md when running from a checkout that has it."""
    page = _RULE_DOCS / f"{code}.md"
    return page.as_uri() if page.is_file() else None


def _prefixes(value: Any) -> Optional[List[str]]:
    if isinstance(value, str):
        value = [part for part in re.split(r"[,\s]+", value) if part]
    if not isinstance(value, (list, tuple)):
        return None
    codes = [str(code).strip().upper() for code in value]
    return [code for code in codes if _CODE_PREFIX.match(code)] or None


def _kind_wanted(kind: str, only: Optional[Sequence[str]]) -> bool:
    return not only or any(kind == want or kind.startswith(want + ".") for want in only)


# ------------------------------------------------------------------ the server

@dataclass
class Analysis:
    """One lint of one text: diagnostics, or None when the text does not parse."""
    source: str
    diagnostics: Optional[List[Diagnostic]]
    warning: str = ""  # shown to the user once (a broken pyproject.toml)
    log: str = ""      # written to the client's log (an internal error)


def _build_server():
    from lsprotocol import types
    from pygls.lsp.server import LanguageServer
    from pygls.uris import to_fs_path

    class TensorlintServer(LanguageServer):
        def __init__(self) -> None:
            super().__init__("tensorlint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
            self.select: Optional[List[str]] = None
            self.ignore: Optional[List[str]] = None
            self.shutdown_requested = False
            self.analyses: Dict[str, Analysis] = {}
            self.pending: Dict[str, asyncio.Task] = {}
            self.reported: set = set()
            # One worker: lints run in order, off the event loop, so requests stay answerable.
            self.linter = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="tensorlint")

        def report_server_error(self, error: Exception, source: Any) -> None:
            # A log line, not a pop-up per keystroke.
            self.log(types.MessageType.Error, f"tensorlint: internal error: {error!r}")

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

        def path_of(self, uri: str) -> Optional[str]:
            return to_fs_path(uri) if uri.startswith("file:") else None

        def is_python(self, document) -> bool:
            path = self.path_of(document.uri) or document.uri
            return document.language_id == "python" or path.endswith(PYTHON_SUFFIXES)

        def lint(self, uri: str, source: str) -> Analysis:
            """Runs on the linter thread, so it only collects messages; the event loop sends them."""
            from libcst import ParserSyntaxError
            from .project import ProjectConfigError
            from .settings import DEFAULT
            path = self.path_of(uri)
            try:
                try:
                    return Analysis(source, self._check(source, path))
                except ProjectConfigError as error:  # also config.ConfigError: a bad [tool.tensorlint]
                    diagnostics = check_source(source, select=self.select, ignore=self.ignore, settings=DEFAULT)
                    return Analysis(source, diagnostics, warning=f"tensorlint: {error} (using default settings)")
            except ParserSyntaxError:
                return Analysis(source, None)  # mid-edit code: no findings until it parses again
            except Exception as error:  # noqa: BLE001 - a bug in a rule must not take the editor down
                return Analysis(source, None, log=f"tensorlint: cannot check {uri}: {error!r}")

        def _check(self, source: str, path: Optional[str]) -> List[Diagnostic]:
            select, ignore = self.rules_for(path)
            if select == []:
                return []
            return check_source(source, path=path, select=select, ignore=ignore)

        def rules_for(self, path: Optional[str]) -> Tuple[Optional[List[str]], Optional[List[str]]]:
            """(select, ignore) for a document: `[tool.tensorlint]` (select, ignore, extend-select,
            per-file-ignores, exclude) with initializationOptions on top, as the command line's
            options are; `([], None)` when the file is excluded or no rule is left."""
            try:
                from .config import load_config
            except ImportError:  # a tensorlint without `[tool.tensorlint]` rule selection
                return self.select, self.ignore
            config = load_config(path if path is not None else (self.workspace.root_path or os.getcwd()))
            if path is not None and config.is_excluded(path, explicit=True):
                return [], None
            return sorted(config.codes_for(path, cli_select=self.select, cli_ignore=self.ignore)), None

        async def analysis(self, uri: str, source: str) -> Analysis:
            cached = self.analyses.get(uri)
            if cached is not None and cached.source == source:
                return cached
            result = await asyncio.get_running_loop().run_in_executor(self.linter, self.lint, uri, source)
            if result.warning:
                self.warn_once(result.warning)
            if result.log:
                self.log(types.MessageType.Error, result.log)
            self.analyses[uri] = result
            return result

        def schedule(self, uri: str, delay: float = 0.0) -> None:
            previous = self.pending.pop(uri, None)
            if previous is not None:
                previous.cancel()
            self.pending[uri] = asyncio.get_running_loop().create_task(self.publish_later(uri, delay))

        async def publish_later(self, uri: str, delay: float) -> None:
            try:
                if delay:
                    await asyncio.sleep(delay)
                document = self.workspace.text_documents.get(uri)
                if document is None:
                    return
                if not self.is_python(document):
                    return
                source, version = document.source, document.version
                result = await self.analysis(uri, source)
                current = self.workspace.text_documents.get(uri)
                if current is None or current.version != version or current.source != source:
                    return  # changed meanwhile: the newer task publishes
                lines = Lines(source, self.encoding)
                diagnostics = [self.to_lsp(d, lines) for d in result.diagnostics or ()]
                self.text_document_publish_diagnostics(
                    types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics))
            except asyncio.CancelledError:
                pass
            finally:
                if self.pending.get(uri) is asyncio.current_task():
                    del self.pending[uri]

        def reload_project(self) -> None:
            """The project's NumPy/torch range may have changed: re-read it for every open document."""
            clear_project_caches()
            self.analyses.clear()
            self.reported.clear()
            for uri in list(self.workspace.text_documents):
                self.schedule(uri)

        def clear(self, uri: str) -> None:
            task = self.pending.pop(uri, None)
            if task is not None:
                task.cancel()
            self.analyses.pop(uri, None)
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))

        # -- conversions
        def lsp_range(self, lines: Lines, start: int, end: int) -> "types.Range":
            start_line, start_char = lines.position(start)
            end_line, end_char = lines.position(end)
            return types.Range(start=types.Position(line=start_line, character=start_char),
                               end=types.Position(line=end_line, character=end_char))

        def to_lsp(self, diagnostic: Diagnostic, lines: Lines) -> "types.Diagnostic":
            href = rule_doc_uri(diagnostic.code)
            return types.Diagnostic(
                range=self.lsp_range(lines, diagnostic.start_offset, diagnostic.end_offset),
                message=diagnostic.message,
                severity=types.DiagnosticSeverity.Warning,
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

        async def code_actions(self, params: "types.CodeActionParams") -> List["types.CodeAction"]:
            uri = params.text_document.uri
            document = self.workspace.get_text_document(uri)
            if not self.is_python(document):
                return []
            source = document.source
            result = await self.analysis(uri, source)
            if not result.diagnostics:
                return []
            lines = Lines(source, self.encoding)
            only = params.context.only
            start = lines.offset(params.range.start.line, params.range.start.character)
            end = lines.offset(params.range.end.line, params.range.end.character)
            actions: List[types.CodeAction] = []
            if _kind_wanted(types.CodeActionKind.QuickFix, only):
                here = [d for d in result.diagnostics if d.start_offset <= end and start <= d.end_offset]
                # Findings that share one fix (TL101 and TL102 on one `.numpy()`) share one action.
                by_fix: Dict[Fix, List[Diagnostic]] = {}
                for diagnostic in here:
                    if diagnostic.fix is not None:
                        by_fix.setdefault(diagnostic.fix, []).append(diagnostic)
                for fix, found in by_fix.items():
                    actions.append(types.CodeAction(
                        title=fix_title(fix), kind=types.CodeActionKind.QuickFix,
                        diagnostics=[self.to_lsp(d, lines) for d in found], is_preferred=fix.is_safe,
                        edit=self.workspace_edit(document, lines, (TextChange(e.start, e.end, e.text)
                                                                   for e in fix.edits))))
                seen = set()
                for diagnostic in here:
                    if (diagnostic.line, diagnostic.code) in seen:
                        continue
                    seen.add((diagnostic.line, diagnostic.code))
                    change = noqa_change(source, diagnostic)
                    if change is None:
                        continue
                    actions.append(types.CodeAction(
                        title=f"Ignore {diagnostic.code} for this line (noqa)", kind=types.CodeActionKind.QuickFix,
                        diagnostics=[self.to_lsp(diagnostic, lines)],
                        edit=self.workspace_edit(document, lines, [change])))
            if _kind_wanted(FIX_ALL_KIND, only) and any(d.fix is not None and d.fix.is_safe
                                                        for d in result.diagnostics):
                if only is None and self.can_resolve_edits:
                    # Asked for everything at the cursor (as on every cursor move): compute the edit only if chosen.
                    actions.append(types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND, data={"uri": uri}))
                else:
                    action = await self.fix_all_action(document)
                    if action is not None:
                        actions.append(action)
            return actions

        @property
        def can_resolve_edits(self) -> bool:
            code_action = self.client_capabilities.text_document and self.client_capabilities.text_document.code_action
            support = code_action and code_action.resolve_support
            return bool(support and "edit" in support.properties)

        async def fix_all_action(self, document) -> Optional["types.CodeAction"]:
            source = document.source
            loop = asyncio.get_running_loop()
            fixed, why_not = await loop.run_in_executor(self.linter, self.fix_all, document.uri, source)
            if why_not:
                self.log(types.MessageType.Warning, why_not)
            if fixed is None or fixed == source:
                return None
            lines = Lines(source, self.encoding)
            return types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL_KIND,
                                    edit=self.workspace_edit(document, lines, minimal_changes(source, fixed)))

        def fix_all(self, uri: str, source: str) -> Tuple[Optional[str], str]:
            """Runs on the linter thread: the fixed text, or None and why not."""
            path = self.path_of(uri)
            try:
                select, ignore = self.rules_for(path)
                if select == []:
                    return source, ""
                return fix_source(source, path=path, select=select, ignore=ignore).source, ""
            except Exception as error:  # noqa: BLE001 - a fix that cannot be made is simply not offered
                return None, f"tensorlint: cannot fix {uri}: {error}"

    server = TensorlintServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: TensorlintServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict):
            ls.select = _prefixes(options.get("select"))
            ls.ignore = _prefixes(options.get("ignore"))

    @server.feature(types.INITIALIZED)
    def initialized(ls: TensorlintServer, params: types.InitializedParams) -> None:
        # Ask the editor to report changes to project metadata, which it does not otherwise send.
        workspace = ls.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if watched is not None and watched.dynamic_registration:
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="tensorlint-project-metadata", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[types.FileSystemWatcher(glob_pattern=glob) for glob in METADATA_GLOBS]))]))

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: TensorlintServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: TensorlintServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, CHANGE_DELAY)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TensorlintServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        name = uri.rsplit("/", 1)[-1]
        if name in METADATA_NAMES or name.endswith(".txt"):
            ls.reload_project()
        else:
            # Editors that cannot watch files still see metadata edits take effect at the next save.
            clear_project_caches()
            ls.analyses.pop(uri, None)
            ls.schedule(uri)

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: TensorlintServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.reload_project()

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TensorlintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.clear(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=True))
    async def code_action(ls: TensorlintServer, params: types.CodeActionParams) -> List[types.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: TensorlintServer, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        if action.edit is None and action.kind == FIX_ALL_KIND and isinstance(data.get("uri"), str):
            resolved = await ls.fix_all_action(ls.workspace.get_text_document(data["uri"]))
            action.edit = resolved.edit if resolved is not None else types.WorkspaceEdit(changes={})
        return action

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: TensorlintServer, *args: Any) -> None:
        ls.shutdown_requested = True
        for task in list(ls.pending.values()):
            task.cancel()

    return server


def serve() -> int:
    """Run the language server on stdin/stdout until the client says exit. Returns the exit code."""
    try:
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401 - pygls 2.x
    except ImportError:
        print(MISSING_EXTRA, file=sys.stderr)
        return 2
    server = _build_server()
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # a stray print must not corrupt the protocol stream
    try:
        server.start_io(stdin, stdout)
    finally:
        sys.stdout = real_stdout
        server.linter.shutdown(wait=False, cancel_futures=True)
    # LSP: exit code 0 after a shutdown request, 1 when the client exits (or vanishes) without one.
    return 0 if server.shutdown_requested else 1


if __name__ == "__main__":
    sys.exit(serve())
