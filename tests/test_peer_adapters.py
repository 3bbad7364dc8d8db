"""The peer adapters' machinery (SPEC.md §13.5–§13.6): direct comparison, stand-ins, registry.

The libraries themselves (TRL, verl, OpenRLHF) are not installed in the test venv; the tests
that need one are skipped there and run in ``.venv-peers`` through
``python -m verification.adapters.findings`` (``make peers``).
"""

from __future__ import annotations

import importlib.util
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import reference.practice as rp
from verification.adapters import all_adapters
from verification.adapters._practice import PRACTICE_TARGETS, compare_direct
from verification.adapters._stub import absent_module, bare_package, function_from_file
from verification.adapters.findings import FINDINGS, reproduce


def test_the_reference_conforms_to_itself_on_every_practice_target() -> None:
    for target in PRACTICE_TARGETS:
        res = compare_direct(target, getattr(rp, target), examples=8, seed=1)
        assert res.conforms, res.message()


def _entropy_nan_at_neg_inf(logits: Any, temperature: float) -> Any:
    """The libraries' formula: −Σ p·log p with log p = −inf where p = 0 (0·(−inf) = NaN)."""
    z = np.asarray(logits, dtype=np.float32) / np.float32(temperature)
    lp = z - np.logaddexp.reduce(z, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return -(np.exp(lp) * lp).sum(-1)


def test_a_nan_entropy_is_found_and_shrunk_to_one_position() -> None:
    res = compare_direct("token_entropy", _entropy_nan_at_neg_inf, examples=60, seed=0)
    assert not res.conforms
    f = res.failures[0]
    assert "NaN" in f.reason and np.isneginf(f.inputs["logits"]).any()
    assert f.inputs["logits"].shape[:2] == (1, 1)  # shrunk to one position


def _logprobs_in_place(logits: Any, tokens: Any, temperature: float) -> Any:
    logits /= temperature  # the bug class: the caller's logits are divided in place
    return rp.token_logprobs(logits, tokens, 1.0)


def test_an_in_place_change_of_an_input_is_a_disagreement() -> None:
    res = compare_direct("token_logprobs", _logprobs_in_place, space={"temperature": (2.0,)}, examples=10, seed=0)
    assert not res.conforms and "in place" in res.failures[0].reason


def test_a_convention_pinned_with_fix_is_compared_under_it() -> None:
    def clamped(logp: Any, ref_logp: Any, kind: str) -> Any:
        return rp.kl_penalty(logp, ref_logp, kind, clamp=10.0)

    assert not compare_direct("kl_penalty", clamped, examples=60, seed=0).conforms  # |k1| > 10 is drawn or pinned
    assert compare_direct("kl_penalty", clamped, fix={"clamp": 10.0}, examples=30, seed=0).conforms


def test_space_restricts_the_drawn_arguments() -> None:
    seen: set[str] = set()

    def agg(loss: Any, mask: Any, mode: str, norm_length: Any) -> float:
        seen.add(mode)
        return rp.aggregate_loss(loss, mask, mode, norm_length)

    assert compare_direct("aggregate_loss", agg, space={"mode": ("token_mean",)}, examples=15, seed=0).conforms
    assert seen == {"token_mean"}


def test_bare_package_skips_the_init_and_absent_module_is_temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "peerpkg_x"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise ImportError('needs a GPU runtime')\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "maths.py").write_text("import not_installed_runtime_x\nfrom typing import Any\n\ndef double(x: Any) -> Any:\n    return 2 * x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    bare_package("peerpkg_x")
    with absent_module("not_installed_runtime_x"):
        maths = importlib.import_module("peerpkg_x.sub.maths")
    assert maths.double(3) == 6
    assert "not_installed_runtime_x" not in sys.modules
    with pytest.raises(RuntimeError, match="stand-in"):
        maths.not_installed_runtime_x.Something()
    for name in [n for n in sys.modules if n.startswith("peerpkg_x")]:
        del sys.modules[name]


def test_function_from_file_compiles_one_method_alone(tmp_path: Path) -> None:
    src = tmp_path / "heavy.py"
    src.write_text(textwrap.dedent("""\
        import a_distributed_runtime_that_is_missing

        class Maker:
            @a_distributed_runtime_that_is_missing.no_grad()
            def gae_like(self, x, k):
                return [v * k for v in x]
        """))
    fn = function_from_file(src, "Maker.gae_like", {})
    assert fn(None, [1, 2], 3) == [3, 6]


def test_every_adapter_names_a_target_and_its_stand_in_or_reason() -> None:
    from verification.conformance import TARGETS

    adapters = all_adapters()
    assert {a.library for a in adapters} >= {"trl", "verl", "openrlhf"}
    for a in adapters:
        assert a.target in PRACTICE_TARGETS or a.target in TARGETS, a.name
        for k, v in a.space.items():
            assert k in PRACTICE_TARGETS.get(a.target, (k,)), (a.name, k)
            assert isinstance(v, tuple) and v, (a.name, k)
        if a.library in ("verl", "openrlhf") and a.unavailable is None:
            assert a.stand_in, a.name
    assert len({a.name for a in adapters}) == len(adapters)


@pytest.mark.parametrize("finding", FINDINGS, ids=[f"{f.library}-{f.fid}" for f in FINDINGS])
def test_documented_peer_finding_reproduces(finding: Any) -> None:
    if importlib.util.find_spec(finding.library) is None:
        pytest.skip(f"{finding.library} not installed (make peers-setup)")
    ok, expected, got = reproduce(finding)
    assert ok, f"{finding.library} {finding.fid} no longer reproduces: expected {expected!r}, got {got!r}"
