"""§6 reference functions against independent derivations: exact fractions, closed forms, the
worked example of SPEC.md §6, and bad input."""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import reference
from verification.claims.s06_advantage import WORKED
from verification.mutants import all_mutants
from verification.strategies.rollouts import Rollout, rollouts

F = Fraction
FORMS = ("gae", "gae_fast", "gae_sum", "gae_literal")


# ------------------------------------------------------------------------------ exact GAE by fractions


def _gae_fractions(
    r: list[Fraction], v: list[Fraction], nv: list[Fraction], term: list[bool], trunc: list[bool], g: Fraction, lm: Fraction
) -> tuple[list[Fraction], list[Fraction]]:
    """(δ, Â) in exact arithmetic, Â_t = Σ_{l<n_t} (γλ)^l δ_{t+l} with n_t found by scanning forward."""
    n = len(r)
    delta = [r[t] + (F(0) if term[t] else g * nv[t]) - v[t] for t in range(n)]
    adv = []
    for t in range(n):
        acc, l = F(0), 0
        while True:
            acc += (g * lm) ** l * delta[t + l]
            if term[t + l] or trunc[t + l] or t + l == n - 1:
                break
            l += 1
        adv.append(acc)
    return delta, adv


def _exact(ro: Rollout) -> tuple[list[Fraction], list[Fraction]]:
    return _gae_fractions(
        [F(x) for x in ro.rewards.tolist()], [F(x) for x in ro.values.tolist()], [F(x) for x in ro.next_values.tolist()],
        [bool(x) for x in ro.terminated], [bool(x) for x in ro.truncated], F(ro.gamma), F(ro.lam),
    )


def test_worked_example_recomputed_with_fractions() -> None:
    # SPEC.md §6: T = 4, γ = λ = 1/2, termination after step 1, truncation after step 2.
    r, v, nv = [F(1), F(0), F(2), F(1)], [F(1), F(2), F(1), F(2)], [F(2), F(4), F(3), F(1)]
    delta, adv = _gae_fractions(r, v, nv, [False, True, False, False], [False, False, True, False], F(1, 2), F(1, 2))
    # the values SPEC.md's table states, derived there by hand
    assert delta == [F(1), F(-2), F(5, 2), F(-1, 2)]
    assert adv == [F(1, 2), F(-2), F(5, 2), F(-1, 2)]
    assert [a + b for a, b in zip(adv, v)] == [F(3, 2), F(0), F(7, 2), F(3, 2)]
    # the mix at t = 0 (n_0 = 2): (1 − λ)Â^(1) + λÂ^(2)
    assert F(1, 2) * delta[0] + F(1, 2) * (delta[0] + F(1, 2) * delta[1]) == adv[0]
    # every reference form reproduces it exactly (dyadic numbers are exact in float64)
    for name in FORMS:
        assert getattr(reference, name)(*WORKED.args).tolist() == [float(a) for a in adv], name
    assert reference.td_residuals(WORKED.rewards, WORKED.values, WORKED.next_values, WORKED.terminated, 0.5).tolist() == [float(d) for d in delta]
    assert reference.lambda_returns(*WORKED.args).tolist() == [1.5, 0.0, 3.5, 1.5]


@pytest.mark.parametrize(
    ("mutant", "expected"),
    [
        ("gae-no-termination-mask", [1.0, 0.0, 2.5, -0.5]),
        ("gae-truncation-as-termination", [0.5, -2.0, 1.0, -0.5]),
        ("gae-not-cut-at-episode-end", [83 / 128, -45 / 32, 19 / 8, -0.5]),
        ("gae-gamma-not-gamma-lambda", [0.0, -2.0, 2.5, -0.5]),
        ("gae-off-by-one-bootstrap", [0.5, -2.0, 2.0, -0.5]),
    ],
)
def test_worked_example_wrong_implementations(mutant: str, expected: list[float]) -> None:
    # the numbers SPEC.md §6 gives for the common bugs, recomputed by the mutants
    m = next(m for m in all_mutants() if m.name == mutant)
    assert m.overrides["gae"](*WORKED.args).tolist() == expected


