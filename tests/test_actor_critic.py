"""§7 reference functions against hand computations and second formulations, and bad input."""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import reference
from verification.exact import enumerate_trajectories, exact_gradient
from verification.strategies import MDPCase, mdp_cases


def test_q_actor_step_by_hand() -> None:
    # two actions with logits (0, log 3): π = (1/4, 3/4); the score of a = 0 is (3/4, −3/4)
    th = np.array([[0.0, math.log(3.0)], [1.0, 2.0]])
    new = reference.q_actor_step(th, 0, 0, 2.0, 0.5)
    np.testing.assert_allclose(new[0] - th[0], 0.5 * 2.0 * np.array([0.75, -0.75]), rtol=0, atol=1e-15)
    assert np.array_equal(new[1], th[1])  # other states untouched


def test_td_critic_update_by_hand() -> None:
    # w = (1, 2); x = (1, 0), x' = (0, 1), r = 1, γ = 1/2: δ = 1 + 1 − 1 = 1, w' = w + β δ x
    w = np.array([1.0, 2.0])
    out = reference.td_critic_update(w, [[1.0, 0.0]], [[0.0, 1.0]], [1.0], [False], 0.5, 0.1)
    assert out.tolist() == [1.1, 2.0]
    # terminated: no bootstrap, δ = 1 − 1 = 0
    assert reference.td_critic_update(w, [[1.0, 0.0]], [[0.0, 1.0]], [1.0], [True], 0.5, 0.1).tolist() == [1.0, 2.0]
    # weights: two samples, ω = (1, 0) ignores the second
    two = reference.td_critic_update(w, [[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]], [1.0, 5.0], [False, False], 0.5, 1.0, weights=[1.0, 0.0])
    assert two.tolist() == [2.0, 2.0]


def test_a2c_critic_loss_by_hand() -> None:
    # r = (1, 2, 4), γ = 1/2: G = (1 + 1 + 1, 2 + 2, 4) = (3, 4, 4); V = (3, 5, 2)
    loss = reference.a2c_critic_loss([[3.0, 5.0, 2.0]], [[1.0, 2.0, 4.0]], 0.5)
    assert loss.tolist() == [[0.0, 0.5, 2.0]]


def test_a2c_actor_gradient_matches_loops() -> None:
    rng = np.random.default_rng(0)
    g = rng.normal(size=(3, 4, 5))
    r, v, nv = rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    term = rng.random((3, 4)) < 0.3
    w = np.array([0.2, 0.3, 0.5])
    gam = 0.8
    expected = np.zeros(5)
    for i in range(3):
        for t in range(4):
            delta = r[i, t] + (0.0 if term[i, t] else gam * nv[i, t]) - v[i, t]
            expected += w[i] * gam**t * g[i, t] * delta
    np.testing.assert_allclose(reference.a2c_actor_gradient(g, r, v, nv, term, gam, weights=w), expected, rtol=0, atol=1e-13)


@settings(max_examples=25)
@given(mdp_cases(gamma=None, max_horizon=3), st.integers(0, 2**32 - 1))
@example(
    MDPCase(
        reference.TabularMDP(np.array([1.0]), np.ones((1, 2, 1)), np.array([[1.0, -1.0]]), 2, 0.5), np.array([[0.3, -0.3]])
    ),
    7,
)
def test_vpg_step_lambda1_is_the_baseline_gradient_of_section3(case: MDPCase, seed: int) -> None:
    # second formulation: with λ = 1 on complete episodes, VPG's direction is §3's per-step
    # baseline estimator Σ_t γ^t ∇log π (G_t − b_t) with b_t = V_φ(s_t) (reference.baseline_gradient)
    tr = enumerate_trajectories(case.mdp, case.logits)
    # a learned baseline: any table V_φ(t, s), evaluated at the visited (t, s_t)
    table = np.random.default_rng(seed).normal(size=(case.mdp.horizon, case.mdp.n_states))
    values = table[np.arange(case.mdp.horizon)[None, :], tr.states[:, :-1]]
    new = reference.vpg_step(case.logits, tr.states[:, :-1], tr.actions, tr.rewards, values, case.mdp.gamma, 1.0, 0.25, weights=tr.prob)
    direction = reference.baseline_gradient(tr.step_scores(), tr.rewards, values, case.mdp.gamma, weights=tr.prob)
    np.testing.assert_allclose((new - case.logits).reshape(-1), 0.25 * direction, rtol=0, atol=1e-12)
    # and both are ∇J in expectation
    np.testing.assert_allclose(direction, exact_gradient(case.mdp, case.logits), rtol=0, atol=1e-9)


