"""§9 reference functions against exact fractions, autograd, closed forms and hand-worked examples; bad input."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import reference
from verification.strategies.ppo import exact_log_ratio


def test_worked_example() -> None:
    # SPEC.md §9, ε = 0.2: (ρ, A) -> (L, ∂L/∂log π)
    rho = np.array([1.5, 0.5, 1.5, 0.5, 1.0])
    adv = np.array([2.0, 2.0, -2.0, -2.0, 5.0])
    lp, lo = np.log(rho), np.zeros(5)
    np.testing.assert_allclose(reference.ppo_clip(lp, lo, adv, 0.2), [2.4, 1.0, -3.0, -1.6, 5.0], rtol=1e-14)
    np.testing.assert_allclose(reference.ppo_clip_grad(lp, lo, adv, 0.2), [0.0, 1.0, -3.0, 0.0, 5.0], rtol=1e-14)
    np.testing.assert_allclose(reference.ppo_clip_cases(lp, lo, adv, 0.2), [2.4, 1.0, -3.0, -1.6, 5.0], rtol=1e-14)


def _exact_case_form(rho: float, a: float, eps: float) -> Fraction:
    r, A, e = Fraction(rho), Fraction(a), Fraction(eps)
    return min(r, 1 + e) * A if A >= 0 else max(r, 1 - e) * A


EDGE = 0.2
_LP_HI = exact_log_ratio(0.0, 1.0 + EDGE)
_LP_LO = exact_log_ratio(0.0, 1.0 - EDGE)
assert _LP_HI is not None and _LP_LO is not None


@given(
    st.floats(-2.0, 2.0),
    st.one_of(st.just(0.0), st.floats(-20.0, 20.0)),
    st.sampled_from([0.1, 0.2, 0.3]),
)
@example(_LP_HI, 3.0, EDGE)  # ρ exactly 1 + ε, A > 0
@example(_LP_HI, -3.0, EDGE)  # ρ exactly 1 + ε, A < 0
@example(_LP_LO, 3.0, EDGE)  # ρ exactly 1 − ε
@example(_LP_LO, -3.0, EDGE)
@example(0.0, 0.0, EDGE)  # A = 0
@example(1.5, 0.0, EDGE)  # A = 0 far outside the band
def test_clip_matches_exact_case_form(lp: float, a: float, eps: float) -> None:
    rho = math.exp(lp)  # the float ratio the reference also forms from (lp, 0)
    exact = _exact_case_form(rho, a, eps)
    got = reference.ppo_clip([lp], [0.0], [a], eps)[0]
    # the only rounding is the final product (1 ulp); 1+ε and 1−ε are the float64 sums the reference forms
    bound = float(Fraction(1 + eps) * abs(Fraction(a)) if a else 0)
    assert abs(Fraction(got) - exact) <= Fraction(2.3e-16) * max(bound, abs(float(exact)), 1e-300)
    # derivative in log ρ: ρA unless clipping is active (strictly outside, on the improving side)
    g = reference.ppo_clip_grad([lp], [0.0], [a], eps)[0]
    flat = (a > 0 and rho > 1 + eps) or (a < 0 and rho < 1 - eps) or a == 0
    assert g == (0.0 if flat else rho * a)


def test_gradient_at_edges_matches_autograd_convention() -> None:
    for lp in (_LP_HI, _LP_LO):
        for a in (2.0, -2.0):
            th = torch.tensor([lp], dtype=torch.float64, requires_grad=True)
            r = torch.exp(th)
            obj = torch.min(r * a, torch.clamp(r, 1 - EDGE, 1 + EDGE) * a)
            (grad,) = torch.autograd.grad(obj.sum(), th)
            assert reference.ppo_clip_grad([lp], [0.0], [a], EDGE)[0] == pytest.approx(float(grad[0]), abs=1e-15)


def test_kl_beta_rule_band_edges_exact() -> None:
    tgt = 0.75  # edges 0.5 and 1.125 are exact
    assert reference.kl_beta_update(1.0, 0.5, tgt) == 1.0
    assert reference.kl_beta_update(1.0, 1.125, tgt) == 1.0
    assert reference.kl_beta_update(1.0, float(np.nextafter(0.5, 0)), tgt) == 0.5
    assert reference.kl_beta_update(1.0, float(np.nextafter(1.125, 2)), tgt) == 2.0
    assert reference.kl_beta_update(4.0, 0.0, tgt) == 2.0


def test_entropy_and_kl_closed_forms() -> None:
    assert reference.categorical_entropy(np.zeros(4)) == pytest.approx(math.log(4), abs=1e-15)
    assert reference.categorical_entropy(np.array([0.0])) == 0.0
    assert reference.categorical_entropy(np.array([700.0, -700.0])) == pytest.approx(0.0, abs=1e-300)
    # KL((1/2, 1/2) ‖ (1/4, 3/4)) = ½ log 2 + ½ log(2/3)
    got = reference.categorical_kl(np.zeros(2), np.log([0.25, 0.75]))
    assert got == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), abs=1e-15)
    rows = reference.categorical_kl(np.zeros((3, 2)), np.zeros((3, 2)))
    assert rows.shape == (3,) and np.all(rows == 0.0)


@given(st.lists(st.floats(-5, 5), min_size=2, max_size=5), st.lists(st.floats(-5, 5), min_size=2, max_size=5))
def test_kl_estimators_exact_expectations(a: list[float], b: list[float]) -> None:
    n = min(len(a), len(b))
    old, new = np.array(a[:n]), np.array(b[:n])
    p = np.exp(old - old.max())
    p /= p.sum()
    lo, ln = np.log(p), reference.log_softmax_policy(new[None])[0]
    kl = reference.categorical_kl(old, new)
    for k in ("k1", "k3"):
        assert float(p @ reference.kl_estimate(ln, lo, k)) == pytest.approx(float(kl), abs=1e-12)
    assert np.all(reference.kl_estimate(ln, lo, "k3") >= 0.0)


def test_penalty_and_combined_loss_by_hand() -> None:
    lp, lo = np.log([1.5, 0.5]), np.zeros(2)
    adv = np.array([2.0, -2.0])
    np.testing.assert_allclose(reference.ppo_penalty(lp, lo, adv, [0.1, 0.2], 2.0), [3.0 - 0.2, -1.0 - 0.4], rtol=1e-14)
    loss = reference.ppo_actor_critic_loss(lp, lo, adv, [1.0, 0.0], [0.5, 2.0], [0.7, 0.1], 0.2, 0.5, 0.01)
    # −L^CLIP: −2.4 and −max(0.5, 0.8)(−2) = 1.6; value: 0.5·0.25 and 0.5·4; entropy: −0.007 and −0.001
    np.testing.assert_allclose(loss, [-2.4 + 0.125 - 0.007, 1.6 + 2.0 - 0.001], rtol=1e-14)


def test_combined_loss_gradient_directions() -> None:
    # descending the loss moves V toward its target and raises the entropy of the policy
    v = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    logits = torch.tensor([[2.0, 0.0, -1.0]], dtype=torch.float64, requires_grad=True)
    ent = -(torch.softmax(logits, 1) * torch.log_softmax(logits, 1)).sum(1)
    # the same loss as the reference, in torch, to differentiate; its value is checked against the reference
    loss = -torch.tensor([1.0]) + 0.5 * (v - 1.0) ** 2 - 0.1 * ent
    ref = reference.ppo_actor_critic_loss([0.0], [0.0], [1.0], [0.0], [1.0], ent.detach().numpy(), 0.2, 0.5, 0.1)
    assert float(loss.detach()[0]) == pytest.approx(float(ref[0]), abs=1e-15)
    v_grad, logits_grad = torch.autograd.grad(loss.sum(), [v, logits])
    assert float(v_grad[0]) < 0  # a descent step increases V toward 1
    new_logits = logits.detach() - 1.0 * logits_grad
    assert float(reference.categorical_entropy(new_logits.numpy())[0]) > float(ent.detach()[0])


Z = np.zeros(2)
BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("epsilon 0", lambda: reference.ppo_clip(Z, Z, Z, 0.0), ValueError, "epsilon"),
    ("epsilon negative", lambda: reference.ppo_clip_cases(Z, Z, Z, -0.1), ValueError, "epsilon"),
    ("epsilon nan", lambda: reference.ppo_clip_grad(Z, Z, Z, float("nan")), ValueError, "epsilon"),
    ("clip shapes", lambda: reference.ppo_clip(Z, np.zeros(3), Z, 0.2), ValueError, "logp_old"),
    ("clip nan", lambda: reference.ppo_clip(np.array([np.nan, 0.0]), Z, Z, 0.2), ValueError, "logp_new"),
    ("grad shapes", lambda: reference.ppo_clip_grad(Z, Z, np.zeros(3), 0.2), ValueError, "advantages"),
    ("penalty beta", lambda: reference.ppo_penalty(Z, Z, Z, Z, -1.0), ValueError, "beta"),
    ("penalty kl shape", lambda: reference.ppo_penalty(Z, Z, Z, np.zeros(3), 1.0), ValueError, "kl"),
    ("beta 0", lambda: reference.kl_beta_update(0.0, 0.01, 0.01), ValueError, "beta"),
    ("kl negative", lambda: reference.kl_beta_update(1.0, -0.01, 0.01), ValueError, "kl"),
    ("kl_target 0", lambda: reference.kl_beta_update(1.0, 0.01, 0.0), ValueError, "kl_target"),
    ("kl logits shapes", lambda: reference.categorical_kl(np.zeros((2, 3)), np.zeros((2, 2))), ValueError, "logits_q"),
    ("entropy empty", lambda: reference.categorical_entropy(np.zeros((2, 0))), ValueError, "logits"),
    ("estimator name", lambda: reference.kl_estimate(Z, Z, "k4"), ValueError, "estimator"),  # type: ignore[arg-type]
    ("loss c1", lambda: reference.ppo_actor_critic_loss(Z, Z, Z, Z, Z, Z, 0.2, -1.0, 0.0), ValueError, "c1"),
    ("loss values shape", lambda: reference.ppo_actor_critic_loss(Z, Z, Z, np.zeros(3), Z, Z, 0.2, 0.5, 0.0), ValueError, "values"),
]


@pytest.mark.parametrize(("fn", "exc", "name"), [(c[1], c[2], c[3]) for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_names_the_argument(fn: Callable[[], Any], exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert name in str(info.value), info.value
