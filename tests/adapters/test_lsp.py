"""`tensorlint lsp`: real LSP conversations with `python -m tensorlint lsp` over stdio.

The tests speak JSON-RPC with Content-Length framing, as an editor does; every read is bounded,
so a server that hangs fails the test instead of freezing the run.
"""
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tensorlint import check_source, fix_source
from tensorlint.adapters.lsp import MISSING_EXTRA
from tensorlint.adapters.lsp.text import Lines, minimal_changes, noqa_change
from tensorlint.adapters.lsp.links import documentation_url

TIMEOUT = 30.0  # seconds for any one message; a healthy server answers in well under one
REPO = Path(__file__).resolve().parents[2]

# TL101 + TL102 on the `.numpy()` of line 4 (0-based), after two emoji: two UTF-16 units each.
HAZARD = (
    "import torch\n"
    "\n"
    "model = torch.nn.Linear(2, 2).cuda()\n"
    "out = model(torch.ones(2))\n"
    'label = "😀🐍"; arr = out.numpy()\n'
)
HAZARD_LINE = 4
HAZARD_COL = len('label = "😀🐍"; arr = ') + 2  # characters + one extra UTF-16 unit per emoji
HAZARD_END = HAZARD_COL + len("out.numpy()")
DETACH_AT = HAZARD_COL + len("out")
FIXED = HAZARD.replace("out.numpy()", "out.detach().cpu().numpy()")

# TL301 (unsafe fix while NumPy 1.x is supported) and TL302 (fixable only on NumPy >= 2).
NUMPY_NAMES = "import numpy as np\nx = np.trapz([1, 2])\ny = np.bool(1)\n"


# ------------------------------------------------------------------ a minimal LSP client

