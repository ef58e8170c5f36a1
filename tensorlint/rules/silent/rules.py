"""TL5: hazards at the torch/NumPy border that no conversion error points at: a dtype NumPy picked, a copy read
before it lands, memory NumPy and torch share. Each hazard's checker lives in its own module of this folder."""
from __future__ import annotations

from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import Invalid, Rule, Valid

H = "import numpy as np\nimport torch\n"  # header shared by the cases


# -- TL501 -----------------------------------------------------------------------------------------------------------
_NN = "import numpy as np\nimport torch\nimport torch.nn as nn\n"  # the TL501 cases' header


class Float64IntoFloat32Module(Rule):
    """
    ## What it does
    Flags a tensor made from a NumPy array the code shows is float64 (`np.random.rand`, `np.zeros`,
    `np.linspace`, `np.array([0.5, ...])`, `img / 255.0`, `np.loadtxt`, ...) by `torch.from_numpy`,
    `torch.as_tensor`, `torch.asarray` or `torch.tensor` without `dtype=`, when it reaches, in the same
    function and with nothing on the way that changes its dtype (moves, views and arithmetic with numbers keep
    it), a call of a module whose parameters are float32: an `nn.Linear`, `nn.Conv*d`,
    `nn.ConvTranspose*d` or an `nn.Sequential` that starts with one, built in the code and not converted
    (`.double()`, `.to(torch.float64)`), a module class of the file whose `forward` feeds its input straight
    into such a layer, or `F.linear`/`F.conv*` with the weight of such a layer. It is reported where the
    tensor is made, which is where it is fixed; the message names the module call.

    ## Why is this bad?
    NumPy's default dtype is float64, torch's is float32, and `torch.from_numpy`, `torch.as_tensor` and
    `torch.tensor` keep the array's dtype. The module call then raises
    `RuntimeError: mat1 and mat2 must have the same dtype, but got Double and Float` (a linear layer) or
    `RuntimeError: Input type (double) and bias type (float) should be the same` (a convolution): the most
    asked beginner's crash after `.detach()` and `.cpu()`.

    ## Example
    ```python
    model = torch.nn.Linear(4, 2)
    features = np.random.rand(8, 4)
    scores = model(torch.from_numpy(features))
    ```

    ## Use instead
    ```python
    scores = model(torch.from_numpy(features).float())
    ```

    ## Fix safety
    Safe when the module call is the tensor's only use (it is made in the call's argument, or bound to a
    name read only there): the code shows both ends, the array's float64 and the module's float32
    parameters, so the original raised there, and `.float()` only makes the float32 tensor the module needs.
    Unsafe when the tensor has other uses: they would see float32 values too (rounded to float32's
    precision), also on paths that never reach the module.

    ## Known problems
    Only dtypes the code shows are evidence: an array loaded from a file (`np.load`, `pd.read_csv(...).values`),
    taken from another library (`adata.X`, which is float64 in most AnnData files) or passed in as a parameter
    has no dtype here, so most real occurrences, where the array comes from the caller, are not reported. A
    file that calls `torch.set_default_dtype` is not checked.
    """

    code = "TL501"
    fix_check = FixCheck(snippet="module_input", raises=(
        ("RuntimeError", r"(mat1 and mat2 must have the same dtype, but got Double and Float"
                         r"|expected m1 and m2 to have the same dtype, but got: double != float"
                         r"|Input type \(double\) and bias type \(float\) should be the same"
                         r"|expected scalar type Double but found Float)"),), dtypes=("float64",))
    name = "float64-into-float32-module"
    summary = "A float64 tensor made from NumPy reaches a module whose parameters are float32"
    fixable = "always"
    VALID = [
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3)).float())\n", ".float() first"),
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.tensor(np.random.rand(4, 3), dtype=torch.float32))\n",
              "dtype=torch.float32"),
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.FloatTensor(np.random.rand(4, 3)))\n", "torch.FloatTensor"),
        Valid(_NN + "m = nn.Linear(3, 2).double()\ny = m(torch.from_numpy(np.random.rand(4, 3)))\n",
              "a float64 model"),
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.load('x.npy')))\n", "an array of unknown dtype"),
        Valid(_NN + "def f(x):\n    m = nn.Linear(3, 2)\n    return m(torch.from_numpy(x))\n", "a parameter"),
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(adata.X))\n", "another library's array"),
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.zeros((4, 3), dtype=np.float32)))\n",
              "a float32 array"),
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3).astype(np.float32)))\n",
              ".astype(np.float32)"),
        Valid(_NN + "m = nn.Linear(3, 2)\nx = np.zeros((4, 3), dtype=np.float32) * 0.5\ny = m(torch.from_numpy(x))\n",
              "a float32 array times a Python float stays float32"),
        Valid(_NN + "e = nn.Embedding(10, 3)\ny = e(torch.from_numpy(np.arange(4)))\n", "integers into an embedding"),
        Valid(_NN + "loss = nn.MSELoss()\ny = loss(torch.from_numpy(np.zeros(3)), torch.zeros(3))\n",
              "a loss takes float64"),
        Valid(_NN + "torch.set_default_dtype(torch.float64)\nm = nn.Linear(3, 2)\n"
              "y = m(torch.from_numpy(np.random.rand(4, 3)))\n", "the default dtype is changed"),
        Valid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.tensor([[0.5, 1.0, 2.0]]))\n", "Python floats make float32"),
        Valid(_NN + "m = torch.load('m.pt')\ny = m(torch.from_numpy(np.random.rand(4, 3)))\n",
              "a loaded model's dtype is not shown"),
        Valid(_NN + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.random.rand(4, 3))\ndef f():\n    return m(x)\n",
              "made in another function"),
    ]
    INVALID = [
        Invalid(_NN + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3)))\n", line=5, col=7,
                fixed=_NN + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3)).float())\n",
                why="torch.from_numpy"),
        Invalid(_NN + "def f(device):\n    m = nn.Conv2d(1, 4, 3).to(device)\n    img = np.zeros((1, 1, 8, 8), dtype=np.uint8)\n"
                "    x = torch.as_tensor(img / 255.0).to(device)\n    return m(x)\n", line=7, col=9,
                fixed=_NN + "def f(device):\n    m = nn.Conv2d(1, 4, 3).to(device)\n"
                "    img = np.zeros((1, 1, 8, 8), dtype=np.uint8)\n"
                "    x = torch.as_tensor(img / 255.0).float().to(device)\n    return m(x)\n",
                why="an image scaled by a Python float, moved to the device"),
        Invalid(_NN + "m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())\nx = torch.tensor(np.array([[0.5, 1.5]]))\ny = m(x)\n",
                line=5, col=5,
                fixed=_NN + "m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())\n"
                "x = torch.tensor(np.array([[0.5, 1.5]])).float()\ny = m(x)\n",
                why="np.array of floats into a Sequential"),
        Invalid(_NN + "import torch.nn.functional as F\nlayer = nn.Linear(3, 2)\n"
                "y = F.linear(torch.from_numpy(np.linspace(0, 1, 3)), layer.weight)\n", line=6, col=14,
                fixed=_NN + "import torch.nn.functional as F\nlayer = nn.Linear(3, 2)\n"
                "y = F.linear(torch.from_numpy(np.linspace(0, 1, 3)).float(), layer.weight)\n",
                why="F.linear with a layer's weight"),
        Invalid(_NN + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                "        self.fc = nn.Linear(3, 2)\n    def forward(self, x):\n        return self.fc(x)\n"
                "net = Net()\nout = net(torch.from_numpy(np.ones((2, 3))))\n", line=11, col=11,
                fixed=_NN + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                "        self.fc = nn.Linear(3, 2)\n    def forward(self, x):\n        return self.fc(x)\n"
                "net = Net()\nout = net(torch.from_numpy(np.ones((2, 3))).float())\n",
                why="a module class of the file"),
        Invalid(_NN + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.random.rand(4, 3))\nprint(x.sum())\ny = m(x)\n",
                line=5, col=5, unsafe=True,
                fixed=_NN + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.random.rand(4, 3)).float()\nprint(x.sum())\ny = m(x)\n",
                why="another use of the tensor sees float32 too: unsafe"),
    ]


