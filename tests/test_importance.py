"""§8 reference functions against exact fractions, autograd and hand-worked examples; bad input."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
import torch
from hypothesis import example, given
from hypothesis import strategies as st

import reference


def test_worked_example_in_fractions() -> None:
    # SPEC.md §8: p = (0, 1/4, 3/4), q = (1/2, 1/4, 1/4), f = (7, −1, 2): both sides are 5/4.
    p, q, f = [Fraction(0), Fraction(1, 4), Fraction(3, 4)], [Fraction(1, 2), Fraction(1, 4), Fraction(1, 4)], [7, -1, 2]
    exact = sum((pi * fi for pi, fi in zip(p, f)), Fraction(0))
    via_q = sum((qi * (pi / qi) * fi for pi, qi, fi in zip(p, q, f)), Fraction(0))
    assert exact == via_q == Fraction(5, 4)
    got = reference.importance_expectation(np.array(f, float), np.array(p, float), np.array(q, float))
    assert float(got) == 1.25


@st.composite
def _rational_cases(draw: st.DrawFn) -> tuple[list[int], list[int], list[int]]:
    k = draw(st.integers(1, 6))
    pk = draw(st.lists(st.integers(0, 5), min_size=k, max_size=k).filter(lambda xs: sum(xs) > 0))
    qk = [q if (q or not p) else 1 for p, q in zip(pk, draw(st.lists(st.integers(0, 5), min_size=k, max_size=k)))]
    if sum(qk) == 0:
        qk = [1] * k
    f = draw(st.lists(st.integers(-50, 50), min_size=k, max_size=k))
    return pk, qk, f


@given(_rational_cases())
@example(([1, 0], [1, 1], [3, 100]))  # q covers a point p does not
@example(([1], [1], [-7]))  # K = 1
def test_expectation_matches_exact_fractions(case: tuple[list[int], list[int], list[int]]) -> None:
    pk, qk, f = case
    p = [Fraction(x, sum(pk)) for x in pk]
    exact = sum((pi * fi for pi, fi in zip(p, f)), Fraction(0))
    got = reference.importance_expectation(np.array(f, float), np.array(pk, float) / sum(pk), np.array(qk, float) / sum(qk))
    assert abs(float(got) - float(exact)) <= 1e-13 * max(1, sum(abs(x) for x in f))


def test_vector_valued_f_is_reduced_over_points_only() -> None:
    f = np.array([[1.0, 10.0], [3.0, -2.0]])
    got = reference.importance_expectation(f, np.array([0.25, 0.75]), np.array([0.5, 0.5]))
    np.testing.assert_allclose(got, [0.25 * 1 + 0.75 * 3, 0.25 * 10 - 0.75 * 2], rtol=0, atol=1e-15)


def test_ratio_is_a_probability_ratio() -> None:
    lp, lo = np.log([0.3, 0.5]), np.log([0.6, 0.25])
    np.testing.assert_allclose(reference.importance_ratio(lp, lo), [0.5, 2.0], rtol=1e-15)
    assert np.isinf(reference.importance_ratio([800.0], [0.0])[0])


def test_weighted_gradient_against_autograd() -> None:
    # One state, three actions, two sampled steps of two trajectories; gradient of Σ_i w_i Σ_t ρ Ψ by autograd.
    logits_old = np.array([[0.2, -0.1, 0.5]])
    logits = np.array([[0.6, 0.0, -0.3]])
    states = np.zeros((2, 2), dtype=int)
    actions = np.array([[0, 2], [1, 1]])
    psi = np.array([[1.5, -0.5], [2.0, 0.25]])
    w = np.array([0.3, 0.7])
    th = torch.tensor(logits, requires_grad=True)
    lp_t = torch.log_softmax(th, dim=1)[0][torch.as_tensor(actions)]
    lo = reference.log_softmax_policy(logits_old)[0][actions]
    obj = (torch.as_tensor(w)[:, None] * torch.exp(lp_t - torch.as_tensor(lo)) * torch.as_tensor(psi)).sum()
    (want,) = torch.autograd.grad(obj, th)
    scores = reference.step_scores(logits, states, actions)
    lp = reference.log_softmax_policy(logits)[0][actions]
    got = reference.importance_weighted_gradient(scores, lp, lo, psi, weights=w)
    np.testing.assert_allclose(got, want.numpy().reshape(-1), rtol=0, atol=1e-14)


def test_weighted_gradient_on_policy_is_the_plain_estimator() -> None:
    rng = np.random.default_rng(0)
    g, psi, lp = rng.normal(size=(3, 4, 5)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    got = reference.importance_weighted_gradient(g, lp, lp, psi)
    np.testing.assert_allclose(got, np.einsum("itn,it->n", g, psi) / 3, rtol=1e-14, atol=1e-15)


OK3 = np.ones(3) / 3
BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("q misses p", lambda: reference.importance_expectation(np.ones(2), np.array([0.5, 0.5]), np.array([1.0, 0.0])), ValueError, "q"),
    ("p not normalized", lambda: reference.importance_expectation(np.ones(3), np.ones(3), OK3), ValueError, "p"),
    ("q negative", lambda: reference.importance_expectation(np.ones(2), np.array([0.5, 0.5]), np.array([1.5, -0.5])), ValueError, "q"),
    ("f wrong length", lambda: reference.importance_expectation(np.ones(2), OK3, OK3), ValueError, "f"),
    ("f nan", lambda: reference.importance_expectation(np.array([1.0, np.nan, 0.0]), OK3, OK3), ValueError, "f"),
    ("ratio shapes", lambda: reference.importance_ratio(np.zeros(2), np.zeros(3)), ValueError, "logp_old"),
    ("iw psi shape", lambda: reference.importance_weighted_gradient(np.zeros((2, 3, 4)), np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 2))), ValueError, "psi"),
    ("iw logp vs grad", lambda: reference.importance_weighted_gradient(np.zeros((2, 3, 4)), np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))), ValueError, "logp"),
    ("iw weights", lambda: reference.importance_weighted_gradient(np.zeros((2, 3, 4)), np.zeros((2, 3)), np.zeros((2, 3)), np.zeros((2, 3)), weights=np.ones(3)), ValueError, "weights"),
    ("iw overflow", lambda: reference.importance_weighted_gradient(np.zeros((1, 1, 2)), np.full((1, 1), 800.0), np.zeros((1, 1)), np.ones((1, 1))), ValueError, "logp"),
    ("iw empty", lambda: reference.importance_weighted_gradient(np.zeros((0, 3, 4)), np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 3))), ValueError, "grad_logp"),
]


@pytest.mark.parametrize(("fn", "exc", "name"), [(c[1], c[2], c[3]) for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_names_the_argument(fn: Callable[[], Any], exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert name in str(info.value), info.value