class Client:
    def __init__(self, cwd, init_options=None, capabilities=None, env=None):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tensorlint", "lsp"], cwd=str(cwd), env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.messages = queue.Queue()
        self.notifications = []  # everything the server sent that was not a response
        self.unread = []  # notifications that no wait_for has consumed yet
        self.stderr = []
        self.next_id = 0
        self.versions = {}
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=lambda: self.stderr.extend(self.process.stderr), daemon=True).start()
        self.initialize_result = self.request("initialize", {
            "processId": None, "rootUri": Path(cwd).as_uri(),
            "capabilities": capabilities if capabilities is not None else {
                "workspace": {"workspaceEdit": {"documentChanges": True}},
                "textDocument": {"codeAction": {"codeActionLiteralSupport": {"codeActionKind": {
                    "valueSet": ["quickfix", "source", "source.fixAll"]}}},
                    "publishDiagnostics": {"versionSupport": True}}},
            "initializationOptions": init_options,
        })
        self.notify("initialized", {})

    # -- framing
    def _read_stdout(self):
        stream = self.process.stdout
        while True:
            headers = {}
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                line = line.decode("ascii").strip()
                if not line:
                    break
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            body = stream.read(int(headers["content-length"]))
            self.messages.put(json.loads(body.decode("utf-8")))

    def send(self, message):
        body = json.dumps(dict(message, jsonrpc="2.0")).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def receive(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no answer from the server in time; stderr: {self.stderr_text()}")
        try:
            message = self.messages.get(timeout=remaining)
        except queue.Empty:
            raise AssertionError(f"no answer from the server in time; stderr: {self.stderr_text()}") from None
        if message is None:
            raise AssertionError(f"the server closed its output; stderr: {self.stderr_text()}")
        if "method" in message and "id" in message:  # a request from the server: accept it
            self.send({"id": message["id"], "result": None})
        if "method" in message:
            self.notifications.append(message)
        return message

    def stderr_text(self):
        return b"".join(self.stderr).decode("utf-8", "replace")

    # -- JSON-RPC
    def notify(self, method, params):
        self.send({"method": method, "params": params})

    def request(self, method, params, timeout=TIMEOUT):
        self.next_id += 1
        request_id = self.next_id
        self.send({"id": request_id, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if message.get("id") == request_id and "method" not in message:
                assert "error" not in message, message
                return message["result"]
            if "method" in message:
                self.unread.append(message)

    def wait_for(self, method, predicate=lambda params: True, timeout=TIMEOUT):
        """The first notification `method` whose params satisfy `predicate` (earlier ones included)."""
        for index, message in enumerate(self.unread):
            if message.get("method") == method and predicate(message["params"]):
                del self.unread[:index + 1]
                return message["params"]
        self.unread.clear()
        deadline = time.monotonic() + timeout
        while True:
            message = self.receive(deadline)
            if message.get("method") == method and predicate(message["params"]):
                return message["params"]

    # -- documents
    def open(self, path, text):
        uri = Path(path).as_uri()
        self.versions[uri] = 1
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": 1, "text": text}})
        return uri

    def change(self, uri, text):
        self.versions[uri] += 1
        self.notify("textDocument/didChange", {
            "textDocument": {"uri": uri, "version": self.versions[uri]}, "contentChanges": [{"text": text}]})

    def diagnostics(self, uri):
        """The diagnostics published for the document's current version."""
        version = self.versions[uri]
        params = self.wait_for("textDocument/publishDiagnostics",
                               lambda p: p["uri"] == uri and p.get("version") == version)
        return params["diagnostics"]

    def code_actions(self, uri, start, end, diagnostics=(), only=None):
        context = {"diagnostics": list(diagnostics)}
        if only is not None:
            context["only"] = only
        return self.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": {"start": position(*start), "end": position(*end)},
            "context": context})

    def close(self):
        """shutdown → exit; the exit code."""
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        return self.process.wait(timeout=TIMEOUT)

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                stream.close()
            except OSError:
                pass


def expected_href(code):
    """The installed metadata's Documentation URL, else (an install made before it had one) the checkout's page."""
    from importlib import metadata
    base = documentation_url(metadata.metadata("tensorlint").get_all("Project-URL") or ())
    return f"{base}/rules/{code}.md" if base else (REPO / "docs" / "rules" / f"{code}.md").as_uri()


def position(line, character):
    return {"line": line, "character": character}


def lsp_range(start, end):
    return {"start": position(*start), "end": position(*end)}


def edits_of(action, uri):
    """The TextEdits of a code action's WorkspaceEdit for `uri` (documentChanges or changes)."""
    edit = action["edit"]
    if "documentChanges" in edit:
        (change,) = edit["documentChanges"]
        assert change["textDocument"]["uri"] == uri
        return change["edits"]
    return edit["changes"][uri]


def apply(text, edits, encoding="utf-16"):
    """Apply LSP TextEdits as an editor would (from the end, so earlier positions stay valid)."""
    lines = Lines(text, encoding)
    spans = sorted(((lines.offset(e["range"]["start"]["line"], e["range"]["start"]["character"]),
                     lines.offset(e["range"]["end"]["line"], e["range"]["end"]["character"]), e["newText"])
                    for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def by_title(actions):
    titles = [action["title"] for action in actions]
    assert len(titles) == len(set(titles)), titles
    return {action["title"]: action for action in actions}


@pytest.fixture
def client(tmp_path):
    pytest.importorskip("pygls")
    started = []

    def start(**kwargs):
        started.append(Client(tmp_path, **kwargs))
        return started[-1]

    yield start
    for each in started:
        each.kill()


# ------------------------------------------------------------------ the conversation

def test_diagnostics_quick_fix_and_clean_exit(client, tmp_path):
    lsp = client()
    capabilities = lsp.initialize_result["capabilities"]
    assert capabilities["textDocumentSync"]["change"] == 2  # incremental (a whole-text change is fine too)
    assert capabilities["textDocumentSync"]["openClose"] is True
    assert capabilities["codeActionProvider"]["codeActionKinds"] == ["quickfix", "source.fixAll.tensorlint"]
    assert capabilities.get("positionEncoding", "utf-16") == "utf-16"
    assert lsp.initialize_result["serverInfo"]["name"] == "tensorlint"

    uri = lsp.open(tmp_path / "train.py", HAZARD)
    diagnostics = lsp.diagnostics(uri)
    expected_range = lsp_range((HAZARD_LINE, HAZARD_COL), (HAZARD_LINE, HAZARD_END))
    messages = {d.code: d.message for d in check_source(HAZARD)}
    assert [(d["code"], d["range"], d["severity"], d["source"], d["message"]) for d in diagnostics] == [
        ("TL101", expected_range, 2, "tensorlint", messages["TL101"]),
        ("TL102", expected_range, 2, "tensorlint", messages["TL102"]),
    ]
    for diagnostic in diagnostics:
        assert diagnostic["codeDescription"]["href"] == expected_href(diagnostic["code"])

    # The editor asks for actions at the cursor, passing the diagnostics there. This client cannot
    # resolve an action's edit later, so the whole-file fix is offered only when asked for by kind.
    actions = by_title(lsp.code_actions(uri, (HAZARD_LINE, HAZARD_COL + 2), (HAZARD_LINE, HAZARD_COL + 2),
                                        diagnostics))
    assert set(actions) == {"Use `.detach().cpu().numpy()`", "Ignore TL101 for this line (noqa)",
                            "Ignore TL102 for this line (noqa)"}
    quick_fix = actions["Use `.detach().cpu().numpy()`"]
    assert quick_fix["kind"] == "quickfix" and quick_fix["isPreferred"] is True
    assert [d["code"] for d in quick_fix["diagnostics"]] == ["TL101", "TL102"]  # one shared fix, one action
    assert quick_fix["edit"]["documentChanges"][0]["textDocument"] == {"uri": uri, "version": 1}
    edits = edits_of(quick_fix, uri)
    assert edits == [{"range": lsp_range((HAZARD_LINE, DETACH_AT), (HAZARD_LINE, DETACH_AT)),
                      "newText": ".detach().cpu()"}]

    fixed = apply(HAZARD, edits)
    assert fixed == FIXED
    lsp.change(uri, fixed)
    assert lsp.diagnostics(uri) == []
    assert lsp.code_actions(uri, (HAZARD_LINE, 0), (HAZARD_LINE, 0)) == []

    assert lsp.close() == 0
    assert not [m for m in lsp.notifications if m.get("method") == "window/showMessage"]


def test_fix_all_safe_action(client, tmp_path):
    lsp = client()
    text = ("import numpy as np\nimport torch\n\n"
            "def evaluate(model: torch.nn.Module, batch):\n"  # the annotation proves a torch model: safe fixes
            "    logits = model(batch)\n"
            "    probs = logits.numpy()  # 🚀 first\n"
            "    return np.asarray(model(batch)), probs\n"
            "\n"
            "def helper(x):\n"
            "    return np.bool(x)\n")
    uri = lsp.open(tmp_path / "evaluate.py", text)
    diagnostics = lsp.diagnostics(uri)
    assert {d["range"]["start"]["line"] for d in diagnostics} == {5, 6, 9}
    # As VS Code asks on save with "source.fixAll": only that kind, for the whole document.
    actions = lsp.code_actions(uri, (0, 0), (0, 0), only=["source.fixAll"])
    assert [(a["title"], a["kind"]) for a in actions] == [("Fix all safe tensorlint problems",
                                                           "source.fixAll.tensorlint")]
    result = fix_source(text)
    assert [d.code for d in result.remaining] == ["TL301"]  # its fix is unsafe: left alone
    after = apply(text, edits_of(actions[0], uri))
    assert after == result.source and after != text
    # Minimal edits, not a whole-document replacement.
    assert all(e["range"]["start"]["line"] in (5, 6) for e in edits_of(actions[0], uri))

    lsp.change(uri, after)
    remaining = lsp.diagnostics(uri)
    assert {d["range"]["start"]["line"] for d in remaining} == {9}
    # Nothing safe left to fix: no fix-all; the unsafe fix says so and is not preferred.
    assert lsp.code_actions(uri, (0, 0), (0, 0), only=["source.fixAll"]) == []
    actions = by_title(lsp.code_actions(uri, (9, 11), (9, 11)))
    unsafe = actions["Replace with `np.bool_` (unsafe)"]
    assert unsafe["isPreferred"] is False
    assert "Fix all safe tensorlint problems" not in actions
    assert lsp.close() == 0


def test_fix_all_edit_is_resolved_lazily_when_the_client_can(client, tmp_path):
    # Editors ask for code actions on every cursor move: the whole-file fix is computed only when chosen.
    lsp = client(capabilities={"textDocument": {"codeAction": {"resolveSupport": {"properties": ["edit"]}}}})
    assert lsp.initialize_result["capabilities"]["codeActionProvider"]["resolveProvider"] is True
    uri = lsp.open(tmp_path / "train.py", HAZARD)
    lsp.diagnostics(uri)
    actions = by_title(lsp.code_actions(uri, (0, 0), (0, 0)))
    lazy = actions["Fix all safe tensorlint problems"]
    assert "edit" not in lazy
    resolved = lsp.request("codeAction/resolve", lazy)
    assert apply(HAZARD, edits_of(resolved, uri)) == FIXED
    # Asked for by kind (as on save), the edit comes at once.
    (eager,) = lsp.code_actions(uri, (0, 0), (0, 0), only=["source.fixAll.tensorlint"])
    assert apply(HAZARD, edits_of(eager, uri)) == FIXED
    assert lsp.close() == 0


def test_noqa_action_appends_then_extends(client, tmp_path):
    lsp = client()
    uri = lsp.open(tmp_path / "train.py", HAZARD)
    lsp.diagnostics(uri)
    actions = by_title(lsp.code_actions(uri, (HAZARD_LINE, HAZARD_COL), (HAZARD_LINE, HAZARD_END)))
    noqa = actions["Ignore TL102 for this line (noqa)"]
    assert noqa["kind"] == "quickfix" and [d["code"] for d in noqa["diagnostics"]] == ["TL102"]
    end = len('label = "😀🐍"; arr = out.numpy()') + 2
    assert edits_of(noqa, uri) == [{"range": lsp_range((HAZARD_LINE, end), (HAZARD_LINE, end)),
                                    "newText": "  # noqa: TL102"}]
    text = apply(HAZARD, edits_of(noqa, uri))
    assert text.endswith("out.numpy()  # noqa: TL102\n")
    lsp.change(uri, text)
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL101"]

    actions = by_title(lsp.code_actions(uri, (HAZARD_LINE, HAZARD_COL), (HAZARD_LINE, HAZARD_COL)))
    assert "Ignore TL102 for this line (noqa)" not in actions
    text = apply(text, edits_of(actions["Ignore TL101 for this line (noqa)"], uri))
    assert text.endswith("out.numpy()  # noqa: TL102, TL101\n")
    lsp.change(uri, text)
    assert lsp.diagnostics(uri) == []
    assert lsp.close() == 0


def test_syntax_error_is_shown_beside_the_last_good_findings(client, tmp_path):
    lsp = client()
    uri = lsp.open(tmp_path / "train.py", "# header\n" + HAZARD)
    good = lsp.diagnostics(uri)
    assert [d["code"] for d in good] == ["TL101", "TL102"]
    # Typing a line above the finding: the findings stay, moved down one line, beside the error.
    broken = "# header\ndef oops(:\n" + HAZARD
    lsp.change(uri, broken)
    shown = lsp.diagnostics(uri)
    assert [d["code"] for d in shown] == ["TL101", "TL102", "TL002"]
    for before, after in zip(good, shown):
        assert after["range"]["start"] == position(before["range"]["start"]["line"] + 1,
                                                   before["range"]["start"]["character"])
    error = shown[2]
    assert error["severity"] == 1 and error["message"].startswith("cannot parse")
    assert error["range"]["start"]["line"] == 1
    # Their fixes were made for another text: no actions until it parses again.
    assert lsp.code_actions(uri, (HAZARD_LINE + 2, HAZARD_COL), (HAZARD_LINE + 2, HAZARD_COL)) == []
    # Still broken, typing elsewhere: the last good findings are still the ones shown.
    lsp.change(uri, broken + "# more\n")
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL101", "TL102", "TL002"]
    lsp.change(uri, HAZARD)  # and back: exact findings again, no syntax error
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL101", "TL102"]
    # Saving re-lints too; closing clears.
    lsp.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert len(lsp.diagnostics(uri)) == 2
    lsp.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    cleared = lsp.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == uri and "version" not in p)
    assert cleared["diagnostics"] == []
    assert lsp.close() == 0
    popups = [m for m in lsp.notifications if m.get("method") == "window/showMessage"]
    assert popups == []
    assert "Traceback" not in lsp.stderr_text()


def test_syntax_errors_follow_ignore_and_noqa_as_check_does(client, tmp_path):
    (tmp_path / "quiet").mkdir()
    (tmp_path / "quiet" / "pyproject.toml").write_text('[tool.tensorlint]\nignore = ["TL002"]\n')
    lsp = client()
    ignored = lsp.open(tmp_path / "quiet" / "a.py", HAZARD)
    lsp.diagnostics(ignored)
    lsp.change(ignored, HAZARD + "def oops(:\n")
    assert [d["code"] for d in lsp.diagnostics(ignored)] == ["TL101", "TL102"]
    silenced = lsp.open(tmp_path / "b.py", HAZARD)
    lsp.diagnostics(silenced)
    lsp.change(silenced, HAZARD + "def oops(:  # noqa: TL002\n")
    assert [d["code"] for d in lsp.diagnostics(silenced)] == ["TL101", "TL102"]
    lsp.change(silenced, HAZARD + "def oops(:\n")
    assert [d["code"] for d in lsp.diagnostics(silenced)] == ["TL101", "TL102", "TL002"]
    assert lsp.close() == 0


def test_an_edit_inside_the_broken_lines_drops_only_their_findings(client, tmp_path):
    lsp = client()
    uri = lsp.open(tmp_path / "train.py", HAZARD)
    lsp.diagnostics(uri)
    broken = HAZARD.replace("arr = out.numpy()", "arr = out.numpy(")  # the finding's own line
    lsp.change(uri, broken)
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL002"]
    assert lsp.close() == 0


def test_incremental_changes_are_applied_before_linting(client, tmp_path):
    """Editors send the edited range only (the server asks for incremental sync)."""
    lsp = client()
    uri = lsp.open(tmp_path / "train.py", HAZARD)
    assert len(lsp.diagnostics(uri)) == 2
    lsp.versions[uri] += 1
    lsp.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": lsp.versions[uri]},
                                          "contentChanges": [{"range": lsp_range((HAZARD_LINE, DETACH_AT),
                                                                                 (HAZARD_LINE, DETACH_AT)),
                                                              "text": ".detach().cpu()"}]})
    assert lsp.diagnostics(uri) == []
    assert lsp.close() == 0


