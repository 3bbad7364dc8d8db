"""The twelve practice targets (SPEC.md §17) in the conformance harness: listed, the float32 torch
implementations of ``verification.conformance.examples_practice`` conform (values, and VJPs where
an input is differentiable), every wrong implementation of each family is rejected and names the
clause or claim it breaks, the search alone finds a bug, and library conventions are discovered."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from verification.conformance import check, examples_practice
from verification.conformance.table import TARGETS, get_target
from verification.conformance.wrong import Wrong, family

PRACTICE = ("aggregate_loss", "policy_loss", "value_loss", "kl_penalty", "token_logprobs", "token_entropy", "masked_whiten",
            "group_advantages", "rloo_advantages", "masked_gae", "preference_loss", "adaptive_kl_update")
FAST: dict[str, Any] = dict(isolation="in-process", claims=False, discover=False)


def test_all_twelve_are_targets_and_listed() -> None:
    assert set(PRACTICE) <= set(TARGETS)
    out = subprocess.run([sys.executable, "-m", "verification", "diff", "--list"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    for name in PRACTICE:
        assert name in out.stdout, name


@pytest.mark.parametrize("name", PRACTICE)
def test_float32_torch_example_conforms(name: str) -> None:
    fn = getattr(examples_practice, name)
    t = get_target(name)
    res = check(name, fn, examples=40, seed=0, inputs="torch", dtype="float32", **FAST)
    assert res.conforms, res.message()
    if t.differentiable:
        res = check(name, fn, examples=25, seed=1, inputs="torch", dtype="float32", grad=True, **FAST)
        assert res.conforms, res.message()


def _families() -> list[tuple[str, Wrong]]:
    return [(name, w) for name in PRACTICE for w in family(name)]


@pytest.mark.parametrize(("name", "wrong"), _families(), ids=[f"{n}:{w.name}" for n, w in _families()])
def test_wrong_implementation_is_rejected_with_its_clause_or_claim(name: str, wrong: Wrong) -> None:
    opts: dict[str, Any] = dict(wrong.options)
    res = check(name, wrong.fn, examples=60, seed=0, isolation="in-process", claims=True, claim_examples=5, discover=False, **opts)
    assert not res.conforms, f"{wrong.name} conforms on {name}"
    assert res.failing_clauses or res.claims_broken or not res.formula_ok or res.wrt, res.message()


def test_every_practice_family_has_four_members() -> None:
    short = [n for n in PRACTICE if len(family(n)) < 4]
    assert not short, f"targets with fewer than four wrong implementations: {short}"


def test_the_search_alone_finds_a_bug() -> None:
    wrong = next(w for w in family("group_advantages") if w.name == "mutant:group-none-still-divides")
    res = check("group_advantages", wrong.fn, examples=100, seed=0, pinned=False, **FAST)
    assert not res.conforms and "pinned" not in res.found_by, res.message()


def test_gradient_bugs_conform_on_values_and_fail_grad() -> None:
    for name, bug in (("policy_loss", "ratio-from-detached-logp"), ("value_loss", "unclipped-branch-detached")):
        w = next(x for x in family(name) if x.name == bug)
        assert check(name, w.fn, examples=30, inputs="torch", dtype="float32", **FAST).conforms
        res = check(name, w.fn, examples=30, inputs="torch", dtype="float32", grad=True, **FAST)
        assert not res.conforms and res.wrt, res.message()


def _verl_aggregate(loss: Any, mask: Any, mode: str = "token_mean", norm_length: Any = None) -> Any:
    import torch

    out = examples_practice.aggregate_loss(loss, mask, mode, norm_length)
    if mode == "seq_mean_token_sum_norm":
        out = out * torch.as_tensor(loss).shape[0]  # verl: no 1/B
    return out


def test_conventions_are_discovered() -> None:
    res = check("aggregate_loss", str(Path(__file__).resolve()) + ":_verl_aggregate", examples=60, seed=0, claims=False)
    assert not res.conforms and res.conforms_under == {"norm_batch": False}, res.message()
    res = check("aggregate_loss", _verl_aggregate, examples=40, fix={"norm_batch": False}, **FAST)
    assert res.conforms, res.message()
