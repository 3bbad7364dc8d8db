"""Claims of SPEC.md §8: importance sampling and the importance-weighted policy gradient."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import reference

from ..exact import Trajectories, enumerate_trajectories
from ..registry import Claim, ClaimViolation, Impl, Measurement, compare, register
from ..strategies.importance import FiniteISCase, OffPolicyCase, finite_is_cases, off_policy_cases
from ._offpolicy import exact_gradient_1t, step_tables, surrogate_gradient_autograd
from .s01_policy_gradient import EXACT_TOL, EXACT_WHY, PINNED_2X2, PINNED_DISC

# ---------------------------------------------------------------------------------------- pinned


def _off(base: object, logits: list[list[float]]) -> OffPolicyCase:
    from ..strategies.mdp import MDPCase

    assert isinstance(base, MDPCase)
    return OffPolicyCase(base.mdp, base.logits, np.asarray(logits, dtype=float))


#: θ_old = the pinned 2x2 MDP's logits, θ a different policy.
OFF_2X2 = _off(PINNED_2X2, [[-0.5, 0.7], [0.2, 0.4]])
#: the discounted pinned MDP (γ = 0.9), with a target policy that swaps the preferences.
OFF_DISC = _off(PINNED_DISC, [[-1.0, 1.0], [0.5, -0.5]])
#: θ = θ_old: the on-policy special case.
ON_2X2 = _off(PINNED_2X2, PINNED_2X2.logits.tolist())
OFF_PINNED = (OFF_2X2, OFF_DISC, ON_2X2)

# ---------------------------------------------------------------------------------------- IS-UNBIASED


def _check_is_unbiased(case: FiniteISCase, impl: Impl) -> Measurement:
    expected = np.tensordot(case.p, case.f, axes=(0, 0))  # Σ_x p(x) f(x), sampled from p
    got = np.asarray(impl.importance_expectation(case.f, case.p, case.q))
    scale = max(1.0, float(np.max(np.tensordot(case.p, np.abs(case.f), axes=(0, 0)))))
    err = float(np.max(np.abs(got - expected))) / scale if got.shape == expected.shape else float("inf")
    return Measurement(err, expected=expected, got=got, detail="E_q[(p/q) f] vs Σ_x p(x) f(x); error relative to max(1, E_p|f|)")


register(
    Claim(
        id="IS-UNBIASED",
        title="importance sampling reweights one distribution's expectation into another's",
        statement=(
            "E_{x~q}[(p(x)/q(x)) f(x)] = E_{x~p}[f(x)] for finite distributions whenever q(x) > 0 wherever "
            "p(x) > 0 (eq. 8.1); points where q = p = 0 contribute nothing"
        ),
        section="§8",
        source=("S8.1",),
        method=(
            "exact finite sums: Σ_x q(x)(p(x)/q(x))f(x) from importance_expectation vs Σ_x p(x)f(x); Hypothesis over "
            "K <= 6 points with rational p, q (zeros in both, q = 0 only where p = 0) and scalar or vector f in [-100, 100]"
        ),
        tolerance=1e-12,
        tolerance_reason="two float64 sums of K <= 6 products, each with one extra division and multiplication: a few ulps of E_p|f|",
        strategy=finite_is_cases,
        check=_check_is_unbiased,
        uses=("importance_expectation",),
        examples=(
            FiniteISCase(np.array([0.5, 0.5]), np.array([0.5, 0.5]), np.array([1.0, 3.0])),
            FiniteISCase(np.array([0.0, 0.25, 0.75]), np.array([0.5, 0.25, 0.25]), np.array([7.0, -1.0, 2.0])),
            FiniteISCase(np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.1, 0.9]), np.array([[5.0, 1.0], [2.0, -3.0], [9.0, 9.0]])),
        ),
    )
)

# ---------------------------------------------------------------------------------------- IS-OFF-POLICY-GRADIENT


def off_policy_estimates(case: OffPolicyCase, impl: Impl) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The three off-policy forms of eq. (8.3), each as (expected, got) over trajectories of π_old."""
    mdp = case.mdp
    tr = enumerate_trajectories(mdp, case.logits_old)
    new = step_tables(mdp, case.logits, tr)
    old = step_tables(mdp, case.logits_old, tr)
    scores = _scores(case, tr)
    grad_j = exact_gradient_1t(mdp, case.logits)
    n_t = mdp.horizon
    full_new = np.repeat(new.logp.sum(axis=1, keepdims=True), n_t, axis=1)
    full_old = np.repeat(old.logp.sum(axis=1, keepdims=True), n_t, axis=1)
    ret = np.repeat(tr.returns()[:, None], n_t, axis=1)
    psi_surr = old.disc * old.advantage
    return {
        "trajectory ratio Π_t ρ_t with R(τ) -> ∇J(θ)": (
            grad_j,
            np.asarray(impl.importance_weighted_gradient(scores, full_new, full_old, ret, weights=tr.prob)),
        ),
        "prefix ratios Π_{k<=t} ρ_k with γ^t Q^θ_t -> ∇J(θ)": (
            grad_j,
            np.asarray(
                impl.importance_weighted_gradient(
                    scores, np.cumsum(new.logp, axis=1), np.cumsum(old.logp, axis=1), new.disc * new.q, weights=tr.prob
                )
            ),
        ),
        "per-step ratio ρ_t with γ^t A^old_t -> ∇_θ L(θ_old, θ)": (
            surrogate_gradient_autograd(tr, case.logits_old, case.logits, psi_surr),
            np.asarray(impl.importance_weighted_gradient(scores, new.logp, old.logp, psi_surr, weights=tr.prob)),
        ),
    }


