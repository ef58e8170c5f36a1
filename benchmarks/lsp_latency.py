"""How long the language server makes an editor wait, measured as an editor sees it.

    python benchmarks/lsp_latency.py [--runs N] [--lines 2000] [--json]

Starts `python -m tensorlint lsp` and speaks LSP to it over stdio (JSON-RPC framed by hand, as in
tests/adapters/test_lsp.py), on a generated file of about 2,000 lines (top-level training steps and modules
with TL1/TL2/TL3/TL4 findings) and a generated notebook. Times are wall-clock medians of N:

* initialize: from starting the process to the `initialize` answer (and from the request alone,
  sent once the process has started), beside the time Python takes to import pygls alone;
* code action, cursor move: an empty-context request at a line (what editors send on every move);
* code action, quickfix: `only: ["quickfix"]` on a finding, with its diagnostics;
* fix all, resolve: `codeAction/resolve` of the lazy "Fix all" action (the only whole-file fix);
* diagnostics after an edit: from `didChange` (a one-line edit in a function) to the
  `publishDiagnostics` of that version; the server's 0.1 s debounce is included;
* notebook: diagnostics after a cell edit, and a quickfix request in a cell.

This is a benchmark, not a test: the numbers go in docs/editors.md, with the machine.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

BLOCK = '''

def step_{i}(model, batch, optimizer, history):
    """One training step ({i})."""
    x = torch.as_tensor(batch["x"]).cuda()
    out = model(x)
    loss = (out - x).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    history.append(loss.item())
    preds = out.numpy()
    weights = model.weight.data
    scale = np.float(2.0)
    if len(history) > {i}:
        mean = np.mean(out.cpu())
    else:
        mean = 0.0
    return preds * scale + mean, weights


class Block{i}(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)

    def forward(self, x):
        y = self.linear(x)
        return y.relu()
'''
HEADER = '"""A generated training module."""\nimport numpy as np\nimport torch\n'


def generate(lines: int = 2000) -> str:
    parts, count, index = [HEADER], HEADER.count("\n"), 0
    while count < lines:
        parts.append(BLOCK.format(i=index))
        count += parts[-1].count("\n")
        index += 1
    return "".join(parts)


def notebook_cells(count: int = 40) -> List[str]:
    cells = ["import numpy as np\nimport torch\n"]
    for i in range(count - 1):
        cells.append(f"out_{i} = torch.ones(3).cuda()\nx_{i} = out_{i}.numpy()\nprint(np.float(1))\n")
    return cells


class Client:
    """A minimal LSP client over the server's stdio."""

    def __init__(self, cwd: str, capabilities: Dict[str, Any], ready_after: float = 0.0) -> None:
        self.started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "tensorlint", "lsp"], cwd=cwd,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.messages: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()
        if ready_after:
            time.sleep(ready_after)  # let the process start before the request is sent
        sent = time.perf_counter()
        self.initialize = self.request("initialize", {"processId": None, "rootUri": Path(cwd).as_uri(),
                                                      "capabilities": capabilities})
        self.initialize_from_start = time.perf_counter() - self.started
        self.initialize_request = time.perf_counter() - sent
        self.notify("initialized", {})

    def _read(self) -> None:
        stream = self.process.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.messages.put(None)
                    return
                if not line.strip():
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            self.messages.put(json.loads(stream.read(length)))

    def send(self, message: dict) -> None:
        body = json.dumps(dict(message, jsonrpc="2.0")).encode("utf-8")
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.process.stdin.flush()

    def notify(self, method: str, params: Any) -> None:
        self.send({"method": method, "params": params})

    def receive(self, match: Callable[[dict], bool], timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            message = self.messages.get(timeout=max(0.0, deadline - time.monotonic()))
            if message is None:
                raise SystemExit("the server exited")
            if "method" in message and "id" in message:  # a request from the server: accept it
                self.send({"id": message["id"], "result": None})
            elif match(message):
                return message

    def request(self, method: str, params: Any) -> Any:
        self.next_id += 1
        request_id = self.next_id
        self.send({"id": request_id, "method": method, "params": params})
        message = self.receive(lambda m: m.get("id") == request_id and "method" not in m)
        if "error" in message:
            raise SystemExit(f"{method}: {message['error']}")
        return message["result"]

    def diagnostics(self, uri: str, version: int) -> list:
        return self.receive(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                            and m["params"]["uri"] == uri and m["params"].get("version") == version
                            )["params"]["diagnostics"]

    def close(self) -> None:
        self.request("shutdown", None)
        self.notify("exit", None)
        self.process.wait(timeout=30)


CAPABILITIES = {  # as VS Code declares them, for what the server reads
    "workspace": {"workspaceEdit": {"documentChanges": True}},
    "textDocument": {"codeAction": {"codeActionLiteralSupport": {"codeActionKind": {"valueSet": [
        "quickfix", "source", "source.fixAll"]}}, "resolveSupport": {"properties": ["edit"]}},
        "publishDiagnostics": {"versionSupport": True}},
    "notebookDocument": {"synchronization": {}},
}


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def position(line: int, character: int = 0) -> dict:
    return {"line": line, "character": character}


def measure(runs: int, lines: int) -> Dict[str, Any]:
    results: Dict[str, List[float]] = {}
    work = tempfile.mkdtemp(prefix="tensorlint-lsp-bench-")
    from_start, request = [], []
    for _ in range(runs):  # one at a time: servers starting side by side would share the CPUs
        started = Client(work, CAPABILITIES)
        from_start.append(started.initialize_from_start)
        started.close()
    for _ in range(max(3, runs // 3)):
        started = Client(work, CAPABILITIES, ready_after=3.0)
        request.append(started.initialize_request)
        started.close()
    baseline = []
    for _ in range(runs):  # what any pygls server pays before it can answer: Python and pygls's imports
        baseline.append(timed(lambda: subprocess.run([sys.executable, "-c", "import pygls.lsp.server"], check=True)))
    results["baseline: python -c 'import pygls.lsp.server'"] = baseline
    results["initialize (process start → answer)"] = from_start
    results["initialize (request → answer, process already up)"] = request
    client = Client(work, CAPABILITIES)

    text = generate(lines)
    uri = (Path(work) / "train.py").as_uri()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                            "text": text}})
    first = client.diagnostics(uri, 1)  # the first lint also pays for importing the rules
    client.notify("textDocument/didClose", {"textDocument": {"uri": uri}})
    opened = time.perf_counter()
    client.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1,
                                                            "text": text}})
    client.diagnostics(uri, 1)
    results["diagnostics on open (whole file)"] = [time.perf_counter() - opened]

    total = text.count("\n")
    cursor, quickfix, resolve = [], [], []
    with_finding = [d for d in first if d.get("code") == "TL102"]
    for run in range(runs):
        line = (run * 37) % total
        cursor.append(timed(lambda: client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": {"start": position(line), "end": position(line)},
            "context": {"diagnostics": []}})))
        finding = with_finding[(run * 7) % len(with_finding)]
        quickfix.append(timed(lambda: client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": finding["range"],
            "context": {"diagnostics": [finding], "only": ["quickfix"]}})))
    actions = client.request("textDocument/codeAction", {
        "textDocument": {"uri": uri}, "range": {"start": position(3), "end": position(3)},
        "context": {"diagnostics": []}})
    lazy = next(a for a in actions if a["kind"] == "source.fixAll.tensorlint")
    for _ in range(max(1, runs // 4)):
        resolve.append(timed(lambda: client.request("codeAction/resolve", lazy)))
    results["code action, cursor move (empty context)"] = cursor
    results["code action, quickfix on a finding"] = quickfix
    results["fix all, codeAction/resolve"] = resolve

    # Edits: change one line inside a function, as typing does, and wait for that version's diagnostics.
    after_edit, cursor_after_edit = [], []
    source_lines = text.splitlines(True)
    targets = [i for i, line in enumerate(source_lines) if line.startswith("    preds = out.numpy()")]
    version = 1
    for run in range(runs):
        target = targets[(run * 13) % len(targets)]
        source_lines[target] = "    preds = out.detach().cpu().numpy()\n" if "detach" not in source_lines[target] \
            else "    preds = out.numpy()\n"
        version += 1
        sent = time.perf_counter()
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                 "contentChanges": [{"text": "".join(source_lines)}]})
        client.diagnostics(uri, version)
        after_edit.append(time.perf_counter() - sent)
        cursor_after_edit.append(timed(lambda: client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": {"start": position(target), "end": position(target)},
            "context": {"diagnostics": []}})))
    results["diagnostics after an edit (debounce included)"] = after_edit
    results["code action, cursor move right after"] = cursor_after_edit

    results.update(measure_notebook(client, work, runs))
    client.close()
    return {"file_lines": text.count("\n"), "runs": runs, "median_ms": {
        name: round(statistics.median(values) * 1000, 1) for name, values in results.items()},
        "max_ms": {name: round(max(values) * 1000, 1) for name, values in results.items()}}


