"""The conformance harness on its targets: every wrong implementation is rejected, every correct
float32 one accepted, reproducers run, and the claims that use a target are picked up."""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import reference
from verification.conformance import (
    Case,
    MatrixOperator,
    TARGETS,
    ConformanceResult,
    get_target,
    strategy,
    targets,
)
from verification.conformance import assert_conforms as _assert_conforms
from verification.conformance import check as _check
from verification.conformance.examples import FLOAT32
from verification.conformance.table import K, U32
from verification.conformance.wrong import Wrong, family

ROOT = Path(__file__).resolve().parent.parent


def check(*args: Any, **kwargs: Any) -> ConformanceResult:
    """Our own implementations (trusted), so in-process for speed; the default worker isolation
    has its own tests (test_conformance_harness.py, test_hostile.py)."""
    return _check(*args, isolation="in-process", **kwargs)


def assert_conforms(*args: Any, **kwargs: Any) -> ConformanceResult:
    return _assert_conforms(*args, isolation="in-process", **kwargs)

#: §17's practice targets have their own suite (tests/test_practice_conformance.py: clauses and claims named)
WRONG = [w for t in TARGETS if not get_target(t).section.startswith("§17") for w in family(t)]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: thread pools only add latency
    yield
    torch.set_num_threads(n)


def test_target_table_is_complete() -> None:
    names = [t.name for t in targets() if not t.section.startswith("§17")]  # §17: tests/test_practice_conformance.py
    assert names == ["returns", "td_residuals", "gae", "ppo_clip", "kl_beta_update", "natural_step", "conjugate_gradient",
                     "min_variance_baseline", "bt_loss", "dpo_loss", "kl_rewards"]
    for t in targets():
        assert callable(t.reference) and hasattr(reference, t.reference_name)
        assert t.signature.startswith("(") and "->" in t.signature
        assert t.examples, f"{t.name} has no pinned edge cases"
        for ex in t.examples:  # the pinned cases are valid inputs of the reference
            np.asarray(t.expected(Case(t.name, ex)))
    assert get_target("returns").reference is reference.discounted_returns


def test_every_target_has_a_family_of_wrong_implementations() -> None:
    for t in TARGETS:
        assert len(family(t)) >= 4, f"{t}: at least four kinds of bug"


@pytest.mark.parametrize("wrong", WRONG, ids=[f"{w.target}:{w.name}" for w in WRONG])
def test_wrong_implementation_is_rejected(wrong: Wrong) -> None:
    res = check(wrong.target, wrong.fn, examples=100, claims=False, discover=False, **wrong.options)
    assert not res.conforms, f"{wrong.target}:{wrong.name} ({wrong.bug}) was accepted"
    assert res.counterexample is not None and res.reason
    assert "reproduce (paste into python):" in res.message()


#: One bug per target, found by the search alone (pinned edge cases off): the strategies reach
#: the regions where these bugs show.
SEARCH_ONLY = [
    ("returns", "excludes-current"), ("td_residuals", "no-termination-mask"), ("gae", "truncation-as-termination"),
    ("gae", "recursion-not-cut"), ("ppo_clip", "clip-without-min"), ("kl_beta_update", "factor-1.5"),
    ("natural_step", "no-factor-2"), ("conjugate_gradient", "wrong-beta"), ("min_variance_baseline", "scalar-baseline"),
    ("bt_loss", "unstable-log-sigmoid"), ("dpo_loss", "no-reference"), ("kl_rewards", "score-at-count"),
]


@pytest.mark.parametrize(("target", "name"), SEARCH_ONLY, ids=[f"{t}:{n}" for t, n in SEARCH_ONLY])
def test_search_alone_finds_and_shrinks(target: str, name: str) -> None:
    (wrong,) = [w for w in family(target) if w.name == name]
    res = check(target, wrong.fn, examples=150, claims=False, pinned=False)
    assert not res.conforms, f"{target}:{name} survived the search without the pinned cases"
    assert res.found_by.startswith("Hypothesis search")
    assert res.counterexample is not None


@pytest.mark.parametrize("target", list(FLOAT32))
def test_float32_torch_implementation_conforms(target: str) -> None:
    res = check(target, FLOAT32[target], examples=150)
    assert res.conforms, res.message()
    assert res.got_dtype == "float32"
    assert res.error_ratio <= 1.0
    assert not res.claims_broken


