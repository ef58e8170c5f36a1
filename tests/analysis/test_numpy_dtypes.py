"""What the analysis knows of a NumPy array's dtype, of a tensor made from one, and of a module's parameters'
dtype (analysis/numpy_dtypes.py): only what the code shows. Each case was checked on NumPy 2.4.6 / torch 2.13."""
import pytest

from test_analysis import reveal  # the `reveal(expr)` probe of the shared analysis

from tensorlint.analysis.numpy_dtypes import float64_from_array, has_default_parameters


def dtype_of(body: str):
    return reveal(body, view=lambda facts: facts.dtype)


ARRAYS = [
    ("reveal(np.zeros(3))\n", "float64", "np.zeros"),
    ("reveal(np.ones((2, 3)))\n", "float64", "np.ones"),
    ("reveal(np.empty(3))\n", "float64", "np.empty"),
    ("reveal(np.random.rand(3, 4))\n", "float64", "np.random.rand"),
    ("reveal(np.random.randn(3))\n", "float64", "np.random.randn"),
    ("reveal(np.random.uniform(0, 1, 3))\n", "float64", "np.random.uniform"),
    ("reveal(np.random.normal(0, 1, size=3))\n", "float64", "np.random.normal"),
    ("reveal(np.linspace(0, 1, 5))\n", "float64", "np.linspace"),
    ("reveal(np.loadtxt('a.csv'))\n", "float64", "np.loadtxt's default dtype is float"),
    ("reveal(np.full(3, 0.5))\n", "float64", "np.full with a float"),
    ("reveal(np.full(3, 1))\n", "int64", "np.full with an int"),
    ("reveal(np.arange(0.0, 1.0, 0.1))\n", "float64", "np.arange with floats"),
    ("reveal(np.arange(3))\n", "int64", "np.arange with ints"),
    ("reveal(np.array([0.5, 1]))\n", "float64", "np.array of a float among ints"),
    ("reveal(np.array([[1, 2], [3, 4]]))\n", "int64", "np.array of ints"),
    ("reveal(np.zeros(3, dtype=np.float32))\n", "float32", "dtype=np.float32"),
    ("reveal(np.zeros(3, dtype='float32'))\n", "float32", "dtype='float32'"),
    ("reveal(np.zeros(3, dtype=float))\n", "float64", "dtype=float"),
    ("reveal(np.random.rand(3).astype(np.float32))\n", "float32", ".astype(np.float32)"),
    ("reveal(np.zeros(3, dtype=np.uint8).astype('float64'))\n", "float64", ".astype('float64')"),
    ("a = np.random.rand(3, 4)\nreveal(a.reshape(4, 3).T[0])\n", "float64", "views and indexing keep it"),
    ("a = np.random.rand(3, 4)\nreveal(a * 2 + 1.5)\n", "float64", "float64 with numbers"),
    ("a = np.zeros(3, dtype=np.float32)\nreveal(a * 0.5)\n", "float32", "float32 * Python float stays float32"),
    ("a = np.zeros(3, dtype=np.float32)\nreveal(a / 255)\n", "float32", "float32 / Python int stays float32"),
    ("img = np.zeros((2, 2), dtype=np.uint8)\nreveal(img / 255.0)\n", "float64", "an int array / a float"),
    ("img = np.arange(4)\nreveal(img / 2)\n", "float64", "true division of ints"),
    ("a = np.zeros(3, dtype=np.float32)\nreveal(a + np.zeros(3))\n", "float64", "float32 + float64 array"),
    ("reveal(np.stack([np.zeros(3), np.ones(3)]))\n", "float64", "a join of float64 arrays"),
    ("a = np.random.rand(3)\nreveal(np.asarray(a))\n", "float64", "np.asarray keeps it"),
]

UNKNOWN_ARRAYS = [
    ("reveal(np.load('a.npy'))\n", "np.load: what the file holds"),
    ("reveal(adata.X)\n", "another library's attribute"),
    ("def f(x):\n    reveal(np.asarray(x))\n", "a parameter"),
    ("reveal(np.zeros(3, dtype=dt))\n", "a dtype chosen at run time"),
    ("reveal(np.zeros(3) if flag else np.zeros(3, dtype=np.float32))\n", "paths disagree"),
    ("img = np.zeros(3, dtype=np.uint8)\nreveal(img * 2)\n", "an int array times an int stays integer (not float64)"),
    ("a = np.zeros(3, dtype=np.float32)\nreveal(a * scale)\n", "a name of unknown kind"),
    ("a = np.zeros(3, dtype=np.float32)\nreveal(a + np.arange(3))\n", "float32 with an int array: depends on the width"),
    ("reveal(np.array(values))\n", "np.array of a value of unknown dtype"),
    ("reveal(np.arange(n))\n", "np.arange of a name"),
    ("reveal(np.random.rand())\n", "np.random.rand() is a Python float"),
    ("reveal(np.random.uniform(0, 1))\n", "a sampler without a size gives a Python float"),
]


@pytest.mark.parametrize("body, expected, why", ARRAYS, ids=[case[2] for case in ARRAYS])
def test_an_array_dtype_the_code_shows_is_known(body, expected, why):
    assert dtype_of(body) == [expected]


@pytest.mark.parametrize("body, why", UNKNOWN_ARRAYS, ids=[case[1] for case in UNKNOWN_ARRAYS])
def test_an_array_dtype_the_code_does_not_show_is_not_known(body, why):
    assert dtype_of(body) in ([None], ["int64"], ["uint8"])  # never a floating dtype nothing shows


