"""Which local names mean which modules: `np` → numpy, `nn` → torch.nn, `f` → numpy.float."""
from __future__ import annotations

from typing import Dict, Iterable, Optional

import libcst as cst

from tensorlint.analysis.walk import descendants

OTHER_ARRAY_FRAMEWORKS = ("tensorflow", "jax", "cupy", "mxnet", "paddle", "keras", "mindspore", "oneflow")
# Frameworks whose values carry a `.data` of their own (chainer's Variable: its NumPy/CuPy array) and tensor-like
# methods (`reshape`, `log_softmax`): in their files a method name says nothing about whose `.data` it is.
FRAMEWORKS_WITH_DATA = ("chainer",)


def dotted_name(node: cst.BaseExpression) -> Optional[str]:
    """`a.b.c` → "a.b.c"; None for anything that is not a plain dotted name."""
    parts = []
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


class ImportMap:
    def __init__(self, project=None) -> None:
        """`project` (a `ProjectContext`) resolves relative imports and star imports of the project's modules."""
        self.project = project
        self.names: Dict[str, str] = {}
        self.top_level_modules: set = set()
        self.star_imports: list = []  # modules imported with `*` (relative ones as written: ".optim")

    def record(self, stmt: cst.CSTNode) -> None:
        if isinstance(stmt, cst.Import):
            for alias in stmt.names:
                full = dotted_name(alias.name)
                if full is None:
                    continue
                self.top_level_modules.add(full.split(".")[0])
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.names[alias.asname.name.value] = full
                else:
                    top = full.split(".")[0]
                    self.names[top] = top
        elif isinstance(stmt, cst.ImportFrom):
            module = dotted_name(stmt.module) if stmt.module is not None else ""
            if stmt.relative and module is not None:  # `from .utils import to_np`: absolute when the module is known
                module = self.project.absolute(len(stmt.relative), module or None) if self.project else None
            if isinstance(stmt.names, cst.ImportStar):
                self.star_imports.append(module or "")  # "": a relative module this check cannot place
                return
            if not module:
                return
            self.top_level_modules.add(module.split(".")[0])
            if isinstance(stmt.names, cst.ImportStar):
                return
            for alias in stmt.names:
                if not isinstance(alias.name, cst.Name):
                    continue
                local = alias.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    local = alias.asname.name.value
                self.names[local] = f"{module}.{alias.name.value}"

    def record_all(self, statements: Iterable[cst.CSTNode], top: bool = True) -> None:
        """Record imports of a statement list, looking into top-level if/try blocks (optional imports)."""
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    self.record(small)
            elif isinstance(stmt, (cst.If, cst.Try, cst.TryStar)):
                self.record_all(_blocks_of(stmt), top=False)
        if top and self.star_imports:
            self._conventional_names()

    def _conventional_names(self) -> None:
        """`from .torch_core import *` then `torch.nn.Linear(...)`: a name the file uses without importing it
        comes from the star import. What the project's module binds is known across a project run; otherwise
        `torch`, `nn`, `F`, `np` mean what they mean everywhere."""
        for module in self.star_imports:
            exported = self.project.star(module) if self.project is not None and module else None
            for local, qualified in (exported or {}).items():
                self.names.setdefault(local, qualified)
                self.top_level_modules.add(qualified.split(".")[0])
        for local, module in _CONVENTIONAL.items():
            self.names.setdefault(local, module)
        self.top_level_modules.update(("torch", "numpy"))

    def forget(self, local: str) -> None:
        self.names.pop(local, None)

    def qualified(self, node: cst.BaseExpression) -> Optional[str]:
        """Fully qualified name of an expression that is an imported name, e.g. `np.linalg.norm`."""
        dotted = dotted_name(node)
        if dotted is None:
            return None
        head, _, rest = dotted.partition(".")
        module = self.names.get(head)
        if module is None:
            return None
        return f"{module}.{rest}" if rest else module

    @property
    def imports_torch(self) -> bool:
        return "torch" in self.top_level_modules

    @property
    def imports_other_array_framework(self) -> bool:
        return any(m in self.top_level_modules for m in OTHER_ARRAY_FRAMEWORKS)

    @property
    def imports_framework_with_data(self) -> bool:
        return any(m in self.top_level_modules for m in FRAMEWORKS_WITH_DATA)

    @property
    def torch_only(self) -> bool:
        """The file imports torch and no other array framework with a `.numpy()` of its own."""
        return self.imports_torch and not self.imports_other_array_framework

    @property
    def numpy_method_is_not_torch(self) -> bool:
        """`.numpy()` here belongs to TensorFlow/JAX: the file imports them and not torch."""
        return self.imports_other_array_framework and not self.imports_torch


_CONVENTIONAL = {"torch": "torch", "nn": "torch.nn", "F": "torch.nn.functional", "np": "numpy", "numpy": "numpy"}


def _blocks_of(stmt) -> Iterable[cst.CSTNode]:
    body = getattr(stmt, "body", None)
    if body is not None:
        yield from getattr(body, "body", ())
    for handler in getattr(stmt, "handlers", ()) or ():
        yield from handler.body.body
    for attr in ("orelse", "finalbody"):
        extra = getattr(stmt, attr, None)
        if extra is None:
            continue
        if isinstance(extra, cst.If):
            yield extra
        else:
            yield from getattr(extra.body, "body", ())


_OTHER_FRAMEWORK_WORDS = OTHER_ARRAY_FRAMEWORKS + ("tf", "jnp", "caffe", "coreml", "coremltools", "onnx", "onnxruntime",
                                                  "openvino", "tensorrt", "sklearn", "paddlepaddle", "mlx")


def names_other_framework(test: cst.BaseExpression, imports: "ImportMap") -> bool:
    """Does a branch test mention another framework: a name bound to one (`tf.Tensor`), or a string naming one
    (`backend == "tensorflow"`)? Its arm handles that framework's objects, whatever their method names."""
    for node in descendants(test):
        if isinstance(node, (cst.Name, cst.Attribute)):
            qualified = imports.qualified(node) or dotted_name(node) or ""
            if qualified.split(".", 1)[0].lower() in _OTHER_FRAMEWORK_WORDS:
                return True
        elif isinstance(node, cst.SimpleString):
            text = node.value.strip("'\"rbuRBU").lower()
            if text in _OTHER_FRAMEWORK_WORDS or text in ("tensorflow", "keras", "jax", "pt_tf", "np_tf"):
                return True
    return False
