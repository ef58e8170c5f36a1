"""TL5: silent hazards, where torch and NumPy meet and the numbers come out wrong without an error."""
from __future__ import annotations

from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import Invalid, Rule, Valid

H = "import numpy as np\nimport torch\n"  # header shared by the cases


# -- TL503 ---------------------------------------------------------------------------------------------
_LOOP = H + "buf = np.empty(4, dtype=np.float32)\nbatch = []\nfor frame in frames:\n"


def _refilled(body: str) -> str:
    return _LOOP + "".join(f"    {line}\n" for line in body.split("\n"))


class RefilledBufferKept(Rule):
    """
    ## What it does
    Flags `torch.from_numpy(buf)` (and `torch.as_tensor(buf)` / `torch.asarray(buf)` with no dtype,
    device or `copy=True` that would force a copy) inside a loop that refills the NumPy array `buf` in
    place (`buf[:] = ...`, `buf[...] = ...`, `np.copyto(buf, x)`, `f.readinto(buf)`, `buf *= ...`,
    `np.add(..., out=buf)`, `buf.fill(...)`) while it keeps the tensor, or a view of it, across
    iterations: appended or inserted into a list, or stored in a list or dict by subscript.

    ## Why is this bad?
    `torch.from_numpy` and `torch.as_tensor` do not copy: the tensor is a view of the array's memory,
    and so are its views (`.view`, `.unsqueeze`, `.reshape`, slicing, `.cpu()` of a CPU tensor). Each
    refill overwrites what every tensor kept so far holds, so after the loop all of them hold the last
    values. No error is raised; the batch, the cache or the recorded episode is silently wrong.

    Only manifest hazards are reported, with their evidence: `buf` is made by a NumPy factory
    (`np.empty`, `np.zeros`, `np.array`, ...) outside the loop and not made anew inside it, the loop
    refills it in place, and the list or dict that keeps the tensor is made outside the loop (`[]`,
    `{}`, `list()`, `dict()`, `defaultdict(...)`). A tensor used only within its iteration
    (`model(torch.from_numpy(buf))`), a copy (`torch.tensor(buf)`, `.clone()`, `.float()` of another
    dtype, `.to("cuda")`) and a buffer made anew each iteration are fine.

    ## Example
    ```python
    buf = np.empty((3, 224, 224), dtype=np.float32)
    batch = []
    for path in paths:
        buf[:] = load(path)
        batch.append(torch.from_numpy(buf))
    ```

    ## Use instead
    ```python
    buf = np.empty((3, 224, 224), dtype=np.float32)
    batch = []
    for path in paths:
        buf[:] = load(path)
        batch.append(torch.from_numpy(buf.copy()))
    ```

    ## Fix safety
    Safe: `buf` is proven a NumPy array (every binding of it is a NumPy factory), so `buf.copy()` is an
    array with the same dtype and the values `buf` holds at that moment, and the tensor made from it
    holds exactly what the original held when it was made, never overwritten later. The only other
    change is one copy of the buffer per iteration.

    ## Known problems
    A tensor that is `yield`ed is not reported: whether it is kept (`list(gen)`) or used at once
    (`for t in gen: model(t)`) is the consumer's choice. Buffers held in attributes (`self.buf`) and
    containers other than lists and dicts the code shows are not followed yet.
    """

    code = "TL503"
    name = "refilled-buffer-kept"
    summary = "A tensor sharing a NumPy buffer the loop refills in place, kept across iterations"
    fixable = "always"
    fix_check = FixCheck(snippet="aliasing")
    VALID = [
        Valid(_refilled("buf[:] = frame\nbatch.append(torch.from_numpy(buf.copy()))"), "a copy is kept"),
        Valid(_refilled("buf[:] = frame\nbatch.append(torch.tensor(buf))"), "torch.tensor copies"),
        Valid(_refilled("buf[:] = frame\nbatch.append(torch.from_numpy(buf).clone())"), ".clone() copies"),
        Valid(_refilled("buf[:] = frame\nbatch.append(torch.from_numpy(buf).to('cuda'))"), "a device copy"),
        Valid(_refilled("buf[:] = frame\nbatch.append(torch.from_numpy(buf).float())"), ".float() may copy"),
        Valid(_refilled("buf[:] = frame\nbatch.append(torch.as_tensor(buf, dtype=torch.float64))"),
              "another dtype copies"),
        Valid(_refilled("buf[:] = frame\nbatch.append(torch.asarray(buf, copy=True))"), "copy=True"),
        Valid(_refilled("buf[:] = frame\nbatch.append(model(torch.from_numpy(buf)).item())"),
              "used within the iteration"),
        Valid(_refilled("buf = np.zeros(4)\nbuf[:] = frame\nbatch.append(torch.from_numpy(buf))"),
              "a buffer made anew each iteration"),
        Valid(_refilled("batch.append(torch.from_numpy(buf))"), "never refilled"),
        Valid(_refilled("buf[:] = frame\nbatch = [torch.from_numpy(buf)]"), "the list is made anew each iteration"),
        Valid(_refilled("buf[:] = frame\nlast = torch.from_numpy(buf)"), "only the last tensor is kept"),
        Valid(_refilled("buf[:] = frame\nyield torch.from_numpy(buf)"), "the consumer decides"),
        Valid(_refilled("buf[:] = frame\nqueue.append(torch.from_numpy(buf))"), "an object that may copy"),
        Valid(_refilled("buf[:] = frame\nt = torch.from_numpy(buf)\nt = t * 2\nbatch.append(t)"), "a new tensor"),
        Valid(H + "def f(buf, frames):\n    out = []\n    for frame in frames:\n        buf[:] = frame\n"
              "        out.append(torch.from_numpy(buf))\n", "a parameter may be no NumPy array"),
        Valid(H + "buf = np.empty(4)\nbatch = []\nfor frame in frames:\n    buf[:] = frame\n"
              "    batch.append([torch.from_numpy(buf) for _ in range(2)])\n", "a comprehension is left alone"),
    ]
    INVALID = [
        Invalid(_refilled("buf[:] = frame\nbatch.append(torch.from_numpy(buf))"), line=7, col=18,
                fixed=_refilled("buf[:] = frame\nbatch.append(torch.from_numpy(buf.copy()))"), why="the shape"),
        Invalid(_refilled("np.copyto(buf, frame)\nt = torch.as_tensor(buf)\nbatch.append((t.unsqueeze(0), 1))"),
                line=7, col=9, fixed=_refilled("np.copyto(buf, frame)\nt = torch.as_tensor(buf.copy())\n"
                                                "batch.append((t.unsqueeze(0), 1))"),
                why="through a name, a view inside a tuple"),
        Invalid(_refilled("f.readinto(buf)\nbatch.insert(0, torch.from_numpy(buf)[:2])"), line=7, col=21,
                fixed=_refilled("f.readinto(buf)\nbatch.insert(0, torch.from_numpy(buf.copy())[:2])"),
                why="readinto, a slice"),
        Invalid(H + "buf = np.ones(4)\ncache = {}\nfor i in range(3):\n    buf *= 2\n"
                "    cache[i] = torch.asarray(buf)\n", line=7, col=16,
                fixed=H + "buf = np.ones(4)\ncache = {}\nfor i in range(3):\n    buf *= 2\n"
                "    cache[i] = torch.asarray(buf.copy())\n", why="a dict, an augmented assignment"),
        Invalid(H + "class Recorder:\n    def __init__(self):\n        self.frames = []\n"
                "    def run(self, env):\n        obs = np.zeros(8, np.float32)\n        while True:\n"
                "            np.add(obs, env.step(), out=obs)\n"
                "            self.frames.append(torch.from_numpy(obs).view(2, 4))\n", line=10, col=32,
                fixed=H + "class Recorder:\n    def __init__(self):\n        self.frames = []\n"
                "    def run(self, env):\n        obs = np.zeros(8, np.float32)\n        while True:\n"
                "            np.add(obs, env.step(), out=obs)\n"
                "            self.frames.append(torch.from_numpy(obs.copy()).view(2, 4))\n",
                why="an attribute list, out=, a while loop"),
    ]


RULES = (RefilledBufferKept,)
