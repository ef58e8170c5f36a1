"""TL5: silent hazards at the torch/NumPy border. Each hazard's checker lives in its own module of this folder."""
from __future__ import annotations

from tensorlint.core.fix_check import FixCheck
from tensorlint.rules.base import Invalid, Rule, Valid

H = "import numpy as np\nimport torch\nimport torch.nn as nn\n"  # header shared by the TL501 cases


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
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3)).float())\n", ".float() first"),
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.tensor(np.random.rand(4, 3), dtype=torch.float32))\n",
              "dtype=torch.float32"),
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.FloatTensor(np.random.rand(4, 3)))\n", "torch.FloatTensor"),
        Valid(H + "m = nn.Linear(3, 2).double()\ny = m(torch.from_numpy(np.random.rand(4, 3)))\n",
              "a float64 model"),
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.load('x.npy')))\n", "an array of unknown dtype"),
        Valid(H + "def f(x):\n    m = nn.Linear(3, 2)\n    return m(torch.from_numpy(x))\n", "a parameter"),
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(adata.X))\n", "another library's array"),
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.zeros((4, 3), dtype=np.float32)))\n",
              "a float32 array"),
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3).astype(np.float32)))\n",
              ".astype(np.float32)"),
        Valid(H + "m = nn.Linear(3, 2)\nx = np.zeros((4, 3), dtype=np.float32) * 0.5\ny = m(torch.from_numpy(x))\n",
              "a float32 array times a Python float stays float32"),
        Valid(H + "e = nn.Embedding(10, 3)\ny = e(torch.from_numpy(np.arange(4)))\n", "integers into an embedding"),
        Valid(H + "loss = nn.MSELoss()\ny = loss(torch.from_numpy(np.zeros(3)), torch.zeros(3))\n",
              "a loss takes float64"),
        Valid(H + "torch.set_default_dtype(torch.float64)\nm = nn.Linear(3, 2)\n"
              "y = m(torch.from_numpy(np.random.rand(4, 3)))\n", "the default dtype is changed"),
        Valid(H + "m = nn.Linear(3, 2)\ny = m(torch.tensor([[0.5, 1.0, 2.0]]))\n", "Python floats make float32"),
        Valid(H + "m = torch.load('m.pt')\ny = m(torch.from_numpy(np.random.rand(4, 3)))\n",
              "a loaded model's dtype is not shown"),
        Valid(H + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.random.rand(4, 3))\ndef f():\n    return m(x)\n",
              "made in another function"),
    ]
    INVALID = [
        Invalid(H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3)))\n", line=5, col=7,
                fixed=H + "m = nn.Linear(3, 2)\ny = m(torch.from_numpy(np.random.rand(4, 3)).float())\n",
                why="torch.from_numpy"),
        Invalid(H + "def f(device):\n    m = nn.Conv2d(1, 4, 3).to(device)\n    img = np.zeros((1, 1, 8, 8), dtype=np.uint8)\n"
                "    x = torch.as_tensor(img / 255.0).to(device)\n    return m(x)\n", line=7, col=9,
                fixed=H + "def f(device):\n    m = nn.Conv2d(1, 4, 3).to(device)\n"
                "    img = np.zeros((1, 1, 8, 8), dtype=np.uint8)\n"
                "    x = torch.as_tensor(img / 255.0).float().to(device)\n    return m(x)\n",
                why="an image scaled by a Python float, moved to the device"),
        Invalid(H + "m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())\nx = torch.tensor(np.array([[0.5, 1.5]]))\ny = m(x)\n",
                line=5, col=5,
                fixed=H + "m = nn.Sequential(nn.Linear(2, 2), nn.ReLU())\n"
                "x = torch.tensor(np.array([[0.5, 1.5]])).float()\ny = m(x)\n",
                why="np.array of floats into a Sequential"),
        Invalid(H + "import torch.nn.functional as F\nlayer = nn.Linear(3, 2)\n"
                "y = F.linear(torch.from_numpy(np.linspace(0, 1, 3)), layer.weight)\n", line=6, col=14,
                fixed=H + "import torch.nn.functional as F\nlayer = nn.Linear(3, 2)\n"
                "y = F.linear(torch.from_numpy(np.linspace(0, 1, 3)).float(), layer.weight)\n",
                why="F.linear with a layer's weight"),
        Invalid(H + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                "        self.fc = nn.Linear(3, 2)\n    def forward(self, x):\n        return self.fc(x)\n"
                "net = Net()\nout = net(torch.from_numpy(np.ones((2, 3))))\n", line=11, col=11,
                fixed=H + "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                "        self.fc = nn.Linear(3, 2)\n    def forward(self, x):\n        return self.fc(x)\n"
                "net = Net()\nout = net(torch.from_numpy(np.ones((2, 3))).float())\n",
                why="a module class of the file"),
        Invalid(H + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.random.rand(4, 3))\nprint(x.sum())\ny = m(x)\n",
                line=5, col=5, unsafe=True,
                fixed=H + "m = nn.Linear(3, 2)\nx = torch.from_numpy(np.random.rand(4, 3)).float()\nprint(x.sum())\ny = m(x)\n",
                why="another use of the tensor sees float32 too: unsafe"),
    ]


RULES = (Float64IntoFloat32Module,)
