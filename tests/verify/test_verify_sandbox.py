"""The verifier's sandbox: no writes outside its folder, no network, no processes, bounded memory.

The first tests confine a plain Python process (no torch needed) and try each forbidden thing, next to
an unconfined control run of the same script that shows each attempt would otherwise succeed; the
last ones go through the real verifier's worker.
"""
import json
import socket
import subprocess
import sys
import textwrap

import pytest

MEMORY = 256 * 2 ** 20

ATTEMPTS = textwrap.dedent('''
    import json, os, socket, subprocess, sys
    from tensorlint.verify import sandbox
    inside, outside, port, confined = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    existing = os.path.join(outside, "existing.txt")
    if confined:
        sandbox.confine(inside, %(memory)d)
    results = {}

    def attempt(name, action):
        try:
            action()
            results[name] = "ok"
        except MemoryError:
            results[name] = "MemoryError"
        except PermissionError:
            results[name] = "PermissionError"
        except OSError as error:
            results[name] = "OSError:" + os.strerror(error.errno or 0)

    def fork():
        if os.fork() == 0:
            os._exit(0)
        os.wait()

    def write(path, size=1):
        with open(path, "w") as stream:
            stream.write("x" * size)

    attempt("write_inside", lambda: write(os.path.join(inside, "a.txt")))
    attempt("read_outside", lambda: open(existing).read())
    attempt("write_outside", lambda: write(os.path.join(outside, "new.txt")))
    attempt("append_outside", lambda: open(existing, "a").close())
    attempt("os_open_outside", lambda: os.close(os.open(os.path.join(outside, "raw.txt"), os.O_WRONLY | os.O_CREAT)))
    attempt("mkdir_outside", lambda: os.mkdir(os.path.join(outside, "folder")))
    attempt("rename_out_of_inside", lambda: os.rename(os.path.join(inside, "a.txt"), os.path.join(outside, "moved.txt")))
    attempt("connect", lambda: socket.create_connection(("127.0.0.1", port), timeout=5).close())
    attempt("resolve_name", lambda: socket.getaddrinfo("localhost", 80))
    attempt("subprocess", lambda: subprocess.run(["true"], check=True))
    attempt("os_system", lambda: os.system("true"))
    attempt("fork", fork)
    attempt("allocate_within_limit", lambda: bytearray(%(memory)d // 4))
    attempt("allocate_past_limit", lambda: bytearray(2 * %(memory)d))
    attempt("file_past_64_mib", lambda: write(os.path.join(inside, "big.txt"), 65 * 2 ** 20))
    attempt("remove_outside", lambda: os.remove(existing))
    print(json.dumps(results))
''') % {"memory": MEMORY}


def _attempts(tmp_path, confined):
    inside, outside = tmp_path / f"inside{confined}", tmp_path / f"outside{confined}"
    inside.mkdir()
    outside.mkdir()
    (outside / "existing.txt").write_text("kept")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        completed = subprocess.run([sys.executable, "-c", ATTEMPTS, str(inside), str(outside),
                                    str(server.getsockname()[1]), "1" if confined else "0"],
                                   capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout), outside


@pytest.mark.skipif(sys.platform != "linux", reason="the memory and file-size limits are checked on Linux")
def test_each_forbidden_attempt_is_refused_and_would_otherwise_succeed(tmp_path):
    unconfined, _ = _attempts(tmp_path, False)
    assert set(unconfined.values()) == {"ok"}, unconfined  # the control: every attempt works without the sandbox
    confined, outside = _attempts(tmp_path, True)
    assert confined == {
        "write_inside": "ok", "read_outside": "ok", "allocate_within_limit": "ok",
        "write_outside": "PermissionError", "append_outside": "PermissionError",
        "os_open_outside": "PermissionError", "mkdir_outside": "PermissionError",
        "rename_out_of_inside": "PermissionError", "remove_outside": "PermissionError",
        "connect": "PermissionError", "resolve_name": "PermissionError",
        "subprocess": "PermissionError", "os_system": "PermissionError", "fork": "PermissionError",
        "allocate_past_limit": "MemoryError", "file_past_64_mib": "OSError:File too large",
    }
    assert sorted(p.name for p in outside.iterdir()) == ["existing.txt"]
    assert (outside / "existing.txt").read_text() == "kept"


# -- through the verifier's worker ------------------------------------------------------------------
def _verifier_case(tmp_path, flagged):
    pytest.importorskip("torch")
    from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety
    source = f"import numpy as np\n\n\ndef f(x):\n    return {flagged}\n"
    start = source.index(flagged)
    edit = source.index(".cpu()", start)
    diagnostic = Diagnostic(5, 11, "TL101", "fake", start_offset=start, end_offset=start + len(flagged),
                            fix=Fix("fake fix", (Edit(edit, edit + len(".cpu()"), ".detach().cpu()"),), Safety.SAFE))
    return source, diagnostic


def test_a_snippet_cannot_write_outside_the_worker_folder(tmp_path):
    from tensorlint.verify.core import Verifier
    target = tmp_path / "written.npy"
    source, diagnostic = _verifier_case(tmp_path, f"np.save({str(target)!r}, x.cpu().numpy())")
    with Verifier(timeout=60, workers=1) as verifier:
        (verdict,) = verifier.verify_diagnostics(source, [diagnostic])
    assert not target.exists()
    assert verdict.verdict != "PASS"


def test_a_snippet_past_the_memory_limit_gets_memory_error_and_the_run_goes_on(tmp_path):
    from tensorlint.verify.core import Verifier
    big, big_diagnostic = _verifier_case(tmp_path, "x.cpu().numpy().sum() + np.ones(2 ** 27).sum()")  # 1 GiB
    small, small_diagnostic = _verifier_case(tmp_path, "x.cpu().numpy().sum() + np.ones(2 ** 10).sum()")
    with Verifier(timeout=60, workers=1, memory_bytes=MEMORY) as verifier:
        (refused,) = verifier.verify_diagnostics(big, [big_diagnostic])
        (fine,) = verifier.verify_diagnostics(small, [small_diagnostic])
    assert refused.verdict != "PASS"
    assert "MemoryError" in json.dumps(refused.__dict__, default=str)
    assert fine.verdict == "PASS"