def _scores(case: OffPolicyCase, tr: Trajectories) -> np.ndarray:
    """∇_θ log π_θ(a_t|s_t) at the target θ along π_old's trajectories, [N, T, S·A]."""
    return reference.step_scores(case.logits, tr.states[:, :-1], tr.actions)


def _check_off_policy(case: OffPolicyCase, impl: Impl) -> Measurement:
    worst = Measurement(0.0)
    for name, (expected, got) in off_policy_estimates(case, impl).items():
        m = compare(expected, got, name)
        if m.error >= worst.error:
            worst = m
    return worst


register(
    Claim(
        id="IS-OFF-POLICY-GRADIENT",
        title="the importance-weighted policy gradient, exactly",
        statement=(
            "With trajectories from π_old and ρ_t = exp(log π_θ(a_t|s_t) − log π_old(a_t|s_t)) (eq. 8.3): the "
            "trajectory weight Π_t ρ_t with R(τ), and the prefix weights Π_{k<=t} ρ_k with γ^t Q^θ_t(s_t,a_t), give "
            "E_old[ĝ] = ∇J(θ) exactly; the per-step weight ρ_t with γ^t A^old_t gives the gradient of the surrogate "
            "L(θ_old, θ) (eq. 10.2), which is ∇J(θ) only at θ = θ_old"
        ),
        section="§8",
        source=("S8.1", "S8.2", "S8.3"),
        method=(
            "exact enumeration of every trajectory of π_old with P_old(τ) as weights; ∇J(θ) and ∇L by torch autograd "
            "through the enumerated J and surrogate (no score function or ratio code involved); Hypothesis over MDPs "
            "(S, A <= 3, T <= 4, γ in [0,1]) and pairs of logit tables, equal or not"
        ),
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY + "; a trajectory ratio times P_old(τ) is P_θ(τ) <= 1, so no weighted term is large",
        strategy=lambda: off_policy_cases(gamma=None),
        check=_check_off_policy,
        uses=("importance_weighted_gradient",),
        examples=OFF_PINNED,
        max_examples=25,
    )
)

# ---------------------------------------------------------------------------------------- IS-LOG-RATIO-BIASED


def log_ratio_gradient(case: OffPolicyCase) -> tuple[np.ndarray, np.ndarray]:
    """The source's S8.2/S8.3 weight: E_old[Σ_t ∇_θ(log π_θ / log π_old) γ^t A^old_t], and the target ∇_θ L(θ_old, θ).

    ∇_θ(log π_θ(a|s) / log π_old(a|s)) = ∇_θ log π_θ(a|s) / log π_old(a|s).
    """
    tr = enumerate_trajectories(case.mdp, case.logits_old)
    old = step_tables(case.mdp, case.logits_old, tr)
    scores = _scores(case, tr)
    psi = old.disc * old.advantage
    src = tr.expect(np.einsum("itn,it->in", scores, psi / old.logp))
    target = surrogate_gradient_autograd(tr, case.logits_old, case.logits, psi)
    return src, target


def _check_log_ratio(item: tuple[bool, OffPolicyCase], impl: Impl) -> Measurement:
    must_differ, case = item
    tr = enumerate_trajectories(case.mdp, case.logits_old)
    old = step_tables(case.mdp, case.logits_old, tr)
    new = step_tables(case.mdp, case.logits, tr)
    psi = old.disc * old.advantage
    correct = np.asarray(impl.importance_weighted_gradient(_scores(case, tr), new.logp, old.logp, psi, weights=tr.prob))
    src, target = log_ratio_gradient(case)
    m = compare(target, correct, "probability ratio exp(logp − logp_old) vs ∇_θ L(θ_old, θ) by autograd")
    gap = float(np.max(np.abs(src - target)))
    if must_differ and gap < 1e-3:
        raise ClaimViolation(f"the log-probability ratio gave the correct gradient on a pinned case (gap {gap:.3e}); it must not")
    return Measurement(m.error, expected=target, got=correct, detail=f"{m.detail}; log-ratio form off by {gap:.4f}")


register(
    Claim(
        id="IS-LOG-RATIO-BIASED",
        title="a ratio of log-probabilities is not an importance weight (negative control)",
        statement=(
            "The source's weight log π_θ(a|s) / log π_old(a|s) (S8.2, S8.3) gives E_old[Σ_t ∇_θ(log π_θ/log π_old) A_t] "
            "≠ ∇_θ L(θ_old, θ): on the pinned MDPs the gap exceeds 1e-3 (even at θ = θ_old, where the log ratio is 1 but "
            "its gradient is ∇log π_θ / log π_old), while the probability ratio exp(log π_θ − log π_old) is exact"
        ),
        section="§8",
        source=("S8.2", "S8.3"),
        method=(
            "exact enumeration over trajectories of π_old with A^old from backward induction; the correct form through "
            "importance_weighted_gradient must match autograd on every case, the log-ratio form must miss it by > 1e-3 "
            "on the pinned cases; Hypothesis over MDPs with A >= 2 actions (log π_old < 0)"
        ),
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=lambda: st.tuples(st.just(False), off_policy_cases(gamma=None, min_actions=2)),
        check=_check_log_ratio,
        uses=("importance_weighted_gradient",),
        examples=tuple((True, c) for c in OFF_PINNED),
        kind="negative-control",
        max_examples=25,
    )
)

__all__ = ["OFF_2X2", "OFF_DISC", "OFF_PINNED", "ON_2X2", "log_ratio_gradient", "off_policy_estimates"]
