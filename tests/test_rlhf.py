"""§12 reference functions against independent derivations: closed forms, exact fractions,
mpmath, a second formulation, hand-worked examples; bad input; two §14.4 variants checked exactly."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, note
from hypothesis import strategies as st

import reference
from verification.strategies.rlhf import Padding, pad_rows, paddings

LOG2 = math.log(2.0)


# ------------------------------------------------------------------ worked examples (SPEC.md §12)


def test_worked_example_optimum_by_hand() -> None:
    ref = np.array([0.5, 0.25, 0.25])
    r = np.array([0.0, LOG2, -LOG2])
    pistar = reference.kl_optimal_policy(ref, r, 1.0)
    np.testing.assert_allclose(pistar, [4 / 9, 4 / 9, 1 / 9], rtol=1e-15)
    assert reference.kl_optimal_value(ref, r, 1.0) == pytest.approx(math.log(9 / 8), rel=1e-15)
    assert reference.kl_regularized_objective(pistar, ref, r, 1.0) == pytest.approx(math.log(9 / 8), rel=1e-14)
    implicit = reference.dpo_implicit_reward(np.log(pistar), np.log(ref), 1.0)
    np.testing.assert_allclose(implicit, np.log([8 / 9, 16 / 9, 4 / 9]), rtol=1e-14)
    np.testing.assert_allclose(implicit - implicit[0], r, atol=1e-15)


def test_worked_example_bt_pair_by_hand() -> None:
    m = math.log(3.0)
    assert reference.bt_preference_prob(np.array([m]), np.array([0.0]))[0] == pytest.approx(0.75, rel=1e-15)
    assert reference.bt_loss(np.array([m]), np.array([0.0]))[0] == pytest.approx(math.log(4 / 3), rel=1e-15)
    assert reference.bt_loss(np.array([0.0]), np.array([m]))[0] == pytest.approx(math.log(4.0), rel=1e-15)
    gw, gl = reference.bt_loss_grad(np.array([m]), np.array([0.0]))
    assert gw[0] == pytest.approx(-0.25, rel=1e-15) and gl[0] == pytest.approx(0.25, rel=1e-15)


def test_bt_loss_at_zero_margin_is_log2() -> None:
    assert reference.bt_loss(np.array([3.5]), np.array([3.5]))[0] == LOG2


# ------------------------------------------------------------------ stable losses vs mpmath


@given(st.floats(-1e4, 1e4), st.floats(-100, 100))
@example(-1e4, 0.0)
@example(1e4, 0.0)
@example(-745.5, 0.0)
@example(709.8, 0.0)
@example(0.0, 0.0)
@example(1e-300, 0.0)
def test_bt_loss_matches_mpmath(m: float, base: float) -> None:
    rc, rr = np.array([base + m]), np.array([base])
    got = float(reference.bt_loss(rc, rr)[0])
    with mpmath.workdps(50):
        exact = mpmath.log1p(mpmath.exp(-(mpmath.mpf(float(rc[0])) - mpmath.mpf(base))))
    assert math.isfinite(got)
    assert abs(got - float(exact)) <= 1e-13 * max(float(exact), 2.0**-970)


@given(st.floats(-2000, 0), st.floats(-2000, 0), st.floats(-2000, 0), st.floats(-2000, 0), st.floats(1e-3, 10))
@example(0.0, -2000.0, -2000.0, 0.0, 10.0)
@example(-2000.0, 0.0, 0.0, -2000.0, 10.0)
def test_dpo_loss_matches_mpmath(pc: float, pr: float, rc: float, rr: float, beta: float) -> None:
    got = float(reference.dpo_loss(np.array([pc]), np.array([pr]), np.array([rc]), np.array([rr]), beta)[0])
    with mpmath.workdps(50):
        f = mpmath.mpf
        margin = beta * ((f(pc) - f(rc)) - (f(pr) - f(rr)))
        exact = float(mpmath.log1p(mpmath.exp(-margin)))
    cond = max(1.0, beta * (abs(pc) + abs(pr) + abs(rc) + abs(rr)))
    assert math.isfinite(got)
    assert abs(got - exact) <= 1e-13 * max(exact, 2.0**-970) * cond


def test_dpo_is_bt_of_implicit_rewards_second_formulation() -> None:
    rng = np.random.default_rng(0)
    pc, pr, rc, rr = (-rng.uniform(0, 30, 20) for _ in range(4))
    beta = 0.3
    a = reference.dpo_loss(pc, pr, rc, rr, beta)
    b = reference.bt_loss(reference.dpo_implicit_reward(pc, rc, beta), reference.dpo_implicit_reward(pr, rr, beta))
    np.testing.assert_allclose(a, b, rtol=1e-13)


# ------------------------------------------------------------------ the token MDP


def test_enumerate_and_prefix_index_are_a_bijection() -> None:
    for v, n in [(1, 3), (2, 3), (3, 2), (4, 1)]:
        ys = reference.enumerate_responses(v, n)
        assert ys.shape == (v**n, n)
        assert len({tuple(y) for y in ys}) == v**n
        rows = reference.prefix_index(ys, v)
        seen: dict[tuple[int, ...], int] = {}
        for y, rr in zip(ys, rows):
            for t in range(n):
                seen.setdefault(tuple(y[:t]), int(rr[t]))
                assert seen[tuple(y[:t])] == rr[t]
        assert sorted(seen.values()) == list(range(sum(v**t for t in range(n))))
        # ordered by length first
        by_len = sorted(seen, key=lambda p: seen[p])
        assert [len(p) for p in by_len] == sorted(len(p) for p in by_len)


def test_tabular_model_probabilities_are_exact_products_of_fractions() -> None:
    # next-token distributions chosen as rationals; logits = their logs, so softmax returns them
    v, n = 2, 3
    rows = sum(v**t for t in range(n))
    rng = np.random.default_rng(1)
    fr = [[Fraction(int(k), 7) for k in (a, 7 - a)] for a in rng.integers(1, 7, rows)]
    table = np.log(np.array([[float(p) for p in row] for row in fr]))
    ys = reference.enumerate_responses(v, n)
    tok = reference.tabular_token_log_probs(table, ys)
    seq = reference.sequence_log_prob(tok, np.ones(tok.shape, dtype=bool))
    total = Fraction(0)
    for y, s in zip(ys, seq):
        p = Fraction(1)
        for t in range(n):
            row = sum(v**k for k in range(t)) + int("".join(map(str, y[:t])) or "0", 2)
            p *= fr[row][y[t]]
        total += p
        assert abs(math.exp(s) - float(p)) <= 1e-15
    assert total == 1


@given(st.data())
def test_sequence_log_prob_ignores_padding(data: st.DataObject) -> None:
    lengths = data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    pad = data.draw(paddings(lengths))
    rows = [np.asarray(data.draw(st.lists(st.floats(-30, 0), min_size=k, max_size=k))) for k in lengths]
    lp, mask = pad_rows(rows, pad, garbage=-50.0, seed=3)
    note(f"mask={mask}")
    got = reference.sequence_log_prob(lp, mask)
    for g, r in zip(got, rows):
        assert abs(g - math.fsum(r)) <= 1e-13 * max(1.0, float(np.abs(r).sum()))


# ------------------------------------------------------------------ rewards, returns, GAE


def _fraction_gae(r: list[Fraction], v: list[Fraction], g: Fraction, lam: Fraction) -> list[Fraction]:
    out: list[Fraction] = []
    n = len(r)
    for t in range(n):
        acc = Fraction(0)
        for k in range(t, n):
            nxt = v[k + 1] if k + 1 < n else Fraction(0)
            acc += (g * lam) ** (k - t) * (r[k] + g * nxt - v[k])
        out.append(acc)
    return out


@given(
    st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)), min_size=1, max_size=6),
    st.sampled_from(["none", "left", "right", "both"]),
    st.fractions(0, 1, max_denominator=8),
    st.fractions(0, 1, max_denominator=8),
)
@example([(1, 0)], "right", Fraction(1), Fraction(1))
@example([(0, 1), (0, 1), (3, 2)], "left", Fraction(0), Fraction(1))
@example([(0, 1), (0, 1), (3, 2)], "both", Fraction(1), Fraction(0))
def test_masked_gae_and_returns_match_exact_fractions(rv: list[tuple[int, int]], style: str, g: Fraction, lam: Fraction) -> None:
    r = [Fraction(a) for a, _ in rv]
    v = [Fraction(b) for _, b in rv]
    n = len(rv)
    left = {"none": 0, "left": 2, "right": 0, "both": 1}[style]
    width = n + (0 if style == "none" else 2)
    pad = Padding((left,), (n,), width, style)
    rp, mask = pad_rows([np.array([float(x) for x in r])], pad, 1e6, seed=0)
    vp, _ = pad_rows([np.array([float(x) for x in v])], pad, 1e6, seed=1)
    adv = reference.masked_gae(rp, vp, mask, float(g), float(lam))
    ret = reference.masked_returns(rp, mask, float(g))
    exp_adv = _fraction_gae(r, v, g, lam)
    exp_ret = [sum((g**k * r[t + k] for k in range(n - t)), Fraction(0)) for t in range(n)]
    assert np.all(adv[~mask] == 0) and np.all(ret[~mask] == 0)
    np.testing.assert_allclose(adv[mask], [float(x) for x in exp_adv], rtol=0, atol=1e-12)
    np.testing.assert_allclose(ret[mask], [float(x) for x in exp_ret], rtol=0, atol=1e-12)


def test_masked_gae_is_gae_with_terminal_end_second_formulation() -> None:
    rng = np.random.default_rng(2)
    lengths = [4, 1, 3]
    pad = Padding((0, 2, 1), tuple(lengths), 5, "both")
    rows_r = [rng.normal(size=k) for k in lengths]
    rows_v = [rng.normal(size=k) for k in lengths]
    rp, mask = pad_rows(rows_r, pad, 1e3, 0)
    vp, _ = pad_rows(rows_v, pad, 1e3, 1)
    adv = reference.masked_gae(rp, vp, mask, 0.97, 0.9)
    for i, (r, v) in enumerate(zip(rows_r, rows_v)):
        nv = np.append(v[1:], 0.0)
        term = np.zeros(len(r), dtype=bool)
        term[-1] = True
        expected = reference.gae(r, v, nv, term, np.zeros_like(term), 0.97, 0.9)
        np.testing.assert_allclose(adv[i, mask[i]], expected, rtol=0, atol=1e-14)


def test_kl_rewards_with_beta_zero_is_the_score_on_the_last_token() -> None:
    mask = np.array([[False, True, True, False], [True, True, True, True]])
    out = reference.kl_rewards(np.array([2.0, -1.0]), np.full((2, 4), -1.0), np.full((2, 4), -3.0), mask, 0.0)
    np.testing.assert_array_equal(out, [[0, 0, 2, 0], [0, 0, 0, -1]])


def test_last_token_index_and_reward_by_hand() -> None:
    mask = np.array([[0, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1]], dtype=bool)
    np.testing.assert_array_equal(reference.last_token_index(mask), [2, 4, 4])
    h = np.arange(30.0).reshape(3, 5, 2)
    w = np.array([1.0, -2.0])
    got = reference.last_token_reward(h, mask, w, 0.5)
    np.testing.assert_array_equal(got, [h[0, 2] @ w + 0.5, h[1, 4] @ w + 0.5, h[2, 4] @ w + 0.5])
    np.testing.assert_array_equal(reference.value_head(h, w, 0.5), h @ w + 0.5)


# ------------------------------------------------------------------ Bradley–Terry fitting


def test_fit_bt_two_items_is_the_log_odds() -> None:
    r = reference.fit_bt_rewards(np.array([0, 1]), np.array([1, 0]), 2, weights=np.array([3.0, 1.0]))
    assert r[0] - r[1] == pytest.approx(math.log(3.0), abs=1e-12)
    assert r.sum() == pytest.approx(0.0, abs=1e-14)


def test_fit_bt_recovers_expected_preferences_and_shrinks_with_l2() -> None:
    truth = np.array([1.0, -0.5, 0.25, 2.0])
    i, j = np.array([(a, b) for a in range(4) for b in range(4) if a != b]).T
    w = 1.0 / (1.0 + np.exp(-(truth[i] - truth[j])))
    r = reference.fit_bt_rewards(i, j, 4, weights=w)
    np.testing.assert_allclose(r, truth - truth.mean(), atol=1e-10)
    shrunk = reference.fit_bt_rewards(i, j, 4, weights=w, l2=1.0)
    assert abs(shrunk.sum()) < 1e-10 and np.ptp(shrunk) < np.ptp(r)


# ------------------------------------------------------------------ §14.4 variants, exactly


def test_trl_score_slot_after_eos_equals_ours_only_at_lambda_one() -> None:
    rng = np.random.default_rng(4)
    n = 4
    kl = rng.normal(size=n)
    score, v = 1.7, rng.normal(size=n)
    v_pad = 0.3  # the value head's output at the pad slot after EOS
    ours_r = kl.copy()
    ours_r[-1] += score
    trl_r = np.append(kl, score)  # the score one slot later, that slot kept in the scan
    trl_v = np.append(v, v_pad)
    ones = np.ones((1, n), dtype=bool)
    for lam in (1.0, 0.95, 0.0):
        ours = reference.masked_gae(ours_r[None], v[None], ones, 1.0, lam)[0]
        trl = reference.masked_gae(trl_r[None], trl_v[None], np.ones((1, n + 1), dtype=bool), 1.0, lam)[0, :n]
        gap = (1 - lam) * (v_pad - score) * lam ** np.arange(n - 1, -1, -1)
        np.testing.assert_allclose(trl - ours, gap, atol=1e-14)


def test_k3_has_the_kl_expectation_but_not_its_gradient() -> None:
    theta = np.array([0.4, -1.0, 0.3])
    ref = np.array([0.2, 0.5, 0.3])
    pi = np.exp(theta) / np.exp(theta).sum()
    rho = ref / pi
    k1 = np.log(pi / ref)
    k3 = (rho - 1) - np.log(rho)
    kl = float(pi @ k1)
    assert float(pi @ k3) == pytest.approx(kl, rel=1e-14)  # same expectation
    score = np.eye(3) - pi  # ∇_θ log π(a), row a
    grad_kl = score.T @ (pi * k1)  # = ∇_θ KL(π‖π_ref) (E[∇log π] = 0)
    h = 1e-6
    fd = np.array([(float(np.exp(theta + h * e) / np.exp(theta + h * e).sum() @ np.log(np.exp(theta + h * e) / np.exp(theta + h * e).sum() / ref))
                    - float(np.exp(theta - h * e) / np.exp(theta - h * e).sum() @ np.log(np.exp(theta - h * e) / np.exp(theta - h * e).sum() / ref))) / (2 * h)
                   for e in np.eye(3)])
    np.testing.assert_allclose(grad_kl, fd, atol=1e-8)
    grad_k3_reward = score.T @ (pi * k3)  # k3 used as a (negated) reward in a score-function gradient
    assert np.max(np.abs(grad_k3_reward - grad_kl)) > 1e-2


def test_k3_in_the_loss_follows_the_reverse_kl() -> None:
    # GRPO-style: minimize E_{a~π_old}[k3_θ(a)] with k3_θ = π_ref/π_θ − 1 − log(π_ref/π_θ); at θ = θ_old
    # its gradient is Σ_a π(a)(1 − ρ(a))∇log π(a) = ∇ KL(π_ref‖π_θ), not ∇ KL(π_θ‖π_ref)
    theta = np.array([1.0, -0.5, 0.2, 0.0])
    ref = np.array([0.1, 0.4, 0.3, 0.2])

    def softmax(th: np.ndarray) -> np.ndarray:
        e = np.exp(th - th.max())
        out: np.ndarray = e / e.sum()
        return out

    pi = softmax(theta)
    score = np.eye(4) - pi
    grad_loss = score.T @ (pi * (1 - ref / pi))
    h = 1e-6

    def fd(f: Callable[[np.ndarray], float]) -> np.ndarray:
        return np.array([(f(theta + h * e) - f(theta - h * e)) / (2 * h) for e in np.eye(4)])

    reverse = fd(lambda th: float(ref @ np.log(ref / softmax(th))))
    forward = fd(lambda th: float(softmax(th) @ np.log(softmax(th) / ref)))
    np.testing.assert_allclose(grad_loss, reverse, atol=1e-8)
    assert np.max(np.abs(grad_loss - forward)) > 1e-2


# ------------------------------------------------------------------ bad input

E = np.zeros(0)
M1 = np.array([[True, False]])
M0 = np.array([[False, False]])

BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("bt empty", lambda: reference.bt_loss(E, E), ValueError, "empty batch"),
    ("bt shapes", lambda: reference.bt_loss(np.zeros(2), np.zeros(3)), ValueError, "r_rejected"),
    ("bt nan", lambda: reference.bt_loss(np.array([np.nan]), np.zeros(1)), ValueError, "r_chosen"),
    ("bt grad empty", lambda: reference.bt_loss_grad(E, E), ValueError, "empty batch"),
    ("bt prob 2-D", lambda: reference.bt_preference_prob(np.zeros((1, 1)), np.zeros((1, 1))), ValueError, "r_chosen"),
    ("dpo empty", lambda: reference.dpo_loss(E, E, E, E, 0.1), ValueError, "empty batch"),
    ("dpo beta 0", lambda: reference.dpo_loss(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), 0.0), ValueError, "beta"),
    ("dpo beta <0", lambda: reference.dpo_loss(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), -1.0), ValueError, "beta"),
    ("dpo shapes", lambda: reference.dpo_loss(np.zeros(1), np.zeros(2), np.zeros(1), np.zeros(1), 1.0), ValueError, "policy_rejected"),
    ("implicit beta", lambda: reference.dpo_implicit_reward(np.zeros(1), np.zeros(1), 0.0), ValueError, "beta"),
    ("implicit shapes", lambda: reference.dpo_implicit_reward(np.zeros(2), np.zeros(1), 1.0), ValueError, "ref_logp"),
    ("implicit empty", lambda: reference.dpo_implicit_reward(E, E, 1.0), ValueError, "empty batch"),
    ("pistar beta 0", lambda: reference.kl_optimal_policy(np.array([1.0]), np.array([0.0]), 0.0), ValueError, "beta"),
    ("value beta <0", lambda: reference.kl_optimal_value(np.array([1.0]), np.array([0.0]), -0.5), ValueError, "beta"),
    ("J beta <0", lambda: reference.kl_regularized_objective(np.array([1.0]), np.array([1.0]), np.array([0.0]), -0.5), ValueError, "beta"),
    ("J not a distribution", lambda: reference.kl_regularized_objective(np.array([0.5]), np.array([1.0]), np.array([0.0]), 1.0), ValueError, "policy_probs"),
    ("seq empty", lambda: reference.sequence_log_prob(np.zeros((0, 2)), np.zeros((0, 2), bool)), ValueError, "empty batch"),
    ("seq no response token", lambda: reference.sequence_log_prob(np.zeros((1, 2)), M0), ValueError, "no response token"),
    ("seq positive logp", lambda: reference.sequence_log_prob(np.array([[0.5, 0.0]]), M1), ValueError, "token_logp"),
    ("seq shapes", lambda: reference.sequence_log_prob(np.zeros((1, 3)), M1), ValueError, "mask"),
    ("seq mask values", lambda: reference.sequence_log_prob(np.zeros((1, 2)), np.array([[2, 0]])), ValueError, "mask"),
    ("enumerate vocab 0", lambda: reference.enumerate_responses(0, 2), ValueError, "vocab_size"),
    ("enumerate length float", lambda: reference.enumerate_responses(2, 2.0), TypeError, "length"),  # type: ignore[arg-type]
    ("enumerate too many", lambda: reference.enumerate_responses(10, 7), ValueError, "enumeration limit"),
    ("prefix token range", lambda: reference.prefix_index(np.array([[0, 3]]), 3), ValueError, "responses"),
    ("table rows", lambda: reference.tabular_token_log_probs(np.zeros((2, 2)), np.zeros((1, 2), int)), ValueError, "next_token_logits"),
    ("table no tokens", lambda: reference.tabular_token_log_probs(np.zeros((1, 0)), np.zeros((1, 1), int)), ValueError, "next_token_logits"),
    ("table empty response", lambda: reference.tabular_token_log_probs(np.zeros((1, 2)), np.zeros((1, 0), int)), ValueError, "responses"),
    ("kl no response token", lambda: reference.kl_rewards(np.zeros(1), np.zeros((1, 2)), np.zeros((1, 2)), M0, 0.1), ValueError, "no response token"),
    ("kl beta <0", lambda: reference.kl_rewards(np.zeros(1), np.zeros((1, 2)), np.zeros((1, 2)), M1, -0.1), ValueError, "beta"),
    ("kl empty", lambda: reference.kl_rewards(E, np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2), bool), 0.1), ValueError, "empty batch"),
    ("kl scores shape", lambda: reference.kl_rewards(np.zeros(2), np.zeros((1, 2)), np.zeros((1, 2)), M1, 0.1), ValueError, "scores"),
    ("gae no response token", lambda: reference.masked_gae(np.zeros((1, 2)), np.zeros((1, 2)), M0), ValueError, "no response token"),
    ("gae values shape", lambda: reference.masked_gae(np.zeros((1, 2)), np.zeros((1, 3)), M1), ValueError, "values"),
    ("gae lam", lambda: reference.masked_gae(np.zeros((1, 2)), np.zeros((1, 2)), M1, 1.0, 1.5), ValueError, "lam"),
    ("gae empty", lambda: reference.masked_gae(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros((0, 2), bool)), ValueError, "empty batch"),
    ("returns gamma", lambda: reference.masked_returns(np.zeros((1, 2)), M1, -0.1), ValueError, "gamma"),
    ("returns mask shape", lambda: reference.masked_returns(np.zeros((1, 2)), np.ones((2, 2), bool)), ValueError, "mask"),
    ("reward no token", lambda: reference.last_token_reward(np.zeros((1, 2, 3)), M0, np.zeros(3), 0.0), ValueError, "no response token"),
    ("reward w shape", lambda: reference.last_token_reward(np.zeros((1, 2, 3)), M1, np.zeros(2), 0.0), ValueError, "w"),
    ("reward mask shape", lambda: reference.last_token_reward(np.zeros((1, 2, 3)), np.ones((1, 3), bool), np.zeros(3), 0.0), ValueError, "mask"),
    ("reward b array", lambda: reference.last_token_reward(np.zeros((1, 2, 3)), M1, np.zeros(3), np.zeros(2)), ValueError, "b"),  # type: ignore[arg-type]
    ("reward empty", lambda: reference.last_token_reward(np.zeros((0, 2, 3)), np.zeros((0, 2), bool), np.zeros(3), 0.0), ValueError, "empty batch"),
    ("value head 2-D", lambda: reference.value_head(np.zeros((2, 3)), np.zeros(3), 0.0), ValueError, "hidden"),
    ("index no token", lambda: reference.last_token_index(M0), ValueError, "no response token"),
    ("fit self", lambda: reference.fit_bt_rewards(np.array([0]), np.array([0]), 2), ValueError, "winners"),
    ("fit disconnected", lambda: reference.fit_bt_rewards(np.array([0, 1, 2, 3]), np.array([1, 0, 3, 2]), 4), ValueError, "unconnected"),
    ("fit separable", lambda: reference.fit_bt_rewards(np.array([0, 0]), np.array([1, 2]), 3), ValueError, "infinite"),
    ("fit weights", lambda: reference.fit_bt_rewards(np.array([0, 1]), np.array([1, 0]), 2, weights=np.array([1.0, -1.0])), ValueError, "weights"),
    ("fit empty", lambda: reference.fit_bt_rewards(np.zeros(0, int), np.zeros(0, int), 2), ValueError, "empty batch"),
    ("fit range", lambda: reference.fit_bt_rewards(np.array([0]), np.array([5]), 2), ValueError, "losers"),
    ("fit n_items", lambda: reference.fit_bt_rewards(np.array([0]), np.array([1]), 1), ValueError, "n_items"),
    ("fit l2", lambda: reference.fit_bt_rewards(np.array([0, 1]), np.array([1, 0]), 2, l2=-1.0), ValueError, "l2"),
]


@pytest.mark.parametrize(("fn", "exc", "text"), [(c[1], c[2], c[3]) for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_raises_clear_error(fn: Callable[[], Any], exc: type[Exception], text: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert text in str(info.value), f"message does not mention {text!r}: {info.value}"


def test_separable_data_fits_with_l2() -> None:
    r = reference.fit_bt_rewards(np.array([0, 0]), np.array([1, 2]), 3, l2=0.5)
    assert np.all(np.isfinite(r)) and r[0] > r[1] and r[0] > r[2]