def made_from_numpy(body: str):
    return reveal(body, view=lambda facts: float64_from_array(facts) is not None)


FROM_NUMPY = [
    ("reveal(torch.from_numpy(np.random.rand(3)))\n", True, "torch.from_numpy keeps float64"),
    ("reveal(torch.as_tensor(np.zeros(3)))\n", True, "torch.as_tensor"),
    ("reveal(torch.asarray(np.zeros(3)))\n", True, "torch.asarray"),
    ("reveal(torch.tensor(np.array([0.5, 1.5])))\n", True, "torch.tensor"),
    ("img = np.zeros((2, 2), dtype=np.uint8)\nreveal(torch.from_numpy(img / 255.0))\n", True, "img / 255.0"),
    ("def f(device):\n    x = torch.from_numpy(np.zeros(3)).to(device)\n    reveal(x.unsqueeze(0))\n", True,
     "moves and views keep it"),
    ("x = torch.from_numpy(np.zeros(3))\nreveal(x * 2.0)\n", True, "arithmetic with numbers keeps it"),
    ("reveal(torch.from_numpy(np.zeros(3)).float())\n", False, ".float()"),
    ("reveal(torch.tensor(np.zeros(3), dtype=torch.float32))\n", False, "dtype=torch.float32"),
    ("reveal(torch.FloatTensor(np.zeros(3)))\n", False, "torch.FloatTensor"),
    ("reveal(torch.from_numpy(np.zeros(3, dtype=np.float32)))\n", False, "a float32 array"),
    ("reveal(torch.from_numpy(np.load('a.npy')))\n", False, "an array of unknown dtype"),
    ("reveal(torch.from_numpy(np.zeros(3)).double())\n", False, ".double() says so on purpose"),
    ("reveal(torch.randn(3, dtype=torch.float64))\n", False, "a float64 tensor not made from NumPy"),
    ("reveal(torch.tensor([0.5, 1.5]))\n", False, "Python floats make float32"),
]


@pytest.mark.parametrize("body, expected, why", FROM_NUMPY, ids=[case[2] for case in FROM_NUMPY])
def test_a_tensor_made_from_a_float64_array(body, expected, why):
    assert made_from_numpy(body) == [expected]


def default_parameters(body: str):
    return reveal(body, view=has_default_parameters)


MODULES = [
    ("reveal(nn.Linear(3, 2))\n", True, "nn.Linear"),
    ("reveal(nn.Conv2d(1, 4, 3))\n", True, "nn.Conv2d"),
    ("reveal(nn.Sequential(nn.Linear(3, 2), nn.ReLU()))\n", True, "a Sequential starting with a Linear"),
    ("reveal(nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(3, 2)))\n", True,
     "parameter-free layers before the Linear"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 2)\n"
     "    def forward(self, x):\n        x = x.view(-1, 3)\n        x = F.relu(self.fc(x))\n        return x\n"
     "reveal(Net())\n", True, "a class that reshapes its input, then feeds it into a Linear"),
    ("def f(device):\n    m = nn.Linear(3, 2).to(device)\n    reveal(m)\n", True, ".to(device) keeps it"),
    ("reveal(nn.Linear(3, 2).weight)\n", True, "a parameter of a built layer"),
    ("reveal(nn.Linear(3, 2).double())\n", False, ".double()"),
    ("reveal(nn.Linear(3, 2).to(torch.float64))\n", False, ".to(torch.float64)"),
    ("def f(dtype):\n    reveal(nn.Linear(3, 2).to(dtype))\n", False, ".to(a dtype variable)"),
    ("reveal(nn.Linear(3, 2, dtype=torch.float64))\n", False, "built with dtype="),
    ("reveal(nn.Embedding(10, 3))\n", False, "an embedding takes indices"),
    ("reveal(nn.Sequential(nn.Embedding(10, 3), nn.Linear(3, 2)))\n", False, "a Sequential starting otherwise"),
    ("reveal(nn.Sequential(nn.BatchNorm1d(3), nn.Linear(3, 2)))\n", False, "a layer this module does not know"),
    ("reveal(nn.Sequential(*layers))\n", False, "layers built elsewhere"),
    ("reveal(torch.load('m.pt'))\n", False, "a loaded module"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 2)\n"
     "    def forward(self, x):\n        return self.fc(x.view(-1, 3))\nreveal(Net())\n", True,
     "a class whose forward feeds its input into a Linear"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.fc = nn.Linear(3, 2)\n"
     "    def forward(self, x):\n        x = x.float()\n        return self.fc(x)\nreveal(Net())\n", False,
     "a class whose forward casts its input first"),
    ("class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n        self.emb = nn.Embedding(3, 2)\n"
     "    def forward(self, x):\n        return self.emb(x)\nreveal(Net())\n", False, "a class that embeds its input"),
]


@pytest.mark.parametrize("body, expected, why", MODULES, ids=[case[2] for case in MODULES])
def test_a_module_with_float32_parameters_by_default(body, expected, why):
    assert default_parameters(body) == [expected]


def test_a_float32_module_does_not_say_its_output_is_float32():
    # under autocast a float32 module computes in bfloat16: its output's dtype is left unknown
    assert dtype_of("m = nn.Linear(3, 2)\nreveal(m(x))\n") == [None]