def test_vpg_step_zero_step_is_identity() -> None:
    th = np.array([[0.5, -0.5]])
    out = reference.vpg_step(th, [[0, 0]], [[0, 1]], [[1.0, 2.0]], [[0.0, 0.0]], 0.9, 0.95, 0.0)
    assert np.array_equal(out, th)


# ------------------------------------------------------------------------------ bad input

TH = np.zeros((2, 2))
S = [[0, 1]]
A = [[1, 0]]
RW = [[1.0, 0.0]]

BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("vpg values shape", lambda: reference.vpg_step(TH, S, A, RW, [[0.0]], 0.9, 0.9, 0.1), ValueError, "values"),
    ("vpg state range", lambda: reference.vpg_step(TH, [[0, 5]], A, RW, RW, 0.9, 0.9, 0.1), ValueError, "states"),
    ("vpg lam", lambda: reference.vpg_step(TH, S, A, RW, RW, 0.9, 1.5, 0.1), ValueError, "lam"),
    ("vpg step", lambda: reference.vpg_step(TH, S, A, RW, RW, 0.9, 0.9, -0.1), ValueError, "step_size"),
    ("vpg weights", lambda: reference.vpg_step(TH, S, A, RW, RW, 0.9, 0.9, 0.1, weights=[1.0, 2.0]), ValueError, "weights"),
    ("vpg nan rewards", lambda: reference.vpg_step(TH, S, A, [[np.nan, 0.0]], RW, 0.9, 0.9, 0.1), ValueError, "rewards"),
    ("q actor action", lambda: reference.q_actor_step(TH, 0, 3, 1.0, 0.1), ValueError, "action"),
    ("q actor q nan", lambda: reference.q_actor_step(TH, 0, 0, float("nan"), 0.1), ValueError, "q_value"),
    ("critic features", lambda: reference.td_critic_update([1.0, 2.0], [[1.0]], [[1.0]], [1.0], [False], 0.9, 0.1), ValueError, "features"),
    ("critic next", lambda: reference.td_critic_update([1.0], [[1.0]], [[1.0], [2.0]], [1.0], [False], 0.9, 0.1), ValueError, "next_features"),
    ("critic rewards", lambda: reference.td_critic_update([1.0], [[1.0]], [[1.0]], [1.0, 2.0], [False], 0.9, 0.1), ValueError, "rewards"),
    ("critic mask", lambda: reference.td_critic_update([1.0], [[1.0]], [[1.0]], [1.0], [0.5], 0.9, 0.1), ValueError, "terminated"),
    ("critic gamma", lambda: reference.td_critic_update([1.0], [[1.0]], [[1.0]], [1.0], [False], 1.2, 0.1), ValueError, "gamma"),
    ("critic nan", lambda: reference.td_critic_update([np.nan], [[1.0]], [[1.0]], [1.0], [False], 0.9, 0.1), ValueError, "params"),
    ("a2c shapes", lambda: reference.a2c_actor_gradient(np.zeros((1, 2, 4)), RW, [[0.0]], RW, [[False, False]], 0.9), ValueError, "values"),
    ("a2c mask", lambda: reference.a2c_actor_gradient(np.zeros((1, 2, 4)), RW, RW, RW, [[2, 0]], 0.9), ValueError, "terminated"),
    ("loss shapes", lambda: reference.a2c_critic_loss([[0.0]], RW, 0.9), ValueError, "values"),
    ("loss gamma", lambda: reference.a2c_critic_loss(RW, RW, -1.0), ValueError, "gamma"),
    ("adv grad shapes", lambda: reference.advantage_gradient(np.zeros((1, 2, 4)), [[0.0]]), ValueError, "advantages"),
    ("adv grad weights", lambda: reference.advantage_gradient(np.zeros((1, 2, 4)), RW, weights=[-1.0]), ValueError, "weights"),
]


@pytest.mark.parametrize(("fn", "exc", "arg"), [(c[1], c[2], c[3]) for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input(fn: Callable[[], Any], exc: type[Exception], arg: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert arg in str(info.value), f"message does not name {arg!r}: {info.value}"