EDGE = [
    Rollout(np.array([1.0]), np.array([0.5]), np.array([7.0]), np.array([True]), np.array([False]), 0.9, 0.95),
    Rollout(np.array([1.0]), np.array([0.5]), np.array([7.0]), np.array([False]), np.array([True]), 1.0, 1.0),
    Rollout(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0]), np.array([3.0, 4.0, 5.0]), np.array([True, True, True]), np.array([False, False, False]), 0.5, 0.5),
    Rollout(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0]), np.array([3.0, 4.0, 5.0]), np.array([False, True, False]), np.array([True, True, False]), 0.0, 1.0),
    Rollout(np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, 2.0]), np.array([3.0, 4.0, 5.0]), np.array([False, False, False]), np.array([False, False, False]), 1.0, 0.0),
]


@settings(max_examples=60)
@given(rollouts(max_t=16, wide=False))
@example(EDGE[0])
@example(EDGE[1])
@example(EDGE[2])
@example(EDGE[3])
@example(EDGE[4])
@example(WORKED)
def test_every_form_matches_exact_fractions(ro: Rollout) -> None:
    delta, adv = _exact(ro)
    scale = max(1.0, float(sum(abs(d) for d in delta)))
    td = reference.td_residuals(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.gamma)
    assert np.max(np.abs(td - np.array([float(d) for d in delta])), initial=0.0) <= 1e-12 * scale
    for name in FORMS:
        got = getattr(reference, name)(*ro.args)
        assert got.shape == ro.rewards.shape
        assert np.max(np.abs(got - np.array([float(a) for a in adv])), initial=0.0) <= 1e-12 * scale, name


def test_episode_lengths_by_hand() -> None:
    term = [False, True, False, False, False, True]
    trunc = [False, False, False, True, False, False]
    assert reference.episode_lengths(term, trunc).tolist() == [2, 1, 2, 1, 2, 1]
    assert reference.episode_lengths([False] * 3, [False] * 3).tolist() == [3, 2, 1]
    both = reference.episode_lengths(np.array([[0, 1], [0, 0]], bool), np.zeros((2, 2), bool))
    assert both.tolist() == [[2, 1], [1, 1]]


def test_k_step_return_by_hand() -> None:
    # r = (1, 2, 3), V_next = (10, 20, 30), γ = 1/2, no episode end
    r, nv = np.array([1.0, 2.0, 3.0]), np.array([10.0, 20.0, 30.0])
    no = np.zeros(3, bool)
    assert reference.k_step_return(r, nv, no, no, 0.5, 1).tolist() == [1 + 5, 2 + 10, 3 + 15]
    assert reference.k_step_return(r, nv, no, no, 0.5, 2).tolist() == [1 + 1 + 0.25 * 20, 2 + 1.5 + 0.25 * 30, 3 + 15]
    # γ³ V(s_t+3) for the third estimator (the source writes γ, E6.4)
    assert reference.k_step_return(r, nv, no, no, 0.5, 3)[0] == 1 + 1 + 0.75 + 0.125 * 30
    term = np.array([False, True, False])
    assert reference.k_step_return(r, nv, term, no, 0.5, 3).tolist() == [1 + 1, 2, 3 + 15]


def test_fast_form_closed_form_long_rollout() -> None:
    # r = 1, V = 0, no episode end: Â_t = Σ_{l < T−t} c^l = (1 − c^{T−t}) / (1 − c), c = γλ
    n = 200_001
    ones, zeros, no = np.ones(n), np.zeros(n), np.zeros(n, bool)
    for g, lm in ((0.99, 0.95), (0.5, 0.5), (0.999, 1.0)):
        c = g * lm
        closed = (1 - c ** np.arange(n, 0, -1, dtype=np.float64)) / (1 - c)
        got = reference.gae_fast(ones, zeros, zeros, no, no, g, lm)
        assert np.max(np.abs(got - closed)) <= 1e-12 * closed.max()
    # γλ = 1: Â_t = T − t, exact in float64
    assert np.array_equal(reference.gae_fast(ones, zeros, zeros, no, no, 1.0, 1.0), np.arange(n, 0, -1, dtype=np.float64))


