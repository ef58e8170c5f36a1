"""The LSP methods the server answers, each handed to a `TensorlintServer` method."""
from __future__ import annotations

from typing import Any, Callable, List, Optional

from lsprotocol import types

from tensorlint.adapters.lsp.options import (CHANGE_DELAY, FIX_ALL_KIND, METADATA_GLOBS, METADATA_NAMES, clear_project_caches,
                                             prefixes)
from tensorlint.adapters.lsp.server import TensorlintServer


def build() -> TensorlintServer:
    server = TensorlintServer()
    register(server)
    return server


def _linted_again(delay: float) -> Callable[[TensorlintServer, Any], None]:
    """The handler of a notification that a document (a text or a notebook) was opened or changed: lint it again
    after `delay` seconds."""
    def handler(ls: TensorlintServer, params: Any) -> None:
        document = params.notebook_document if hasattr(params, "notebook_document") else params.text_document
        ls.schedule(document.uri, delay)
    return handler


def register(server: TensorlintServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: TensorlintServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        if isinstance(options, dict):
            ls.select = prefixes(options.get("select"))
            ls.ignore = prefixes(options.get("ignore"))

    @server.feature(types.INITIALIZED)
    def initialized(ls: TensorlintServer, params: types.InitializedParams) -> None:
        ls.linter.submit(ls.warm_up)
        # Ask the editor to report changes to project metadata, which it does not otherwise send.
        workspace = ls.client_capabilities.workspace
        watched = workspace.did_change_watched_files if workspace else None
        if watched is not None and watched.dynamic_registration:
            ls.client_register_capability(types.RegistrationParams(registrations=[types.Registration(
                id="tensorlint-project-metadata", method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                register_options=types.DidChangeWatchedFilesRegistrationOptions(
                    watchers=[types.FileSystemWatcher(glob_pattern=glob) for glob in METADATA_GLOBS]))]))

    for method, delay in ((types.TEXT_DOCUMENT_DID_OPEN, 0.0), (types.TEXT_DOCUMENT_DID_CHANGE, CHANGE_DELAY),
                          (types.NOTEBOOK_DOCUMENT_DID_OPEN, 0.0), (types.NOTEBOOK_DOCUMENT_DID_CHANGE, CHANGE_DELAY)):
        server.feature(method)(_linted_again(delay))

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: TensorlintServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        name = uri.rsplit("/", 1)[-1]
        if name in METADATA_NAMES or name.endswith(".txt"):
            ls.reload_project()
        else:
            # Editors that cannot watch files still see metadata edits take effect at the next save;
            # the whole text is checked, as `tensorlint check` would.
            clear_project_caches()
            ls.schedule(uri, whole=True)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: TensorlintServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri, [params.text_document.uri])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_did_save(ls: TensorlintServer, params: types.DidSaveNotebookDocumentParams) -> None:
        clear_project_caches()
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_did_close(ls: TensorlintServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.forget(params.notebook_document.uri, [cell.uri for cell in params.cell_text_documents])

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: TensorlintServer, params: types.DidChangeWatchedFilesParams) -> None:
        ls.reload_project()

    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL_KIND], resolve_provider=True))
    async def code_action(ls: TensorlintServer, params: types.CodeActionParams) -> List[types.CodeAction]:
        return await ls.code_actions(params)

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def code_action_resolve(ls: TensorlintServer, action: types.CodeAction) -> types.CodeAction:
        return await ls.resolve(action)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    async def hover(ls: TensorlintServer, params: types.HoverParams) -> Optional[types.Hover]:
        return await ls.hover(params)

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: TensorlintServer, *args: Any) -> None:
        ls.shutdown_requested = True
        for task in list(ls.pending.values()):
            task.cancel()