def test_rapid_changes_end_with_the_latest_version(client, tmp_path):
    lsp = client()
    uri = lsp.open(tmp_path / "train.py", FIXED)
    assert lsp.diagnostics(uri) == []
    for _ in range(5):
        lsp.change(uri, HAZARD + "# typing\n")
    lsp.change(uri, HAZARD)
    assert len(lsp.diagnostics(uri)) == 2  # version 7
    lsp.code_actions(uri, (0, 0), (0, 0))  # a round trip: anything still queued has arrived
    published = [m["params"].get("version") for m in lsp.notifications
                 if m.get("method") == "textDocument/publishDiagnostics"]
    assert published[0] == 1 and published[-1] == 7, published
    assert len(published) < 7, published  # quick edits are linted once they settle, not each
    assert lsp.close() == 0


def test_untitled_documents_are_checked_with_default_settings(client, tmp_path):
    lsp = client()
    uri = "untitled:Untitled-1"
    lsp.versions[uri] = 3
    lsp.notify("textDocument/didOpen", {"textDocument": {
        "uri": uri, "languageId": "python", "version": 3, "text": HAZARD}})
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL101", "TL102"]
    # Other languages are left alone.
    other = (tmp_path / "notes.md").as_uri()
    lsp.notify("textDocument/didOpen", {"textDocument": {
        "uri": other, "languageId": "markdown", "version": 1, "text": HAZARD}})
    assert lsp.code_actions(other, (HAZARD_LINE, HAZARD_COL), (HAZARD_LINE, HAZARD_COL)) == []
    assert lsp.close() == 0
    assert not [m for m in lsp.notifications if m.get("method") == "textDocument/publishDiagnostics"
                and m["params"]["uri"] == other]


