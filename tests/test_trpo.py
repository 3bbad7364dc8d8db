"""§10 reference functions against closed forms, exact fractions and autograd; bad input."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import reference
from verification.strategies.ppo import SPDCase, TrustRegionCase, spd_cases, trust_region_cases


def test_worked_example_one_state_two_actions() -> None:
    # SPEC.md §10: logits (0, 0), A = (0, 1), d = (1), δ = 0.01.
    th, adv, d = np.zeros((1, 2)), np.array([[0.0, 1.0]]), np.array([1.0])
    g = reference.surrogate_gradient(th, adv, d)
    np.testing.assert_allclose(g, [-0.25, 0.25], rtol=0, atol=1e-16)
    f = reference.fisher_matrix(th, d)
    np.testing.assert_allclose(f, [[0.25, -0.25], [-0.25, 0.25]], rtol=0, atol=1e-16)
    step = math.sqrt(0.08) * np.array([-0.5, 0.5])
    assert 0.125 * (step[1] - step[0]) ** 2 == pytest.approx(0.01, rel=1e-14)
    # the step is accepted at once when its exact KL is within δ (computed here by hand)
    p = np.exp(step) / np.exp(step).sum()
    kl = float(np.sum(p * np.log(2 * p)))
    assert kl < 0.01
    new, j = reference.trpo_step(th, adv, d, 0.01)
    assert j == 0
    np.testing.assert_allclose((new - th).reshape(-1), step, rtol=1e-10)
    assert reference.mean_kl(new, th, d) == pytest.approx(kl, rel=1e-12)


def test_natural_step_one_dimension() -> None:
    # g = 2, H = 4, δ = 1/2: gᵀH⁻¹g = 1, Δ = sqrt(2·½/1)·(1/2) = 1/2 and ½·4·¼ = ½
    assert reference.natural_step([2.0], [[4.0]], 0.5)[0] == 0.5
    assert np.all(reference.natural_step([0.0, 0.0], np.eye(2), 0.1) == 0.0)


@given(spd_cases(max_n=5, max_log10_cond=4), st.sampled_from([0.25, 4.0, 100.0]))
def test_natural_step_scales_as_one_over_sqrt_c(case: SPDCase, c: float) -> None:
    # Δ(cH) = Δ(H)/√c: the trust region shrinks with the curvature
    a = reference.natural_step(case.b, case.matrix, 0.01)
    b = reference.natural_step(case.b, c * case.matrix, 0.01)
    np.testing.assert_allclose(b, a / math.sqrt(c), rtol=1e-9, atol=1e-14 * float(np.max(np.abs(a))))


@pytest.mark.parametrize("c", [1e-160, 1e160, 2.0**-600, 3.0])
@pytest.mark.parametrize("damping", [0.0, 0.1])
def test_natural_step_is_independent_of_the_scale_of_g(c: float, damping: float) -> None:
    # Δ(c·g) = Δ(g) for c > 0, also where gᵀF⁻¹g itself would underflow (c = 1e-160: (1e-160)² is
    # subnormal and 2δ/gᵀF⁻¹g overflows) or overflow (c = 1e160); g is rescaled before anything is
    # squared.  Reference value: eq. (10.5)
    # evaluated on g of unit scale, where nothing under- or overflows.
    f = np.array([[2.0, 0.5], [0.5, 1.0]])
    g = np.array([1.0, -0.5])
    fd = f + damping * np.eye(2)
    x = np.linalg.solve(fd, g)
    want = math.sqrt(2.0 * 0.01 / float(g @ x)) * x
    got = reference.natural_step(c * g, f, 0.01, damping=damping)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-14)
    if c in (1e-160, 1e160):  # the unscaled formula fails there (the step of the issue: ±inf or NaN)
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            xc = np.linalg.solve(fd, c * g)
            naive = np.sqrt(2.0 * 0.01 / np.float64((c * g) @ xc)) * xc
        assert not np.all(np.isfinite(naive)) or not np.allclose(naive, want, rtol=1e-6)


def test_natural_step_power_of_two_scale_is_bitwise() -> None:
    # the rescaling is an exact division by a power of two: 2^k·g gives bitwise the step of g
    g = np.array([0.3, -1.7, 0.2])
    f = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.1], [0.0, 0.1, 3.0]])
    base = reference.natural_step(g, f, 0.02, damping=0.1)
    for k in (-700, -20, 1, 500):
        assert np.array_equal(reference.natural_step(np.ldexp(g, k), f, 0.02, damping=0.1), base)


def test_conjugate_gradient_exact_two_by_two() -> None:
    # H = [[4, 1], [1, 3]], b = (1, 2): x = H⁻¹b = (1/11, 7/11), reached in 2 iterations
    h = np.array([[4.0, 1.0], [1.0, 3.0]])
    x = reference.conjugate_gradient(lambda v: h @ v, [1.0, 2.0], 2)
    exact = [Fraction(1, 11), Fraction(7, 11)]
    assert all(abs(Fraction(float(xi)) - e) < Fraction(1, 10**15) for xi, e in zip(x, exact))
    # damping λ = 1 solves (H + I)x = b: [[5, 1], [1, 4]]⁻¹(1, 2) = (2/19, 9/19)
    xd = reference.conjugate_gradient(lambda v: h @ v, [1.0, 2.0], 2, damping=1.0)
    np.testing.assert_allclose(xd, [2 / 19, 9 / 19], rtol=1e-14)


def test_conjugate_gradient_zero_iterations_and_zero_rhs() -> None:
    assert np.all(reference.conjugate_gradient(lambda v: v, [1.0, 2.0], 0) == 0.0)
    assert np.all(reference.conjugate_gradient(lambda v: v, [0.0, 0.0], 5) == 0.0)


@given(trust_region_cases())
@example(TrustRegionCase(np.zeros((1, 2)), np.array([[0.0, 1.0]]), np.array([1.0]), 0.01))
def test_fvp_is_fisher_times_x_and_fisher_is_psd(case: TrustRegionCase) -> None:
    f = reference.fisher_matrix(case.logits_old, case.state_dist)
    np.testing.assert_allclose(f, f.T, rtol=0, atol=1e-15)
    assert np.linalg.eigvalsh(f).min() > -1e-12
    # adding a constant to one state's logits does not change the policy: the ones vector of each block is null
    n_s, n_a = case.logits_old.shape
    for s in range(n_s):
        e = np.zeros(n_s * n_a)
        e[s * n_a : (s + 1) * n_a] = 1.0
        assert np.max(np.abs(f @ e)) < 1e-14
    x = np.linspace(-1.0, 1.0, n_s * n_a)
    np.testing.assert_allclose(reference.fisher_vector_product(case.logits_old, case.state_dist, x), f @ x, rtol=0, atol=1e-13)


def test_mean_kl_direction_by_hand() -> None:
    th_k, th = np.zeros((1, 2)), np.log([[0.25, 0.75]])
    d = np.array([1.0])
    new_old = 0.25 * math.log(0.25 / 0.5) + 0.75 * math.log(0.75 / 0.5)
    old_new = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert reference.mean_kl(th, th_k, d) == pytest.approx(new_old, abs=1e-15)
    assert reference.mean_kl(th_k, th, d) == pytest.approx(old_new, abs=1e-15)
    assert abs(new_old - old_new) > 1e-3


def test_surrogate_is_expected_advantage_of_new_policy() -> None:
    th_k, th = np.array([[0.0, 1.0], [2.0, -1.0]]), np.array([[1.0, 0.0], [0.0, 0.0]])
    adv, d = np.array([[1.0, -1.0], [0.5, 2.0]]), np.array([0.25, 0.75])
    pi = np.exp(th) / np.exp(th).sum(axis=1, keepdims=True)
    assert reference.surrogate_advantage(th, th_k, adv, d) == pytest.approx(float(d @ (pi * adv).sum(axis=1)), abs=1e-15)


def test_line_search_boundaries() -> None:
    def obj(x: np.ndarray) -> float:
        return float(x[0])

    def kl(x: np.ndarray) -> float:
        return float(x[0] ** 2)

    theta = np.array([0.0])
    # KL exactly δ at j = 0 is accepted
    new, j = reference.backtracking_line_search(obj, kl, theta, np.array([0.5]), 0.25)
    assert j == 0 and new[0] == 0.5
    # KL too large: α = 1/2 gives 1, 1/2, 1/4 ... KL 1, 1/4 -> j = 1
    new, j = reference.backtracking_line_search(obj, kl, theta, np.array([1.0]), 0.25, backtrack_coef=0.5)
    assert j == 1 and new[0] == 0.5
    # a descent direction is never accepted, and θ_k is returned as a copy
    new, j = reference.backtracking_line_search(obj, kl, theta, np.array([-0.1]), 0.25)
    assert j is None and new[0] == 0.0 and new is not theta
    # a zero step is not an improvement
    assert reference.backtracking_line_search(obj, kl, theta, np.array([0.0]), 0.25)[1] is None


def _sym(a: list[list[float]]) -> np.ndarray:
    return np.array(a)


D2 = np.array([0.5, 0.5])
BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("max_kl 0", lambda: reference.natural_step([1.0], [[1.0]], 0.0), ValueError, "max_kl"),
    ("max_kl negative", lambda: reference.natural_step([1.0], [[1.0]], -1.0), ValueError, "max_kl"),
    ("fisher not symmetric", lambda: reference.natural_step([1.0, 1.0], _sym([[1.0, 0.5], [0.0, 1.0]]), 0.1), ValueError, "symmetric"),
    ("fisher not PD", lambda: reference.natural_step([1.0, 1.0], _sym([[1.0, 2.0], [2.0, 1.0]]), 0.1), ValueError, "positive definite"),
    ("fisher singular", lambda: reference.natural_step([1.0, 1.0], _sym([[1.0, 1.0], [1.0, 1.0]]), 0.1), ValueError, "fisher"),
    ("g vs fisher shapes", lambda: reference.natural_step([1.0, 1.0, 1.0], np.eye(2), 0.1), ValueError, "fisher"),
    ("damping negative", lambda: reference.natural_step([1.0], [[1.0]], 0.1, damping=-0.1), ValueError, "damping"),
    ("cg iters negative", lambda: reference.conjugate_gradient(lambda v: v, [1.0], -1), ValueError, "iters"),
    ("cg iters float", lambda: reference.conjugate_gradient(lambda v: v, [1.0], 2.0), TypeError, "iters"),  # type: ignore[arg-type]
    ("cg iters str", lambda: reference.conjugate_gradient(lambda v: v, [1.0], "3"), TypeError, "iters"),  # type: ignore[arg-type]
    ("cg iters bool", lambda: reference.conjugate_gradient(lambda v: v, [1.0], True), TypeError, "iters"),
    ("cg b shorter than the operator", lambda: reference.conjugate_gradient(lambda v: np.eye(3) @ v, [1.0, 1.0], 3), ValueError, "b:"),
    ("cg b longer than the operator", lambda: reference.conjugate_gradient(lambda v: (np.eye(2) @ v[:2]), [1.0, 1.0, 1.0], 3), ValueError, "b has"),
    ("cg empty b", lambda: reference.conjugate_gradient(lambda v: v, [], 3), ValueError, "b:"),
    ("natural_step empty g", lambda: reference.natural_step([], np.zeros((0, 0)), 0.1), ValueError, "g:"),
    ("cg not PD", lambda: reference.conjugate_gradient(lambda v: -v, [1.0, 1.0], 3), ValueError, "positive definite"),
    ("cg wrong shape", lambda: reference.conjugate_gradient(lambda v: np.zeros(3), [1.0, 1.0], 3), ValueError, "matvec"),
    ("cg not callable", lambda: reference.conjugate_gradient(np.eye(2), [1.0, 1.0], 3), TypeError, "matvec"),  # type: ignore[arg-type]
    ("cg damping", lambda: reference.conjugate_gradient(lambda v: v, [1.0], 1, damping=-1.0), ValueError, "damping"),
    ("state_dist sum", lambda: reference.mean_kl(np.zeros((2, 2)), np.zeros((2, 2)), np.array([0.5, 0.6])), ValueError, "state_dist"),
    ("state_dist length", lambda: reference.mean_kl(np.zeros((2, 2)), np.zeros((2, 2)), np.array([1.0])), ValueError, "state_dist"),
    ("logits shapes", lambda: reference.surrogate_advantage(np.zeros((2, 3)), np.zeros((2, 2)), np.zeros((2, 2)), D2), ValueError, "logits"),
    ("advantages shape", lambda: reference.surrogate_gradient(np.zeros((2, 2)), np.zeros((2, 3)), D2), ValueError, "advantages"),
    ("fvp x shape", lambda: reference.fisher_vector_product(np.zeros((2, 2)), D2, np.zeros(3)), ValueError, "x"),
    ("taylor shapes", lambda: reference.kl_taylor(np.eye(2), np.zeros(3)), ValueError, "fisher"),
    ("surrogate taylor shapes", lambda: reference.surrogate_taylor(np.zeros(2), np.zeros(3)), ValueError, "step"),
    ("ls alpha", lambda: reference.backtracking_line_search(float, float, [0.0], [1.0], 0.1, backtrack_coef=1.0), ValueError, "backtrack_coef"),
    ("ls tries", lambda: reference.backtracking_line_search(float, float, [0.0], [1.0], 0.1, max_backtracks=0), ValueError, "max_backtracks"),
    ("ls delta", lambda: reference.backtracking_line_search(float, float, [0.0], [1.0], 0.0), ValueError, "max_constraint"),
    ("ls shapes", lambda: reference.backtracking_line_search(float, float, [0.0], [1.0, 2.0], 0.1), ValueError, "full_step"),
    ("ls not callable", lambda: reference.backtracking_line_search(1.0, float, [0.0], [1.0], 0.1), TypeError, "objective"),  # type: ignore[arg-type]
    ("trpo max_kl", lambda: reference.trpo_step(np.zeros((1, 2)), np.zeros((1, 2)), [1.0], 0.0), ValueError, "max_kl"),
]


@pytest.mark.parametrize(("fn", "exc", "name"), [(c[1], c[2], c[3]) for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_names_the_argument(fn: Callable[[], Any], exc: type[Exception], name: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert name in str(info.value), info.value