def test_half_precision_is_rejected_but_float32_is_not() -> None:
    # The policy's two sides on one target: float32 round-off passes, float16's (~2^-11) fails.
    half = [w for w in family("gae") if w.name == "float16"][0]
    assert not check("gae", half.fn, examples=100, claims=False).conforms
    assert check("gae", FLOAT32["gae"], examples=100, claims=False).conforms


def test_tolerance_bound_by_hand() -> None:
    # returns([1, -2, 3], γ = 1/2): S = (1 + 1 + 0.75, 2 + 1.5, 3) and c = (13, 10, 7).
    t = get_target("returns")
    inputs = {"rewards": np.array([1.0, -2.0, 3.0]), "gamma": 0.5}
    b = t.bound(inputs, t.expected(Case("returns", inputs)))
    np.testing.assert_allclose(b.scale, [2.75, 3.5, 3.0])
    np.testing.assert_allclose(b.ops, [13.0, 10.0, 7.0])
    np.testing.assert_allclose(b.allowed(), K * b.ops * (U32 * b.scale + 2.0**-126 * (1.0 + np.array([3.0, 3.0, 3.0]))))
    # gae: the scale restarts at each episode end.
    g = get_target("gae")
    inp = {"rewards": np.array([1.0, 1.0]), "values": np.array([0.0, 0.0]), "next_values": np.array([0.0, 0.0]),
           "terminated": np.array([True, False]), "truncated": np.array([False, False]), "gamma": 1.0, "lam": 1.0}
    b = g.bound(inp, g.expected(Case("gae", inp)))
    np.testing.assert_allclose(b.scale, [1.0, 1.0])
    np.testing.assert_allclose(b.ops, [11.0, 11.0])


def test_an_error_ten_times_float32_roundoff_is_rejected() -> None:
    # An implementation off by 10x the float32 first-order bound c·u32·S at every element fails.
    def off(rewards: Any, gamma: float) -> Any:
        exp = reference.discounted_returns(rewards, gamma)
        b = get_target("returns").bound({"rewards": rewards, "gamma": gamma}, exp)
        return exp + 10.0 * b.ops * U32 * b.scale

    res = check("returns", off, examples=50, claims=False)
    assert not res.conforms and res.reason.startswith("value differs")


def test_kl_beta_update_accepts_either_branch_at_a_band_edge() -> None:
    t = get_target("kl_beta_update")
    edge = {"beta": 1.0, "kl": 0.01 / 1.5, "kl_target": 0.01}
    alts = [float(a) for a in t.alternatives(edge)] if t.alternatives else []
    assert sorted(alts) == [0.5, 1.0]
    assert t.alternatives is not None and t.alternatives({"beta": 1.0, "kl": 0.005, "kl_target": 0.01}) == []


def test_reference_cg_has_converged_on_every_drawn_case_with_iters_past_n() -> None:
    # The CG target compares with the float64 reference's k-th iterate (k = iters, drawn in
    # [1, 2n + 4]); where k >= n + 2 that iterate must already be A⁻¹b (κ <= 1e4 for n <= 6,
    # <= 1e2 beyond).  Earlier iterates are checked against the Krylov minimizer in test_conformance_v2.
    from hypothesis import given, settings

    @settings(max_examples=150, deadline=None, database=None, derandomize=True)
    @given(strategy("conjugate_gradient"))
    def inner(case: Case) -> None:
        a = case.inputs["matvec"].matrix
        n = a.shape[0]
        assert np.linalg.cond(a) <= (1.0001e4 if n <= 6 else 1.0001e2)
        if case.inputs["iters"] >= n + 2:
            exact = np.linalg.solve(a, case.inputs["b"])
            got = get_target("conjugate_gradient").expected(case)
            assert np.max(np.abs(got - exact)) <= 1e-9 * np.max(np.abs(exact))

    inner()