def test_project_settings_follow_the_document_path(client, tmp_path):
    project = tmp_path / "numpy2"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "2.0"\n')
    (tmp_path / "legacy").mkdir()
    lsp = client()
    legacy = lsp.open(tmp_path / "legacy" / "names.py", NUMPY_NAMES)
    modern = lsp.open(project / "names.py", NUMPY_NAMES)
    assert [d["code"] for d in lsp.diagnostics(legacy)] == ["TL302", "TL301"]
    assert [d["code"] for d in lsp.diagnostics(modern)] == ["TL302"]  # np.bool is back in NumPy 2

    # NumPy 1.x still supported: np.trapz has no fix, np.bool's is unsafe.
    actions = by_title(lsp.code_actions(legacy, (1, 0), (2, 20)))
    assert set(actions) == {"Replace with `np.bool_` (unsafe)", "Ignore TL301 for this line (noqa)",
                            "Ignore TL302 for this line (noqa)"}
    # NumPy >= 2: np.trapz → np.trapezoid is safe.
    actions = by_title(lsp.code_actions(modern, (1, 4), (1, 4)))
    assert actions["Replace with `np.trapezoid`"]["isPreferred"] is True
    (fix_all,) = lsp.code_actions(modern, (1, 4), (1, 4), only=["source.fixAll"])
    after = apply(NUMPY_NAMES, edits_of(fix_all, modern))
    assert after == "import numpy as np\nx = np.trapezoid([1, 2])\ny = np.bool(1)\n"

    # Editing and saving pyproject.toml re-reads the project for open documents.
    (project / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "1.24"\n')
    lsp.notify("textDocument/didSave", {"textDocument": {"uri": (project / "pyproject.toml").as_uri()}})
    assert [d["code"] for d in lsp.diagnostics(modern)] == ["TL302", "TL301"]

    # A broken pyproject.toml: one warning pop-up naming the file, default settings meanwhile.
    (project / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "two"\n')
    lsp.notify("textDocument/didSave", {"textDocument": {"uri": (project / "pyproject.toml").as_uri()}})
    assert [d["code"] for d in lsp.diagnostics(modern)] == ["TL302", "TL301"]
    lsp.change(modern, NUMPY_NAMES + "\n")
    lsp.diagnostics(modern)
    assert lsp.close() == 0
    popups = [m["params"]["message"] for m in lsp.notifications if m.get("method") == "window/showMessage"]
    assert len(popups) == 1 and "pyproject.toml" in popups[0] and "target-numpy" in popups[0], popups


def test_metadata_changes_reach_open_documents(client, tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "2"\n')
    lsp = client(capabilities={"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}})
    uri = lsp.open(tmp_path / "names.py", NUMPY_NAMES)
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL302"]
    # The server asked the editor to watch what the project's settings are read from.
    (registration,) = [m for m in lsp.notifications if m.get("method") == "client/registerCapability"]
    (watch,) = registration["params"]["registrations"]
    assert watch["method"] == "workspace/didChangeWatchedFiles"
    globs = [w["globPattern"] for w in watch["registerOptions"]["watchers"]]
    assert "**/pyproject.toml" in globs and "**/requirements*.txt" in globs

    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "1.26"\n')
    lsp.notify("workspace/didChangeWatchedFiles", {"changes": [
        {"uri": (tmp_path / "pyproject.toml").as_uri(), "type": 2}]})
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL302", "TL301"]

    # An editor that reports no file changes: the next save of the Python file picks it up.
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\ntarget-numpy = "2"\n')
    lsp.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL302"]
    assert lsp.close() == 0


def test_tool_tensorlint_rule_selection_applies(client, tmp_path):
    pytest.importorskip("tensorlint.config.reader")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.tensorlint]\nignore = ["TL102"]\nexclude = ["generated/"]\n'
        'per-file-ignores = {"scripts/*.py" = ["TL1"]}\n')
    for folder in ("generated", "scripts"):
        (tmp_path / folder).mkdir()
    lsp = client()
    plain = lsp.open(tmp_path / "train.py", HAZARD)
    excluded = lsp.open(tmp_path / "generated" / "train.py", HAZARD)
    script = lsp.open(tmp_path / "scripts" / "train.py", HAZARD)
    assert [d["code"] for d in lsp.diagnostics(plain)] == ["TL101"]
    assert lsp.diagnostics(excluded) == []
    assert lsp.diagnostics(script) == []
    assert lsp.code_actions(excluded, (HAZARD_LINE, HAZARD_COL), (HAZARD_LINE, HAZARD_COL)) == []
    # A bad [tool.tensorlint]: one warning naming the key, default rules meanwhile.
    (tmp_path / "pyproject.toml").write_text('[tool.tensorlint]\nslect = ["TL1"]\n')
    lsp.notify("workspace/didChangeWatchedFiles", {"changes": [
        {"uri": (tmp_path / "pyproject.toml").as_uri(), "type": 2}]})
    assert [d["code"] for d in lsp.diagnostics(plain)] == ["TL101", "TL102"]
    assert lsp.close() == 0
    popups = [m["params"]["message"] for m in lsp.notifications if m.get("method") == "window/showMessage"]
    assert len(popups) == 1 and "slect" in popups[0], popups


def test_utf8_and_utf32_positions_when_the_client_asks(client, tmp_path):
    for encoding, column in (("utf-8", len('label = "'.encode()) + 8 + len('"; arr = ')),
                             ("utf-32", len('label = "😀🐍"; arr = '))):
        lsp = client(capabilities={"general": {"positionEncodings": [encoding, "utf-16"]}})
        assert lsp.initialize_result["capabilities"]["positionEncoding"] == encoding
        uri = lsp.open(tmp_path / "train.py", HAZARD)
        (first, _) = lsp.diagnostics(uri)
        assert first["range"] == lsp_range((HAZARD_LINE, column), (HAZARD_LINE, column + len("out.numpy()")))
        # No documentChanges support: plain `changes`.
        (action,) = [a for a in lsp.code_actions(uri, (HAZARD_LINE, column), (HAZARD_LINE, column))
                     if a["title"] == "Use `.detach().cpu().numpy()`"]
        assert "documentChanges" not in action["edit"]
        assert apply(HAZARD, edits_of(action, uri), encoding) == FIXED
        assert lsp.close() == 0


def test_initialization_options_select_and_ignore(client, tmp_path):
    lsp = client(init_options={"ignore": ["TL102"]})
    uri = lsp.open(tmp_path / "train.py", HAZARD)
    assert [d["code"] for d in lsp.diagnostics(uri)] == ["TL101"]
    assert lsp.close() == 0


def test_rule_links_come_from_the_package_metadata(client, tmp_path):
    """A normal install has no docs/ beside the package: the link is built from `Project-URL`."""
    site = tmp_path / "site"
    info = site / "tensorlint-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorlint\nVersion: 0.1.0\n"
                                   "Project-URL: Homepage, https://example.org/tl\n"
                                   "Project-URL: Documentation, https://example.org/tl/docs/\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))
    lsp = client(env=env)
    uri = lsp.open(tmp_path / "train.py", HAZARD)
    hrefs = [d["codeDescription"]["href"] for d in lsp.diagnostics(uri)]
    assert hrefs == ["https://example.org/tl/docs/rules/TL101.md", "https://example.org/tl/docs/rules/TL102.md"]
    assert lsp.close() == 0


def test_hover_over_a_finding_shows_the_rule(client, tmp_path):
    """The rule's own text, in every install (with or without a link)."""
    from tensorlint.rules import RULES_BY_CODE
    lsp = client()
    uri = lsp.open(tmp_path / "train.py", HAZARD)
    lsp.diagnostics(uri)
    hover = lsp.request("textDocument/hover", {"textDocument": {"uri": uri},
                                               "position": position(HAZARD_LINE, HAZARD_COL + 3)})
    text = hover["contents"]["value"]
    assert hover["contents"]["kind"] == "markdown"
    for code in ("TL101", "TL102"):
        rule = RULES_BY_CODE[code]
        assert f"**{code}** `{rule.name}`: {rule.summary}" in text
        assert rule.documentation().strip() in text
    assert lsp.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": position(0, 0)}) is None
    assert lsp.close() == 0


def test_the_documentation_url_in_pyproject_reaches_every_rule_page():
    import tomllib
    from tensorlint.rules import RULES_BY_CODE
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["urls"]
    base = documentation_url(f"{label}, {url}" for label, url in urls.items())
    prefix = "https://github.com/tensorlint/tensorlint/blob/main/"
    assert base is not None and base.startswith(prefix)
    for code in RULES_BY_CODE:  # the page the link names is the one in this repository
        assert (REPO / base[len(prefix):] / "rules" / f"{code}.md").is_file(), code


@pytest.mark.parametrize("entries, expected", [
    (["Homepage, https://a.org", "Documentation, https://a.org/docs/"], "https://a.org/docs"),
    (["docs,https://b.org/d"], "https://b.org/d"),
    (["Homepage, https://a.org"], None),
    ([], None),
])
def test_documentation_url(entries, expected):
    assert documentation_url(entries) == expected


def test_exit_without_shutdown_is_exit_code_1(client, tmp_path):
    lsp = client()
    lsp.notify("exit", None)
    assert lsp.process.wait(timeout=TIMEOUT) == 1


def test_closed_input_ends_the_server(client, tmp_path):
    lsp = client()
    lsp.process.stdin.close()  # the editor went away without a word
    assert lsp.process.wait(timeout=TIMEOUT) == 1


def test_missing_pygls_is_one_line_and_exit_code_2(tmp_path):
    """pygls is a dependency; an environment that lost it gets one line saying how to put it back."""
    code = ("import sys\n"
            "sys.modules['pygls'] = sys.modules['lsprotocol'] = None\n"
            "from tensorlint.adapters.lsp import serve\n"
            "sys.exit(serve())\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == MISSING_EXTRA + "\n"
    assert MISSING_EXTRA == "tensorlint lsp needs pygls 2, a dependency of tensorlint missing here: pip install 'pygls>=2'"


def test_pygls_comes_with_a_plain_install_and_only_the_server_imports_it(tmp_path):
    import tomllib
    project = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())["project"]
    assert any(requirement.startswith("pygls>=2") for requirement in project["dependencies"])
    assert project["optional-dependencies"]["lsp"] == []  # `pip install 'tensorlint[lsp]'` still works
    (tmp_path / "a.py").write_text("x = 1\n")
    code = ("import sys\nfrom tensorlint.adapters.cli.main import main\n"
            f"main(['check', '--no-cache', {str(tmp_path / 'a.py')!r}])\n"
            "print(sorted(name for name in ('pygls', 'lsprotocol') if name in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.stdout.splitlines()[-1] == "[]", done.stderr  # a check never pays for the server's import


# ------------------------------------------------------------------ the pure helpers

@pytest.mark.parametrize("encoding, expected", [("utf-16", (0, 6)), ("utf-8", (0, 11)), ("utf-32", (0, 5))])
def test_lines_convert_characters_to_client_units(encoding, expected):
    text = "a😀é\u2028b = 1\r\nx\rlast"
    lines = Lines(text, encoding)
    assert lines.position(5) == expected  # U+2028 does not end a line for Python or LSP
    assert lines.offset(*expected) == 5
    assert lines.position(text.index("x")) == (1, 0)
    assert lines.position(text.index("last")) == (2, 0)
    assert lines.position(len(text)) == (2, 4)
    assert Lines("x = 1\n").position(6) == (1, 0)
    assert lines.offset(0, 10_000) == text.index("\r\n")  # clamped to the line's text
    assert lines.offset(99, 0) == len(text)


def test_minimal_changes_reproduce_the_new_text():
    old = "a = 1\nb = x.numpy()\nc = 3\n\nd = y.numpy()\n"
    new = "import torch\na = 1\nb = x.detach().cpu().numpy()\nc = 3\n\nd = y.detach().numpy()\n"
    changes = minimal_changes(old, new)
    text = old
    for change in sorted(changes, key=lambda c: c.start, reverse=True):
        text = text[:change.start] + change.text + text[change.end:]
    assert text == new
    assert [c.text for c in changes] == ["import torch\n", ".detach().cpu()", ".detach()"]
    assert [old[c.start:c.end] for c in changes] == ["", "", ""]


@pytest.mark.parametrize("source, line, expected", [
    ("x.numpy()\n", 1, "x.numpy()  # noqa: TL101\n"),
    ("x.numpy()   \r\n", 1, "x.numpy()  # noqa: TL101\r\n"),
    ("x.numpy()", 1, "x.numpy()  # noqa: TL101"),
    ("x.numpy()  # keep me\n", 1, "x.numpy()  # keep me  # noqa: TL101\n"),
    ("x.numpy()  # noqa: TL102\n", 1, "x.numpy()  # noqa: TL102, TL101\n"),
    ("x.numpy()  # noqa:TL102,TL3 why\n", 1, "x.numpy()  # noqa:TL102,TL3, TL101 why\n"),
    # A finding inside a multi-line string's statement: noqa goes after the string's last line.
    ('f(x.numpy(), """\ntext\n""")\n', 1, 'f(x.numpy(), """\ntext\n""")  # noqa: TL101\n'),
    ("y = x.numpy() + \\\n    1\n", 1, "y = x.numpy() + \\\n    1  # noqa: TL101\n"),
    # Brackets: each physical line is its own noqa line.
    ("y = f(\n    x.numpy(),\n)\n", 2, "y = f(\n    x.numpy(),  # noqa: TL101\n)\n"),
])
def test_noqa_change(source, line, expected):
    from tensorlint.core.diagnostics import Diagnostic
    from tensorlint.core.noqa import without_suppressed
    diagnostic = Diagnostic(line=line, col=0, code="TL101", message="")
    change = noqa_change(source, diagnostic)
    after = source[:change.start] + change.text + source[change.end:]
    assert after == expected
    assert without_suppressed(after, [diagnostic]) == []


def test_no_noqa_action_where_flake8_would_not_honour_it():
    from tensorlint.core.diagnostics import Diagnostic
    # flake8 reads the first `# noqa` on the line, here inside a string: a comment after it would not count.
    source = 's = "# noqa: TL102"; x.numpy()\n'
    assert noqa_change(source, Diagnostic(line=1, col=0, code="TL101", message="")) is None
