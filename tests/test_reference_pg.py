"""Reference functions of §1-§5 against independent derivations (exact fractions, closed forms)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import reference
from verification.claims.s01_policy_gradient import RTG_COUNTEREXAMPLE
from verification.exact import enumerate_trajectories
from verification.strategies import mdp_cases


def _returns_fraction(rewards: list[Fraction], gamma: Fraction) -> list[Fraction]:
    return [sum((gamma ** (k - t) * rewards[k] for k in range(t, len(rewards))), Fraction(0)) for t in range(len(rewards))]


@given(
    st.lists(st.integers(-50, 50), min_size=0, max_size=30),
    st.fractions(min_value=0, max_value=1, max_denominator=16),
)
def test_returns_match_exact_fractions(rs: list[int], gamma: Fraction) -> None:
    exact = _returns_fraction([Fraction(r) for r in rs], gamma)
    for fn in (reference.discounted_returns, reference.discounted_returns_literal):
        got = fn(np.asarray(rs, dtype=float), float(gamma))
        assert got.shape == (len(rs),)
        for g, e in zip(got, exact):
            assert abs(g - float(e)) <= 1e-12 * max(1.0, sum(abs(r) for r in rs))


def test_returns_batched_columns_match_single() -> None:
    r = np.arange(12.0).reshape(4, 3)
    out = reference.discounted_returns(r, 0.5)
    for j in range(3):
        np.testing.assert_allclose(out[:, j], reference.discounted_returns(r[:, j], 0.5), rtol=0, atol=1e-15)


def test_worked_example_values_by_hand() -> None:
    # One state, two actions with π = (1/2, 1/2) (zero logits), r = (1, 3), T = 2, γ = 1/2:
    # V_1 = E[r] = 2, V_0 = 2 + 1/2 · 2 = 3, Q_0(a) = r(a) + 1/2 · V_1.
    mdp = reference.TabularMDP(np.array([1.0]), np.ones((1, 2, 1)), np.array([[1.0, 3.0]]), 2, 0.5)
    v = reference.state_values(mdp, np.zeros((1, 2)))
    np.testing.assert_array_equal(v[:, 0], [3.0, 2.0, 0.0])
    q = reference.action_values(mdp, np.zeros((1, 2)))
    np.testing.assert_array_equal(q[0, 0], [2.0, 4.0])
    assert reference.expected_return(mdp, np.zeros((1, 2))) == 3.0


def test_rtg_counterexample_by_independent_enumeration() -> None:
    # Second formulation of PG-RTG-VARIANCE's counterexample, written out by hand: one state, two
    # actions, T = 2, r = (−1, 1), logits (1, −2).  Score of action a w.r.t. θ: e_a − π.
    p0 = math.exp(1) / (math.exp(1) + math.exp(-2))
    pi = [p0, 1 - p0]
    r = [-1.0, 1.0]
    full, rtg, probs = [], [], []
    for a0 in (0, 1):
        for a1 in (0, 1):
            s0 = np.array([1.0 - pi[0], -pi[1]]) if a0 == 0 else np.array([-pi[0], 1.0 - pi[1]])
            s1 = np.array([1.0 - pi[0], -pi[1]]) if a1 == 0 else np.array([-pi[0], 1.0 - pi[1]])
            probs.append(pi[a0] * pi[a1])
            full.append((s0 + s1) * (r[a0] + r[a1]))
            rtg.append(s0 * (r[a0] + r[a1]) + s1 * r[a1])
    w = np.array(probs)

    def total_var(x: list[np.ndarray]) -> float:
        arr = np.array(x)
        mu = w @ arr
        return float((w @ (arr - mu) ** 2).sum())

    v_full, v_rtg = total_var(full), total_var(rtg)
    assert v_rtg > v_full
    assert abs(v_full - 0.0653) < 1e-3 and abs(v_rtg - 0.0904) < 1e-3
    # and the enumeration engine sees the same four trajectories
    tr = enumerate_trajectories(RTG_COUNTEREXAMPLE.mdp, RTG_COUNTEREXAMPLE.logits)
    assert tr.n == 4 and abs(tr.prob.sum() - 1) < 1e-15


@given(mdp_cases(gamma=None))
def test_enumeration_probabilities_sum_to_one_and_match_sampling_support(case: object) -> None:
    from verification.strategies import MDPCase

    assert isinstance(case, MDPCase)
    tr = enumerate_trajectories(case.mdp, case.logits)
    assert abs(tr.prob.sum() - 1.0) < 1e-12
    assert np.all(tr.prob > 0)
    # no duplicates
    keys = {tuple(s) + tuple(a) for s, a in zip(tr.states.tolist(), tr.actions.tolist())}
    assert len(keys) == tr.n


def test_min_variance_baseline_zero_coordinate_is_zero() -> None:
    g = np.array([[1.0, 0.0], [2.0, 0.0]])
    b = reference.min_variance_baseline(g, np.array([3.0, 5.0]))
    assert b[1] == 0.0
    assert b[0] == (1 * 3 + 4 * 5) / 5
