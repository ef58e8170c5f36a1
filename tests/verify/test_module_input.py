"""The verifier's "module_input" check (verify/module_input.py): TL501's `.float()` where a tensor is made from a
float64 array, the unfixed tensor shown to crash a float32 layer and the fixed one to run through it."""
from pathlib import Path

import pytest

from tensorlint.core.codes import FIX_CHECKS
from tensorlint.core.diagnostics import Diagnostic, Edit, Fix, Safety
from tensorlint.verify.core import Verifier
from tensorlint.verify.module_input import ModuleInputVerifier, free_names
from tensorlint.verify.snippets import snippet_kind

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "silent" / "TL501_float64_into_float32_module.py"
IMPORTS = {"np": ["module", "numpy"], "torch": ["module", "torch"]}


def _job(original: str, fixed: str, imports=IMPORTS) -> dict:
    check = FIX_CHECKS["TL501"]
    return {"kind": "module_input", "raises": [list(error) for error in check.raises], "dtypes": list(check.dtypes),
            "imports": imports, "candidates": [{"original": original, "fixed": fixed, "how": "expression",
                                                "flagged": [0, len(original)], "mode": "eval"}]}


def test_tl501_declares_the_module_input_snippet():
    assert snippet_kind(["TL501"]) == "module_input"
    assert FIX_CHECKS["TL501"].dtypes == ("float64",)


def test_free_names_are_the_arrays():
    assert free_names("torch.as_tensor(pixels / 255.0 - mean)", IMPORTS) == ["mean", "pixels"]


@pytest.mark.parametrize("original, fixed", [
    ("torch.from_numpy(x)", "torch.from_numpy(x).float()"),
    ("torch.as_tensor(img / 255.0)", "torch.as_tensor(img / 255.0).float()"),
    ("torch.tensor(np.linspace(0.0, 1.0, 12).reshape(4, 3))",
     "torch.tensor(np.linspace(0.0, 1.0, 12).reshape(4, 3)).float()"),
])
def test_the_unfixed_float64_tensor_crashes_and_the_fixed_one_passes(original, fixed):
    result = ModuleInputVerifier().verify(_job(original, fixed))
    assert result["verdict"] == "PASS", result
    assert result["counts"]["error_removed"] == result["counts"]["bindings"] >= 1


@pytest.mark.parametrize("fixed, why", [
    ("torch.from_numpy(x).double()", "not the original's as float32"),
    ("torch.from_numpy(x).half()", "not the original's as float32"),
    ("torch.from_numpy(x * 2).float()", "not the original's as float32"),
    ("torch.from_numpy(x).float(", "does not compile"),
])
def test_a_wrong_fix_fails(fixed, why):
    result = ModuleInputVerifier().verify(_job("torch.from_numpy(x)", fixed))
    assert result["verdict"] == "FAIL" and why in result["reason"], result


def test_a_tensor_that_is_float32_already_shows_no_hazard():
    result = ModuleInputVerifier().verify(_job("torch.from_numpy(x).float()", "torch.from_numpy(x).float().float()"))
    assert result["verdict"] == "FAIL" and "no hazard shown" in result["reason"]


def test_the_fixture_fixes_pass_in_the_worker():
    source = FIXTURE.read_text()
    with Verifier(timeout=30) as verifier:
        verdicts = verifier.verify_source(source, str(FIXTURE), select=["TL501"])
        assert len(verdicts) == 3 and all(v.verdict == "PASS" for v in verdicts), verdicts
        start = source.index("torch.from_numpy(features)")
        wrong = Diagnostic(22, 28, "TL501", "fake", start_offset=start, end_offset=start + 26,
                           fix=Fix("fake", (Edit(start + 26, start + 26, ".double()"),), Safety.SAFE))
        (verdict,) = verifier.verify_diagnostics(source, [wrong], str(FIXTURE))
        assert verdict.verdict == "FAIL"