def test_strategies_reach_the_interesting_regions() -> None:
    from hypothesis import given, settings

    seen: dict[str, bool] = {k: False for k in ("term-first", "term-last", "trunc-mid", "back-to-back", "T1", "lam0", "gamma1",
                                                "ratio-below", "ratio-above", "ratio-inside", "A0", "Aneg", "huge-margin", "mask-prefix")}

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(strategy("gae"))
    def rollouts(case: Case) -> None:
        te, tr = case.inputs["terminated"], case.inputs["truncated"]
        done = te | tr
        n = te.shape[0]
        seen["T1"] |= n == 1
        seen["term-first"] |= bool(te[0]) and n > 1
        seen["term-last"] |= bool(te[-1]) and n > 1
        seen["trunc-mid"] |= bool(np.any(tr[1:-1] & ~te[1:-1]))
        seen["back-to-back"] |= bool(np.any(done[:-1] & done[1:]))
        seen["lam0"] |= case.inputs["lam"] == 0.0
        seen["gamma1"] |= case.inputs["gamma"] == 1.0

    @settings(max_examples=300, deadline=None, database=None, derandomize=True)
    @given(strategy("ppo_clip"))
    def ratios(case: Case) -> None:
        eps = case.inputs["epsilon"]
        rho = np.exp(case.inputs["logp_new"] - case.inputs["logp_old"])
        a = case.inputs["advantages"]
        seen["ratio-below"] |= bool(np.any(rho < 1 - eps))
        seen["ratio-above"] |= bool(np.any(rho > 1 + eps))
        seen["ratio-inside"] |= bool(np.any((rho > 1 - eps) & (rho < 1 + eps)))
        seen["A0"] |= bool(np.any(a == 0))
        seen["Aneg"] |= bool(np.any(a < 0))

    @settings(max_examples=200, deadline=None, database=None, derandomize=True)
    @given(strategy("bt_loss"), strategy("kl_rewards"))
    def rlhf(bt: Case, kl: Case) -> None:
        seen["huge-margin"] |= bool(np.any(np.abs(bt.inputs["r_chosen"] - bt.inputs["r_rejected"]) > 1000))
        seen["mask-prefix"] |= bool(np.any(~kl.inputs["mask"][:, 0] & kl.inputs["mask"].any(axis=1)))

    rollouts()
    ratios()
    rlhf()
    assert all(seen.values()), [k for k, v in seen.items() if not v]