# -- TL502 -----------------------------------------------------------------------------------------------------------
_NB = "def f(x, device=\"cuda\"):\n    y = x.to(\"cpu\", non_blocking=True)\n"


class NonBlockingHostRead(Rule):
    """
    ## What it does
    Flags the first read on the host of a tensor filled by a non-blocking device-to-host copy, before any
    synchronisation in the same function: `y = x.to("cpu", non_blocking=True)` (or `device="cpu"`,
    `torch.device("cpu")`, a name bound to one), or `dst.copy_(x, non_blocking=True)` into a host tensor, then
    `y.item()`, `y.tolist()`, `float(y)`, `print(y)`, arithmetic, a NumPy or torch function, an index-put into a
    host tensor, or the same through `y.numpy()` and other views. The message names the copy and the read.

    ## Why is this bad?
    A non-blocking copy from an accelerator only queues the transfer: it returns at once with a host tensor
    (in pinned memory) that the transfer fills later. Code that reads it before synchronising (the stream, an
    event recorded after the copy, or the device) may read stale values: zeros or the previous batch, at
    random. There is no error, only wrong numbers.

    The copy's source must be shown to be on an accelerator (`model(images.cuda())`), or, where its device is
    not shown, the code around the copy (its function, or that function's class) must show that it works with
    an accelerator: a pinned host buffer (`pin_memory=True`), a `torch.cuda.*` call, `.cuda()`, a `"cuda"`
    device. `non_blocking=True` alone only says what the author expected: a helper that its callers give host
    tensors copies nothing, and is not reported. `.numpy()`, indexing, `.view()`, `torch.split` and `.shape`
    read nothing, so `y = x.to("cpu", non_blocking=True).numpy()` followed by `event.synchronize()` and then
    the reads is fine. Anything that may synchronise ends the search: a `.synchronize()` of any kind, an event
    `.query()`, a call whose name says it syncs or waits, or a blocking `.item()`/`.tolist()`/`.cpu()`/
    `.to("cpu")` of another tensor (it waits for the stream the copy is queued on, when that is the current one).

    ## Example
    ```python
    logits = model(images.cuda())
    scores = logits.to("cpu", non_blocking=True)
    best = scores.argmax().item()
    ```

    ## Use instead
    ```python
    logits = model(images.cuda())
    scores = logits.to("cpu", non_blocking=True)
    torch.cuda.current_stream().synchronize()
    best = scores.argmax().item()
    ```

    ## Fix safety
    Where the read is in the copy's own statement (`buf[i] = x.to("cpu", non_blocking=True)`), the fix drops
    `non_blocking=True`, so that the copy blocks until the data has arrived: the values are right on every
    device, and the copy no longer overlaps other work. It is unsafe because that overlap may be what the code
    is for; a synchronisation just before the read keeps it. A read in a later statement gets no fix: where
    to synchronise (or whether to give up the overlap) is the author's choice.

    ## Known problems
    Only the function that makes the copy is followed: a copy returned to a caller (or stored on an object)
    and read there is not reported, nor a read in the next iteration of a loop. A synchronisation on one
    branch of an `if` counts for everything after it.
    """

    code = "TL502"
    name = "non-blocking-host-read"
    summary = "Host read of a non-blocking device-to-host copy before any synchronisation"
    fixable = "sometimes"
    fix_check = FixCheck(snippet="expression")
    VALID = [
        Valid(H + _NB + "    torch.cuda.synchronize()\n    return y.item()\n", "synchronised first"),
        Valid(H + "def lengths_on_host(lengths):\n    cpu_lengths = lengths.to(device=\"cpu\", non_blocking=True)\n"
              "    return int(cpu_lengths[0].item())\n",
              "nothing shows an accelerator: a helper its callers give host tensors copies nothing (sample-factory)"),
        Valid(H + _NB + "    event = torch.cuda.Event()\n    event.record()\n    event.synchronize()\n"
              "    return y.tolist()\n", "an event synchronised"),
        Valid(H + "def f(x, done):\n    y = x.to(\"cpu\", non_blocking=True).numpy()\n    done.synchronize()\n"
              "    return y.sum()\n", ".numpy() is a view: all reads after the sync"),
        Valid(H + _NB + "    return y\n", "handed to the caller"),
        Valid(H + _NB + "    n = y.shape[0]\n    return n\n", "only the shape"),
        Valid(H + "def f(x, device=\"cuda\"):\n    y = x.to(\"cpu\")\n    return y.item()\n", "a blocking copy"),
        Valid(H + "def f():\n    x = torch.zeros(3)\n    y = x.to(\"cpu\", non_blocking=True)\n    return y.item()\n",
              "the source is on the host: no copy"),
        Valid(H + "def f(x, device=\"cuda\"):\n    y = x.to(\"cuda\", non_blocking=True)\n    return y.sum()\n", "to the accelerator"),
        Valid(H + "class Policy:\n    def __init__(self, device=\"cpu\"):\n        self.device = device\n\n"
                  "    def run(self, state):\n        state = state.to(self.device, non_blocking=True)\n"
                  "        return torch.cat((state, state)).sum()\n",
              "an attribute set from a parameter whose default is \"cpu\": callers pass the accelerator"),
        Valid(H + "def f(x, device=\"cpu\"):\n    y = x.to(device, non_blocking=True)\n    return y.item()\n",
              "a parameter that defaults to \"cpu\": callers may pass the accelerator"),
        Valid(H + "def f(x, device):\n    y = x.to(device, non_blocking=True)\n    return y.item()\n",
              "a device of unknown kind"),
        Valid(H + _NB + "    z = other.item()\n    return y.item()\n", "another blocking read syncs the stream"),
        Valid(H + _NB + "    z = other.to(\"cpu\", non_blocking=False)\n    return y.tolist(), z.tolist()\n",
              "a blocking copy of another tensor waits for the stream too (torchtitan's token dispatcher)"),
        Valid(H + _NB + "    parts = torch.split(y, 2)\n    done.synchronize()\n    return parts[0].sum()\n",
              "torch.split makes views: nothing is read before the sync (gptqmodel's tile copies)"),
        Valid(H + _NB + "    y = torch.zeros(3)\n    return y.item()\n", "rebound"),
        Valid(H + "def f(x, out):\n    buf = torch.empty(3, pin_memory=True)\n    buf.copy_(x, non_blocking=True)\n"
              "    out.record()\n    return buf\n", "copy_ into a host tensor, not read here"),
        Valid(H + "def f(x, dst):\n    dst.copy_(x, non_blocking=True)\n    return dst.item()\n",
              "copy_ into a tensor not shown to be on the host"),
    ]
    INVALID = [
        Invalid(H + _NB + "    return y.item()\n", line=5, col=12, why=".item() before any sync"),
        Invalid(H + "def f(model, x):\n    out = model(x.cuda())\n    y = out.to(device=\"cpu\", non_blocking=True)\n"
                "    print(y)\n", line=6, col=5, why="printed; the source is shown on the device"),
        Invalid(H + "def f(x, device=\"cuda\"):\n    y = x.to(torch.device(\"cpu\"), non_blocking=True).numpy()\n    return np.mean(y)\n",
                line=5, col=12, why="a NumPy read through the .numpy() view"),
        Invalid(H + "class Cache:\n    def __init__(self):\n        self.buffer = torch.zeros(4, 2, device=\"cpu\", pin_memory=True)\n"
                "    def put(self, i, top_k):\n        self.buffer[i] = top_k.to(device=\"cpu\", non_blocking=True)\n",
                line=7, col=26,
                fixed=H + "class Cache:\n    def __init__(self):\n        self.buffer = torch.zeros(4, 2, device=\"cpu\", pin_memory=True)\n"
                "    def put(self, i, top_k):\n        self.buffer[i] = top_k.to(device=\"cpu\")\n",
                unsafe=True, why="an index-put into a host tensor (sglang)"),
        Invalid(H + "def f(x):\n    cpu = torch.device(\"cpu\")\n    host = torch.empty(3, pin_memory=True)\n"
                "    host.copy_(x, non_blocking=True)\n    return host.tolist()\n", line=7, col=12, why="copy_ into a host tensor"),
        Invalid(H + _NB + "    if y[0] > 0:\n        return 1\n", line=5, col=8, why="a comparison"),
        Invalid(H + "def f(x, device=\"cuda\"):\n    return float(x.to(\"cpu\", non_blocking=True).sum())\n", line=4, col=18,
                fixed=H + "def f(x, device=\"cuda\"):\n    return float(x.to(\"cpu\").sum())\n", unsafe=True,
                why="read in the copy's own statement: the fix drops non_blocking=True"),
    ]


