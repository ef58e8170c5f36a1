"""analysis/step_names.py: the name-level reading of step loops is a necessary condition of the libcst one."""
from __future__ import annotations

import ast

import libcst as cst
import pytest

from tensorlint.analysis import loops
from tensorlint.analysis.ast_scan import names_in
from tensorlint.analysis.step_names import (is_loader_name, is_step_evidence, iteration_kind, name_tokens,
                                            walks_layers)

ITERABLES = ["loader", "enumerate(train_loader)", "tqdm(dataloader)", "DataLoader(ds, 4)", "self.get_iterator(dataset)",
             "enumerate(pbar := tqdm(loader))", "Tqdm.tqdm(val_generator)", "tqdm(range(n))", "range(max_new_tokens)",
             "zip(xs, ys)", "items", "self.trainBatches", "trange(10)", "track(files)", "batch_iterator()"]


@pytest.mark.parametrize("iterable", ITERABLES)
def test_iteration_kind_covers_the_analysis(iterable):
    kind = iteration_kind(names_in(ast.parse(iterable, mode="eval")))
    expression = cst.parse_expression(iterable)
    if loops.iterates_data(expression):
        assert kind == "data"
    elif loops.iterates_steps(expression):
        assert kind in ("data", "count")


@pytest.mark.parametrize("call", ["loss.backward()", "accelerator.backward(loss)", "self.manual_backward(loss)",
                                  "optimizer.step()", "scaler.step(opt)", "self.optim_g.step()"])
def test_step_evidence_covers_step_calls(call):
    node = cst.parse_expression(call)
    assert loops.is_step_call(node) and is_step_evidence(node.func.attr.value)


def test_name_tokens_and_loader_names():
    assert name_tokens("trainLoader_2") == ["train", "loader"]
    assert is_loader_name("valDataset") and is_loader_name("batches") and not is_loader_name("settings")


@pytest.mark.parametrize("name, in_module_class, expected", [
    ("forward", False, True), ("forward", True, True), ("helper", True, True), ("generate", True, False),
    ("fit_one_epoch", True, False), ("helper", False, False),
])
def test_walks_layers(name, in_module_class, expected):
    assert walks_layers(name, in_module_class) is expected