@pytest.mark.parametrize(("g", "lm"), [(1.0, 1.0), (0.99, 0.95), (1e-3, 1.0), (0.0, 0.5), (1.0, 0.0)])
def test_fast_form_long_rollouts_with_cancellation(g: float, lm: float) -> None:
    # large alternating residuals and few episode ends: any subtraction of a global running sum would
    # lose digits here; the blocked scan must agree with the recursion to 1e-12 of the sums' condition
    rng = np.random.default_rng(3)
    n = 300_000
    r = rng.choice([-1e6, 1e6], size=n) + rng.normal(size=n)
    v, nv = rng.normal(size=n), rng.normal(size=n)
    term = rng.random(n) < 1e-4
    trunc = rng.random(n) < 1e-4
    ref = reference.gae(r, v, nv, term, trunc, g, lm)
    fast = reference.gae_fast(r, v, nv, term, trunc, g, lm)
    absum = reference.gae(np.abs(reference.td_residuals(r, v, nv, term, g)), np.zeros(n), np.zeros(n), np.zeros(n, bool), term | trunc, g, lm)
    assert np.max(np.abs(fast - ref)) <= 1e-12 * absum.max()
    # an episode's last step is its own residual, bitwise
    ends = np.flatnonzero(term | trunc)
    delta = reference.td_residuals(r, v, nv, term, g)
    assert np.array_equal(fast[ends], delta[ends])


def test_batched_equals_columns() -> None:
    rng = np.random.default_rng(4)
    shape = (2048, 64)
    r, v, nv = rng.normal(size=shape), rng.normal(size=shape), rng.normal(size=shape)
    term, trunc = rng.random(shape) < 1e-3, rng.random(shape) < 1e-3
    for fn in (reference.gae, reference.gae_fast):
        whole = fn(r, v, nv, term, trunc, 0.99, 0.95)
        cols = np.stack([fn(r[:, j], v[:, j], nv[:, j], term[:, j], trunc[:, j], 0.99, 0.95) for j in range(64)], axis=1)
        assert np.max(np.abs(whole - cols)) <= 1e-12 * max(1.0, np.abs(cols).max())


def test_empty_rollout() -> None:
    for shape in ((0,), (0, 3), (5, 0)):
        e = np.zeros(shape)
        for name in FORMS:
            assert getattr(reference, name)(e, e, e, e.astype(bool), e.astype(bool), 0.9, 0.9).shape == shape, (name, shape)


def test_advantages_bandit_closed_form() -> None:
    # one state, actions with r = (1, 3), uniform policy, T = 1: A = r − E_π[r] = (−1, 1)
    mdp = reference.TabularMDP(np.array([1.0]), np.ones((1, 2, 1)), np.array([[1.0, 3.0]]), 1, 0.9)
    assert reference.advantages(mdp, np.zeros((1, 2))).tolist() == [[[-1.0, 1.0]]]


# ------------------------------------------------------------------------------ bad input

R3 = np.array([1.0, 2.0, 3.0])
NO3 = np.zeros(3, bool)
GOOD: tuple[Any, ...] = (R3, R3, R3, NO3, NO3, 0.9, 0.95)


def _with(i: int, x: Any) -> tuple[Any, ...]:
    args = list(GOOD)
    args[i] = x
    return tuple(args)


