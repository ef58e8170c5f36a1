"""The fixes of the findings provenance v2 added (use-based evidence, same-file helper returns, `.data` in a
conversion chain) run, original and fixed, on real tensors: every one must PASS in `tensorlint verify`.
Inputs moved with `.cuda()` show the device (TL102) and `torch.nn.Module` annotations prove the models are torch
modules, so that each fix is a safe one (a model known only by its name could return an ndarray look-alike)."""
import json
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("numpy")

SOURCE = '''\
import numpy as np
import torch


def loss_value(criterion, out, y):
    loss = criterion(out.cuda(), y.cuda())
    loss.backward()
    return np.asarray(loss)


def features(model: torch.nn.Module, x):
    return model(x.cuda())


def embed(model: torch.nn.Module, x):
    return np.asarray(features(model, x))


def legacy(weight):
    return weight.data.cpu().numpy()


def first_row(out):
    return out.data[0].numpy()


def collected(model: torch.nn.Module, batches):
    history = []
    for batch in batches:
        history.append(model(batch.cuda()))
    return np.stack([h for h in history])
'''


def test_every_new_fix_passes_the_runtime_verifier(tmp_path):
    path = tmp_path / "new_findings.py"
    path.write_text(SOURCE)
    result = subprocess.run([sys.executable, "-m", "tensorlint", "verify", "--unsafe-fixes", "--format", "json",
                             str(path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    fixes = json.loads(result.stdout)["fixes"]
    found = [(fix["line"], tuple(fix["codes"]), fix["verdict"]) for fix in fixes]
    assert found == [(8, ("TL101", "TL102"), "PASS"), (16, ("TL101", "TL102"), "PASS"), (20, ("TL201",), "PASS"),
                     (24, ("TL201",), "PASS"), (30, ("TL404",), "PASS"), (31, ("TL101", "TL102"), "PASS")]
    assert all(fix["bindings"]["fail"] == 0 for fix in fixes)