# -- TL503 -----------------------------------------------------------------------------------------------------------
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


# -- TL504 -----------------------------------------------------------------------------------------------------------
_M = H + "model = torch.nn.Linear(2, 2)\n"


class WriteThroughParameterView(Rule):
    """
    ## What it does
    Flags a NumPy view of a model's parameter or `state_dict()` tensor (`model.fc.weight.detach().numpy()`,
    `np.asarray(p.data)`, `model.state_dict()[k].numpy()`) that the code then writes into in place: `w *= 2`,
    `w[0] = 0`, `w.fill(0)`, `w.sort()`, `np.clip(w, lo, hi, out=w)`, `np.copyto(w, ...)`. The message names
    the view, the tensor and the write.

    ## Why is this bad?
    `.numpy()`, `np.asarray(t)`, `.detach()` and `.data` copy nothing: the array is the parameter's memory, so
    the write changes the model's weights, silently. Code that meant to work on a copy (scale the weights for
    a plot, sort them for a histogram, clip them for an export) corrupts the model it goes on to use.

    The evidence is the analysis's: a parameter (`.weight`/`.bias` of a known module or of something named as
    a whole model, an element of `model.parameters()`), or a tensor of `m.state_dict()` (taken directly, from a
    name bound to it, or as a loop variable over its `.values()`/`.items()`). Only steps that copy nothing may
    lie between it and NumPy (`.detach()`, `.data`, basic indexing, `.T`, `.view()`); `.clone()`, `.copy()`,
    `np.array(...)`, `.astype(...)` and arithmetic make new arrays. `.cpu()` copies a tensor on an accelerator
    and returns the same one on the host, so a chain with `.cpu()` is only reported where the model is shown
    to be on the host (built here and never moved).

    ## Example
    ```python
    weights = model.fc.weight.detach().numpy()
    weights *= 255
    ```

    ## Use instead
    ```python
    weights = model.fc.weight.detach().numpy().copy()
    weights *= 255
    ```

    ## Fix safety
    The fix copies the array (`.numpy()` becomes `.numpy().copy()`): the array holds the same values, and the
    write no longer reaches the model. It is unsafe because it changes what the code does: if changing the
    model through NumPy was the point, the fix undoes it (write to the parameter under `torch.no_grad()`
    instead, which says so).

    ## Known problems
    Only the function that makes the view is followed: a view returned or stored and written elsewhere is not
    reported. Buffers are only known through `state_dict()`, and parameters of a model of unknown kind (a
    function's argument named `layer`) are not reported.
    """

    code = "TL504"
    name = "write-through-parameter-view"
    summary = "In-place write to a NumPy view of a model's parameter or state_dict tensor"
    fixable = "sometimes"
    fix_check = FixCheck(snippet="expression", unshares=True)
    VALID = [
        Valid(_M + "w = model.weight.detach().numpy().copy()\nw *= 2\n", "a copy"),
        Valid(_M + "w = np.array(model.weight.detach())\nw[0] = 0\n", "np.array copies"),
        Valid(_M + "w = model.weight.detach().numpy() * 2\nw *= 2\n", "arithmetic makes a new array"),
        Valid(_M + "w = model.weight.detach().numpy().astype(np.float64)\nw.fill(0)\n", "astype copies"),
        Valid(_M + "w = model.weight.detach().numpy()\nw = w * 2\n", "rebound, not written"),
        Valid(_M + "w = model.weight.detach().numpy()\nprint(w.sum())\n", "only read"),
        Valid(_M + "model.cuda()\nw = model.weight.detach().cpu().numpy()\nw *= 2\n", ".cpu() of a model on the GPU copies"),
        Valid(H + "def f(model):\n    w = model.weight.detach().cpu().numpy()\n    w *= 2\n",
              ".cpu() of a model not shown on the host"),
        Valid(H + "def f(x):\n    a = x.detach().numpy()\n    a *= 2\n", "not a parameter"),
        Valid(H + "def f(layer):\n    a = layer.weight.detach().numpy()\n    a *= 2\n", "a module of unknown kind"),
        Valid(_M + "w = model.weight.detach().numpy()\nv = w[[0, 1]]\nv *= 2\n", "an array index copies"),
        Valid(_M + "sd = {k: v.clone() for k, v in model.state_dict().items()}\nw = sd['weight'].numpy()\nw *= 2\n",
              "a dict of clones"),
    ]
    INVALID = [
        Invalid(_M + "w = model.weight.detach().numpy()\nw *= 2\n", line=4, col=5,
                fixed=_M + "w = model.weight.detach().numpy().copy()\nw *= 2\n", unsafe=True, why="scaled in place"),
        Invalid(_M + "w = model.weight.data.numpy()\nw[0] = 0\n", line=4, col=5,
                fixed=_M + "w = model.weight.detach().cpu().numpy().copy()\nw[0] = 0\n", unsafe=True,
                why="an item assignment (TL201 and TL103 fix the chain too)"),
        Invalid(_M + "w = np.asarray(model.bias.detach())\nnp.clip(w, -1, 1, out=w)\n", line=4, col=5,
                fixed=_M + "w = np.asarray(model.bias.detach()).copy()\nnp.clip(w, -1, 1, out=w)\n", unsafe=True,
                why="np.asarray, out="),
        Invalid(_M + "for p in model.parameters():\n    a = p.detach().numpy()\n    a.sort()\n", line=5, col=9,
                fixed=_M + "for p in model.parameters():\n    a = p.detach().numpy().copy()\n    a.sort()\n", unsafe=True,
                why="a parameter of model.parameters()"),
        Invalid(_M + "sd = model.state_dict()\nw = sd['weight'].numpy()\nw.fill(0)\n", line=5, col=5,
                fixed=_M + "sd = model.state_dict()\nw = sd['weight'].numpy().copy()\nw.fill(0)\n", unsafe=True,
                why="a state_dict tensor"),
        Invalid(_M + "for k, v in model.state_dict().items():\n    a = v.cpu().numpy()\n    a[:] = 0\n", line=5, col=9,
                fixed=_M + "for k, v in model.state_dict().items():\n    a = v.cpu().numpy().copy()\n    a[:] = 0\n",
                unsafe=True, why=".cpu() of a model built here, on the host"),
        Invalid(_M + "w = model.weight.detach().numpy()\nrow = w[0]\nnp.copyto(row, 1.0)\n", line=4, col=5,
                fixed=_M + "w = model.weight.detach().numpy().copy()\nrow = w[0]\nnp.copyto(row, 1.0)\n", unsafe=True,
                why="through a row view"),
    ]


RULES = (Float64IntoFloat32Module, NonBlockingHostRead, RefilledBufferKept, WriteThroughParameterView)