def test_snippet_is_runnable_and_reproduces(tmp_path: Path) -> None:
    wrong = [w for w in family("gae") if w.name == "truncation-as-termination"][0]
    spec_file = tmp_path / "buggy.py"
    spec_file.write_text(
        "from verification.conformance.wrong import family\n"
        "gae = [w for w in family('gae') if w.name == 'truncation-as-termination'][0].fn\n"
    )
    res = check("gae", f"{spec_file}:gae", examples=50, claims=False)
    assert not res.conforms
    assert f"load_implementation('{spec_file}:gae')" in res.snippet
    proc = subprocess.run([sys.executable, "-c", res.snippet + "\nassert not np.allclose(expected, got)\nprint('REPRODUCED')"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "REPRODUCED" in proc.stdout
    assert callable(wrong.fn)


def test_api_snippet_for_an_importable_callable() -> None:
    from verification.conformance.wrong import _gae_nocut

    res = check("gae", _gae_nocut, examples=20, claims=False)
    assert "from verification.conformance.wrong import _gae_nocut as impl" in res.snippet
    ns: dict[str, Any] = {}
    exec(res.snippet, ns)  # noqa: S102 - our own generated snippet
    assert not np.allclose(ns["expected"], ns["got"])


def test_assert_conforms_raises_with_the_report() -> None:
    with pytest.raises(AssertionError) as info:
        assert_conforms("ppo_clip", [w for w in family("ppo_clip") if w.name == "max-not-min"][0].fn, examples=20, claims=False)
    text = str(info.value)
    for part in ("ppo_clip: DOES NOT CONFORM", "expected:", "got:", "max error:", "reproduce (paste into python):"):
        assert part in text
    assert assert_conforms("ppo_clip", reference.ppo_clip, examples=20).conforms


def test_claims_that_use_the_target_are_run_and_reported() -> None:
    # returns -> reference.discounted_returns, used by RET-FAST-EQUALS-LITERAL and VF-REGRESSION.
    bug = [w for w in family("returns") if w.name == "no-discount"][0]
    res = check("returns", bug.fn, examples=50)
    assert {"RET-FAST-EQUALS-LITERAL", "VF-REGRESSION"} <= set(res.claims_checked)
    assert "RET-FAST-EQUALS-LITERAL" in res.claims_broken
    assert "claims broken: " in res.message() and "RET-FAST-EQUALS-LITERAL" in res.message()
    ok = check("returns", FLOAT32["returns"], examples=50, claims=True)
    assert ok.conforms and not ok.claims_broken and "VF-REGRESSION" in ok.claims_checked


def test_new_claims_are_picked_up_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    # A claim registered later (issue 3's GAE claims) that lists 'gae' in `uses` is run with the
    # implementation in place: nothing in the harness names claims.
    from hypothesis import strategies as st

    from verification import Claim, Impl, Measurement
    from verification.conformance import harness

    def chk(case: Any, impl: Impl) -> Measurement:
        r, lam = case
        z = np.zeros_like(r)
        f = np.zeros(r.shape, dtype=bool)
        got = impl.gae(r, z, z, f, f, 1.0, lam)
        return Measurement(float(np.max(np.abs(got - reference.discounted_returns(r, lam)))))

    fake = Claim("GAE-ZERO-VALUES-IS-RETURN", "t", "s", "§6", ("X-GAE-FINITE",), "m", 1e-9, "why",
                 lambda: st.tuples(st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=6).map(np.array), st.sampled_from([0.5, 1.0])),
                 chk, ("gae",))
    monkeypatch.setattr(harness, "all_claims", lambda: [fake])
    ok = check("gae", FLOAT32["gae"], examples=30, claims=True)
    assert ok.claims_checked == ["GAE-ZERO-VALUES-IS-RETURN"] and not ok.claims_broken
    # γ in place of γλ: with V = 0 and γ = 1 the advantage becomes the undiscounted return
    res = check("gae", [w for w in family("gae") if w.name == "gamma-not-gamma-lambda"][0].fn, examples=30)
    assert not res.conforms and res.claims_broken == ["GAE-ZERO-VALUES-IS-RETURN"]
    # λ in place of γλ is right when γ = 1, so it breaks the target but not this claim
    res = check("gae", [w for w in family("gae") if w.name == "lambda-not-gamma-lambda"][0].fn, examples=30)
    assert not res.conforms and res.claims_checked == ["GAE-ZERO-VALUES-IS-RETURN"] and not res.claims_broken


def test_claim_calls_outside_the_canonical_domain_use_the_reference() -> None:
    t = get_target("gae")
    assert t.split is not None
    # [T, N] input is split per column; an inconsistent rollout is outside the domain.
    r = np.ones((3, 2))
    f = np.zeros((3, 2), dtype=bool)
    sp = t.split((r, r, r, f, f, 0.9, 0.9), {})
    assert sp is not None and len(sp[0]) == 2
    assert t.split((r, np.zeros((3, 2)), r, f, f, 0.9, 0.9), {}) is None
    cg = get_target("conjugate_gradient")
    assert cg.split is not None
    a = np.array([[2.0, 0.0], [0.0, 1.0]])
    assert cg.split((MatrixOperator(a), np.ones(2), 2), {}) is None  # iters < n + 2
    sp = cg.split((lambda x: a @ x, np.ones(2), 4), {})
    assert sp is not None and np.array_equal(sp[0][0]["matvec"].matrix, a)
    mv = get_target("min_variance_baseline")
    assert mv.split is not None
    g = np.array([[1.0, 2.0], [3.0, 0.0]])
    w = np.array([0.25, 0.75])
    inputs, place = mv.split((g, np.array([1.0, 2.0])), {"weights": w})  # type: ignore[misc]
    scaled = reference.min_variance_baseline(inputs[0]["grad_logp"], inputs[0]["returns"])
    np.testing.assert_allclose(place([scaled]), reference.min_variance_baseline(g, np.array([1.0, 2.0]), weights=w), rtol=1e-14)


def test_kl_rewards_invalid_rows_are_reported_not_judged() -> None:
    res = check("kl_rewards", FLOAT32["kl_rewards"], examples=20, claims=False)
    assert res.conforms
    assert any("no response token" in n and "without raising" in n for n in res.notes)
    strict = check("kl_rewards", reference.kl_rewards, examples=20, claims=False)
    assert any("raises" in n for n in strict.notes)


def test_json_result_is_serializable() -> None:
    import json

    res = check("dpo_loss", [w for w in family("dpo_loss") if w.name == "no-reference"][0].fn, examples=20, claims=False)
    doc = json.loads(json.dumps(res.to_json()))
    assert doc["conforms"] is False and doc["counterexample"] and doc["snippet"]
    assert math.isfinite(doc["max_error"]) or isinstance(doc["max_error"], str)