BAD: list[tuple[str, int, Any, type[Exception], str]] = [
    ("rewards length", 0, np.ones(4), ValueError, "rewards"),
    ("values length", 1, np.ones(2), ValueError, "values"),
    ("next_values nan", 2, np.array([1.0, np.nan, 2.0]), ValueError, "next_values"),
    ("rewards nan", 0, np.array([np.nan, 1.0, 2.0]), ValueError, "rewards"),
    ("values inf", 1, np.array([np.inf, 1.0, 2.0]), ValueError, "values"),
    ("terminated not boolean", 3, np.array([0, 2, 0]), ValueError, "terminated"),
    ("truncated strings", 4, np.array(["a", "b", "c"]), TypeError, "truncated"),
    ("terminated length", 3, np.zeros(4, bool), ValueError, "terminated"),
    ("gamma > 1", 5, 1.5, ValueError, "gamma"),
    ("gamma < 0", 5, -0.1, ValueError, "gamma"),
    ("gamma nan", 5, float("nan"), ValueError, "gamma"),
    ("lam > 1", 6, 1.01, ValueError, "lam"),
    ("lam < 0", 6, -1.0, ValueError, "lam"),
    ("lam array", 6, np.array([0.5, 0.5]), ValueError, "lam"),
    ("rewards 3-D", 0, np.ones((3, 1, 1)), ValueError, "rewards"),
    ("rewards None", 0, None, TypeError, "rewards"),
]


@pytest.mark.parametrize("name", FORMS + ("lambda_returns",))
@pytest.mark.parametrize(("label", "i", "x", "exc", "arg"), BAD, ids=[b[0] for b in BAD])
def test_gae_forms_reject_bad_input(name: str, label: str, i: int, x: Any, exc: type[Exception], arg: str) -> None:
    with pytest.raises(exc) as info:
        getattr(reference, name)(*_with(i, x))
    assert arg in str(info.value), f"{name}: message does not name {arg!r}: {info.value}"


K_FLOAT: Any = 1.5
NOT_MDP: Any = "mdp"

OTHER: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("td gamma", lambda: reference.td_residuals(R3, R3, R3, NO3, 2.0), ValueError, "gamma"),
    ("td mask", lambda: reference.td_residuals(R3, R3, R3, np.array([0.5, 0, 0]), 0.9), ValueError, "terminated"),
    ("td length", lambda: reference.td_residuals(R3, R3, np.ones(2), NO3, 0.9), ValueError, "next_values"),
    ("k zero", lambda: reference.k_step_advantage(R3, R3, R3, NO3, NO3, 0.9, 0), ValueError, "k"),
    ("k float", lambda: reference.k_step_advantage(R3, R3, R3, NO3, NO3, 0.9, K_FLOAT), TypeError, "k"),
    ("k bool", lambda: reference.k_step_return(R3, R3, NO3, NO3, 0.9, True), TypeError, "k"),
    ("k-return length", lambda: reference.k_step_return(R3, np.ones(2), NO3, NO3, 0.9, 2), ValueError, "next_values"),
    ("k-return gamma", lambda: reference.k_step_return(R3, R3, NO3, NO3, -0.5, 2), ValueError, "gamma"),
    ("lengths mismatch", lambda: reference.episode_lengths(NO3, np.zeros(2, bool)), ValueError, "truncated"),
    ("lengths not bool", lambda: reference.episode_lengths(np.array([3, 0, 0]), NO3), ValueError, "terminated"),
    ("advantages mdp", lambda: reference.advantages(NOT_MDP, np.zeros((1, 1))), TypeError, "mdp"),
    (
        "advantages logits",
        lambda: reference.advantages(reference.TabularMDP(np.array([1.0]), np.ones((1, 2, 1)), np.zeros((1, 2)), 1), np.zeros((2, 2))),
        ValueError,
        "logits",
    ),
]


@pytest.mark.parametrize(("fn", "exc", "arg"), [(c[1], c[2], c[3]) for c in OTHER], ids=[c[0] for c in OTHER])
def test_other_bad_input(fn: Callable[[], Any], exc: type[Exception], arg: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert arg in str(info.value), f"message does not name {arg!r}: {info.value}"