def measure_notebook(client: Client, work: str, runs: int) -> Dict[str, List[float]]:
    notebook = (Path(work) / "explore.ipynb").as_uri()
    sources = notebook_cells()
    cells = [{"kind": 2, "document": f"{notebook}#cell{i}"} for i in range(len(sources))]
    documents = [{"uri": cell["document"], "languageId": "python", "version": 1, "text": text}
                 for cell, text in zip(cells, sources)]
    client.notify("notebookDocument/didOpen", {"notebookDocument": {
        "uri": notebook, "notebookType": "jupyter-notebook", "version": 1, "cells": cells},
        "cellTextDocuments": documents})
    last = cells[-1]["document"]
    client.diagnostics(last, 1)
    after_edit, quickfix = [], []
    for run in range(runs):
        index = 1 + (run * 5) % (len(sources) - 1)
        uri = cells[index]["document"]
        version = run + 2
        text = sources[index] + f"y = {run}\n"
        sent = time.perf_counter()
        client.notify("notebookDocument/didChange", {
            "notebookDocument": {"uri": notebook, "version": version},
            "change": {"cells": {"textContent": [{"document": {"uri": uri, "version": version}, "changes": [
                {"range": {"start": position(3), "end": position(3)}, "text": f"y = {run}\n"}]}]}}})
        found = client.diagnostics(uri, version)
        after_edit.append(time.perf_counter() - sent)
        sources[index] = text
        quickfix.append(timed(lambda: client.request("textDocument/codeAction", {
            "textDocument": {"uri": uri}, "range": found[0]["range"],
            "context": {"diagnostics": found[:1], "only": ["quickfix"]}})))
    return {f"notebook ({len(sources)} cells): diagnostics after a cell edit": after_edit,
            "notebook: code action, quickfix in a cell": quickfix}


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.lines < 30:
        parser.error("--runs must be at least 1 and --lines at least 30")
    result = measure(args.runs, args.lines)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['file_lines']}-line file, median (max) of {result['runs']} runs, {os.cpu_count()} CPUs")
    width = max(map(len, result["median_ms"]))
    for name, value in result["median_ms"].items():
        print(f"  {name.ljust(width)}  {value:8.1f} ms  ({result['max_ms'][name]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
