"""§11 Ψ functions: hand-worked values and one function against another (rlax style); bad input."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import reference


def test_returns_by_hand() -> None:
    r = np.array([[1.0, 2.0, 3.0]])
    # γ = 1/2: R = 1 + 1 + 3/4; Σ_{t'>=t} γ^{t'} r_{t'} = 2.75, 1.75, 0.75
    np.testing.assert_array_equal(reference.psi_total_return(r, 0.5), [[2.75, 2.75, 2.75]])
    np.testing.assert_array_equal(reference.psi_reward_to_go(r, 0.5), [[2.75, 1.75, 0.75]])
    # without γ^t: G_t = 2.75, 3.5, 3
    np.testing.assert_array_equal(reference.psi_reward_to_go(r, 0.5, discount_t=False), [[2.75, 3.5, 3.0]])
    v = np.array([[1.0, 1.0, 1.0]])
    np.testing.assert_array_equal(reference.psi_baseline_reward_to_go(r, v, 0.5), [[1.75, 1.25, 0.5]])
    # the source's form sums from t' = 0: R − γ^t V = 2.75 − (1, 0.5, 0.25)
    np.testing.assert_array_equal(reference.psi_baseline_reward_to_go_as_written(r, v, 0.5), [[1.75, 2.25, 2.5]])


def test_td_and_actor_critic_by_hand() -> None:
    r = np.array([[1.0, 2.0]])
    v, nv = np.array([[3.0, 4.0]]), np.array([[4.0, 0.0]])
    # δ_0 = 1 + ½·4 − 3 = 0, δ_1 = 2 + 0 − 4 = −2, weighted by γ^t = 1, ½
    np.testing.assert_array_equal(reference.psi_td_residual(r, v, nv, 0.5), [[0.0, -1.0]])
    # the source drops γ on V(s_t+1): 1 + 4 − 3 = 2
    np.testing.assert_array_equal(reference.psi_td_residual_as_written(r, v, nv, 0.5), [[2.0, -1.0]])
    q = np.array([[[2.0, 4.0], [4.0, 4.0]]])
    q_next = np.array([[[4.0, 4.0], [0.0, 0.0]]])
    pi = np.array([[[0.5, 0.5], [0.25, 0.75]]])
    pi_next = np.array([[[0.25, 0.75], [0.5, 0.5]]])
    np.testing.assert_array_equal(reference.psi_actor_critic(r, q, q_next, pi, pi_next, 0.5), [[0.0, -1.0]])
    q_next_uneven = np.array([[[1.0, 5.0], [0.0, 0.0]]])
    # max_a' Q' = 5 but E_π Q' = 4: 1 + 5 − 3 = 3 (γ dropped too) vs 1 + ½·4 − 3 = 0
    np.testing.assert_array_equal(reference.psi_actor_critic_as_written(r, q, q_next_uneven, pi, 0.5), [[3.0, -1.0]])
    np.testing.assert_array_equal(reference.psi_actor_critic(r, q, q_next_uneven, pi, pi_next, 0.5), [[0.0, -1.0]])
    np.testing.assert_array_equal(reference.psi_q_value(np.array([[2.0, 4.0]]), 0.5), [[2.0, 2.0]])
    np.testing.assert_array_equal(reference.psi_advantage(np.array([[2.0, 4.0]]), v, 0.5), [[-1.0, 0.0]])


@st.composite
def _rollouts(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    m = draw(st.integers(1, 3))
    t = draw(st.integers(1, 6))
    vals = st.lists(st.floats(-10, 10), min_size=m * t, max_size=m * t)
    r = np.asarray(draw(vals), dtype=float).reshape(m, t)
    v = np.asarray(draw(vals), dtype=float).reshape(m, t)
    nv = np.concatenate([v[:, 1:], np.zeros((m, 1))], axis=1)  # consistent: V(s_t+1) = values[t+1], V_T = 0
    g = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0, 1)))
    return r, v, nv, g


@given(_rollouts())
@example((np.array([[1.0, -1.0, 2.0]]), np.array([[0.5, 0.0, 1.0]]), np.array([[0.0, 1.0, 0.0]]), 1.0))
@example((np.array([[3.0]]), np.array([[1.0]]), np.array([[0.0]]), 0.0))  # T = 1, γ = 0
def test_gae_limits_are_td_and_baseline_rtg(roll: tuple[np.ndarray, np.ndarray, np.ndarray, float]) -> None:
    r, v, nv, g = roll
    scale = 1e-12 * max(1.0, float(np.abs(r).sum() + np.abs(v).sum()))
    # λ = 0: GAE is the TD residual
    np.testing.assert_allclose(reference.psi_gae(r, v, nv, g, 0.0), reference.psi_td_residual(r, v, nv, g), rtol=0, atol=scale)
    # λ = 1 with consistent values: the residuals telescope to G_t − V(s_t)
    if np.array_equal(nv[:, :-1], v[:, 1:]):
        np.testing.assert_allclose(reference.psi_gae(r, v, nv, g, 1.0), reference.psi_baseline_reward_to_go(r, v, g), rtol=0, atol=scale)


@given(_rollouts(), st.integers(2, 3), st.integers(0, 2**16))
def test_actor_critic_is_td_with_v_from_q(roll: tuple[np.ndarray, np.ndarray, np.ndarray, float], n_a: int, seed: int) -> None:
    r, _, _, g = roll
    rng = np.random.default_rng(seed)
    q = rng.normal(size=r.shape + (n_a,))
    q_next = np.concatenate([q[:, 1:], np.zeros((r.shape[0], 1, n_a))], axis=1)
    pi = rng.dirichlet(np.ones(n_a), size=r.shape)
    pi_next = np.concatenate([pi[:, 1:], pi[:, :1]], axis=1)
    v, nv = (pi * q).sum(axis=2), (pi_next * q_next).sum(axis=2)
    np.testing.assert_allclose(reference.psi_actor_critic(r, q, q_next, pi, pi_next, g), reference.psi_td_residual(r, v, nv, g), rtol=0, atol=1e-12)


def test_template_is_weighted_sum() -> None:
    rng = np.random.default_rng(1)
    g, psi = rng.normal(size=(3, 4, 2)), rng.normal(size=(3, 4))
    np.testing.assert_allclose(reference.policy_gradient_template(g, psi), np.einsum("itn,it->n", g, psi) / 3, rtol=1e-14)
    w = np.array([0.2, 0.3, 0.5])
    np.testing.assert_allclose(reference.policy_gradient_template(g, psi, weights=w), np.einsum("i,itn,it->n", w, g, psi), rtol=1e-14)


R = np.zeros((2, 3))
BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("template psi shape", lambda: reference.policy_gradient_template(np.zeros((2, 3, 4)), np.zeros((2, 2))), ValueError, "psi"),
    ("template weights", lambda: reference.policy_gradient_template(np.zeros((2, 3, 4)), R, weights=np.ones(3)), ValueError, "weights"),
    ("template negative weights", lambda: reference.policy_gradient_template(np.zeros((2, 3, 4)), R, weights=np.array([1.0, -1.0])), ValueError, "weights"),
    ("gamma > 1", lambda: reference.psi_reward_to_go(R, 1.5), ValueError, "gamma"),
    ("lam < 0", lambda: reference.psi_gae(R, R, R, 0.9, -0.1), ValueError, "lam"),
    ("values shape", lambda: reference.psi_baseline_reward_to_go(R, np.zeros((2, 2))), ValueError, "values"),
    ("next_values shape", lambda: reference.psi_td_residual(R, R, np.zeros((3, 3))), ValueError, "next_values"),
    ("rewards 1-D", lambda: reference.psi_total_return(np.zeros(3)), ValueError, "rewards"),
    ("q per action", lambda: reference.psi_actor_critic(R, np.zeros((2, 3, 2)), np.zeros((2, 3, 3)), np.zeros((2, 3, 2)), np.zeros((2, 3, 2))), ValueError, "q_next"),
    ("q shape", lambda: reference.psi_actor_critic_as_written(R, np.zeros((2, 2, 2)), np.zeros((2, 3, 2)), np.zeros((2, 3, 2))), ValueError, "q_current"),
    ("advantage values", lambda: reference.psi_advantage(R, np.zeros((1, 3))), ValueError, "values"),
]


@pytest.mark.parametrize(("fn", "exc", "name"), [(c[1], c[2], c[3]) for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_names_the_argument(fn: Callable[[], Any], exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert name in str(info.value), info.value
