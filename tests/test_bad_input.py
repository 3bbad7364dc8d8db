"""Bad input gets a clear ValueError/TypeError naming the argument, never a NaN or an IndexError."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pytest

import reference

MDP_OK: dict[str, Any] = dict(initial=np.array([1.0, 0.0]), transitions=np.full((2, 2, 2), 0.5), rewards=np.zeros((2, 2)), horizon=2)

HALF: Any = 0.5

CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("gamma>1", lambda: reference.discounted_returns(np.ones(3), 1.5), ValueError, "gamma"),
    ("gamma<0", lambda: reference.discounted_returns_literal(np.ones(3), -0.1), ValueError, "gamma"),
    ("gamma nan", lambda: reference.discounted_returns(np.ones(3), float("nan")), ValueError, "gamma"),
    ("rewards nan", lambda: reference.discounted_returns(np.array([1.0, np.nan]), 0.9), ValueError, "rewards"),
    ("rewards 3-D", lambda: reference.discounted_returns(np.ones((2, 2, 2)), 0.9), ValueError, "rewards"),
    ("rewards str", lambda: reference.discounted_returns("abc", 0.9), TypeError, "rewards"),
    ("initial sum", lambda: reference.TabularMDP(**{**MDP_OK, "initial": np.array([0.5, 0.4])}), ValueError, "initial"),
    ("initial negative", lambda: reference.TabularMDP(**{**MDP_OK, "initial": np.array([1.5, -0.5])}), ValueError, "initial"),
    ("transitions sum", lambda: reference.TabularMDP(**{**MDP_OK, "transitions": np.full((2, 2, 2), 0.4)}), ValueError, "transitions"),
    ("transitions shape", lambda: reference.TabularMDP(**{**MDP_OK, "transitions": np.full((2, 2, 3), 1 / 3)}), ValueError, "transitions"),
    ("rewards shape", lambda: reference.TabularMDP(**{**MDP_OK, "rewards": np.zeros((2, 3))}), ValueError, "rewards"),
    ("horizon 0", lambda: reference.TabularMDP(**{**MDP_OK, "horizon": 0}), ValueError, "horizon"),
    ("horizon float", lambda: reference.TabularMDP(**{**MDP_OK, "horizon": 2.5}), TypeError, "horizon"),
    ("mdp gamma", lambda: reference.TabularMDP(**MDP_OK, gamma=2.0), ValueError, "gamma"),
    ("logits shape", lambda: reference.state_values(reference.TabularMDP(**MDP_OK), np.zeros((3, 2))), ValueError, "logits"),
    ("logits inf", lambda: reference.softmax_policy(np.array([[np.inf, 0.0]])), ValueError, "logits"),
    ("state out of range", lambda: reference.score_function(np.zeros((2, 2)), 5, 0), ValueError, "state"),
    ("action float", lambda: reference.score_function(np.zeros((2, 2)), 0, HALF), TypeError, "action"),
    ("states/actions mismatch", lambda: reference.step_scores(np.zeros((2, 2)), [0, 1], [0]), ValueError, "states"),
    ("traj states length", lambda: reference.trajectory_log_prob(reference.TabularMDP(**MDP_OK), np.zeros((2, 2)), [0, 1], [0, 1]), ValueError, "states"),
    ("reinforce shapes", lambda: reference.reinforce_gradient(np.zeros((2, 3, 4)), np.zeros((2, 2))), ValueError, "rewards"),
    ("reinforce weights", lambda: reference.reinforce_gradient(np.zeros((2, 3, 4)), np.zeros((2, 3)), weights=np.ones(3)), ValueError, "weights"),
    ("reinforce empty", lambda: reference.reinforce_gradient(np.zeros((0, 3, 4)), np.zeros((0, 3))), ValueError, "grad_logp"),
    ("baseline shape", lambda: reference.baseline_gradient(np.zeros((2, 3, 4)), np.zeros((2, 3)), np.zeros(5)), ValueError, "baseline"),
    ("minvar shapes", lambda: reference.min_variance_baseline(np.zeros((3, 2)), np.zeros(4)), ValueError, "returns"),
    ("minvar nan", lambda: reference.min_variance_baseline(np.full((3, 2), np.nan), np.zeros(3)), ValueError, "grad_logp"),
    ("time baseline gamma", lambda: reference.time_dependent_baseline(np.zeros((2, 3)), 1.1), ValueError, "gamma"),
    ("constant baseline weights", lambda: reference.constant_baseline(np.zeros(3), weights=np.array([1.0, -1.0, 1.0])), ValueError, "weights"),
    ("fit shapes", lambda: reference.fit_linear_value(np.zeros((3, 2)), np.zeros(4)), ValueError, "targets"),
    ("fit weights", lambda: reference.fit_linear_value(np.zeros((3, 2)), np.zeros(3), np.array([1.0, -1.0, 1.0])), ValueError, "weights"),
    ("features states range", lambda: reference.tabular_time_features(np.array([[0, 3]]), 2), ValueError, "states"),
    ("loss shapes", lambda: reference.value_regression_loss(np.zeros(3), np.zeros(2)), ValueError, "predictions"),
]


@pytest.mark.parametrize(("fn", "exc", "name"), [(c[1], c[2], c[3]) for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_raises_clear_error(fn: Callable[[], Any], exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert name in str(info.value), f"message does not name {name!r}: {info.value}"
