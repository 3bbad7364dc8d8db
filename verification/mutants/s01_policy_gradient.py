"""Mutants for SPEC.md §1-§5."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from . import Mutant, register_mutant


def _score_no_baseline(logits: Any, state: int, action: int) -> np.ndarray:
    out = np.zeros(np.shape(logits))
    out[state, action] = 1.0  # forgets the −π(·|s) term
    return out


def _step_scores_negated(logits: Any, states: Any, actions: Any) -> np.ndarray:
    return -reference.step_scores(logits, states, actions)


def _traj_log_prob_dynamics_only(mdp: reference.TabularMDP, logits: Any, states: Any, actions: Any) -> float:
    s, a = np.asarray(states), np.asarray(actions)
    with np.errstate(divide="ignore"):
        return float(np.sum(np.log(mdp.transitions[s[:-1], a, s[1:]])))  # the source's S1.3


def _expected_return_undiscounted(mdp: reference.TabularMDP, logits: Any) -> float:
    return reference.expected_return(reference.TabularMDP(mdp.initial, mdp.transitions, mdp.rewards, mdp.horizon, 1.0), logits)


def _reinforce_last_step(grad_logp: Any, rewards: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    g = np.asarray(grad_logp, float)
    only_last = np.zeros_like(g)
    only_last[:, -1] = g[:, -1]
    return reference.reinforce_gradient(only_last, rewards, gamma, weights)


def _rtg_past_rewards(grad_logp: Any, rewards: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    g, r = np.asarray(grad_logp, float), np.asarray(rewards, float)
    w = np.full(g.shape[0], 1.0 / g.shape[0]) if weights is None else np.asarray(weights, float)
    disc = r * gamma ** np.arange(r.shape[1])
    past = np.cumsum(disc, axis=1)  # Σ_{t' <= t}: the wrong direction
    out: np.ndarray = np.einsum("i,itn,it->n", w, g, past)
    return out


def _rtg_no_gamma_t(grad_logp: Any, rewards: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    g, r = np.asarray(grad_logp, float), np.asarray(rewards, float)
    w = np.full(g.shape[0], 1.0 / g.shape[0]) if weights is None else np.asarray(weights, float)
    ret = np.stack([reference.discounted_returns(row, gamma) for row in r])  # G_t without γ^t
    out: np.ndarray = np.einsum("i,itn,it->n", w, g, ret)
    return out


def _rtg_is_reinforce(grad_logp: Any, rewards: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    return reference.reinforce_gradient(grad_logp, rewards, gamma, weights)


def _baseline_summed_future(grad_logp: Any, rewards: Any, baseline: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    r = np.asarray(rewards, float)
    b = np.broadcast_to(np.asarray(baseline, float), r.shape)
    future = np.cumsum(b[:, ::-1], axis=1)[:, ::-1]  # Σ_{k>=t} b_k: depends on later states
    return reference.baseline_gradient(grad_logp, rewards, future, gamma, weights)


def _baseline_ignored(grad_logp: Any, rewards: Any, baseline: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    return reference.baseline_gradient(grad_logp, rewards, 0.0, gamma, weights)


def _minvar_mean(grad_logp: Any, returns: Any, weights: Any = None) -> np.ndarray:
    g = np.asarray(grad_logp, float)
    return np.full(g.shape[1], reference.constant_baseline(returns, weights))


def _minvar_unsquared(grad_logp: Any, returns: Any, weights: Any = None) -> np.ndarray:
    g, r = np.abs(np.asarray(grad_logp, float)), np.asarray(returns, float)
    w = np.full(g.shape[0], 1.0 / g.shape[0]) if weights is None else np.asarray(weights, float)
    den = (w[:, None] * g).sum(axis=0)
    out: np.ndarray = np.where(den > 0, (w[:, None] * g).T @ r / np.where(den > 0, den, 1.0), 0.0)
    return out


def _fit_unweighted(features: Any, targets: Any, weights: Any = None) -> np.ndarray:
    return reference.fit_linear_value(features, targets, None)


def _returns_wrong_power(rewards: Any, gamma: float) -> np.ndarray:
    r = np.asarray(rewards, float)
    disc = r * gamma ** np.arange(r.shape[0])  # γ^k instead of γ^{k−t}
    out: np.ndarray = np.cumsum(disc[::-1])[::-1]
    return out


for _m in [
    Mutant("score-no-mean-term", "score of a softmax as onehot(a), without −π(·|s)", ("PG-SCORE-ZERO-MEAN",), {"score_function": _score_no_baseline}),
    Mutant("step-scores-negated", "∇log π with the wrong sign", ("PG-LIKELIHOOD-RATIO", "PG-DYNAMICS-DROP", "PG-REINFORCE-UNBIASED"), {"step_scores": _step_scores_negated}),
    Mutant("traj-prob-dynamics-only", "the source's P(τ) = Π P(s_{t+1}|s_t,a_t), without μ(s_0) and π", ("MDP-TRAJ-PROB",), {"trajectory_log_prob": _traj_log_prob_dynamics_only}),
    Mutant("J-ignores-gamma", "expected return computed without the discount", ("MDP-J-ENUM-EQUALS-DP",), {"expected_return": _expected_return_undiscounted}),
    Mutant("reinforce-last-step-only", "REINFORCE weighting only the last step's score by R(τ)", ("PG-REINFORCE-UNBIASED",), {"reinforce_gradient": _reinforce_last_step}),
    Mutant("rtg-past-rewards", "rewards-to-go summed over t' <= t (past) instead of t' >= t", ("PG-RTG-UNBIASED",), {"reward_to_go_gradient": _rtg_past_rewards}),
    Mutant("rtg-drops-gamma-t", "discounted rewards-to-go without the γ^t factor (biased for J when γ < 1)", ("PG-RTG-UNBIASED",), {"reward_to_go_gradient": _rtg_no_gamma_t}),
    Mutant("rtg-is-reinforce", "rewards-to-go estimator that still uses the full return", ("PG-RTG-VARIANCE",), {"reward_to_go_gradient": _rtg_is_reinforce}),
    Mutant("baseline-summed-future", "subtracts Σ_{k>=t} b_k, which depends on the actions taken", ("PG-BASELINE-UNBIASED",), {"baseline_gradient": _baseline_summed_future}),
    Mutant("baseline-ignored", "baseline argument silently ignored", ("PG-BASELINE-ACTION-BIASED",), {"baseline_gradient": _baseline_ignored}),
    Mutant("minvar-is-mean", "minimum-variance baseline replaced by the mean return", ("PG-MINVAR-OPTIMAL",), {"min_variance_baseline": _minvar_mean}),
    Mutant("minvar-unsquared", "weights |g| instead of g² in the minimum-variance baseline", ("PG-MINVAR-OPTIMAL",), {"min_variance_baseline": _minvar_unsquared}),
    Mutant("vf-fit-unweighted", "value regression ignoring trajectory weights", ("VF-REGRESSION",), {"fit_linear_value": _fit_unweighted}),
    Mutant("returns-wrong-power", "discounted return with γ^k instead of γ^{k−t}", ("RET-FAST-EQUALS-LITERAL",), {"discounted_returns": _returns_wrong_power}),
]:
    register_mutant(_m)


def _pg_theorem_no_discount(mdp: reference.TabularMDP, logits: Any) -> np.ndarray:
    return reference.policy_gradient_theorem(reference.TabularMDP(mdp.initial, mdp.transitions, mdp.rewards, mdp.horizon, 1.0), logits)


register_mutant(Mutant("pg-theorem-no-gamma-t", "policy-gradient theorem without the γ^t weight of step t", ("PG-THEOREM-EXACT",), {"policy_gradient_theorem": _pg_theorem_no_discount}))
register_mutant(Mutant("reinforce-last-step-only-sampled", "REINFORCE weighting only the last step (checked by sampling on a large MDP)", ("PG-MC-LARGE-MDP",), {"reinforce_gradient": _reinforce_last_step}))


def _reinforce_sum_not_mean(grad_logp: Any, rewards: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    m = np.shape(grad_logp)[0]
    w = np.ones(m) if weights is None else weights  # forgets the 1/m of the sample mean
    return reference.reinforce_gradient(grad_logp, rewards, gamma, w)


def _traj_baseline_ignored(traj_scores: Any, returns: Any, baseline: Any, weights: Any = None) -> np.ndarray:
    return reference.trajectory_baseline_gradient(traj_scores, returns, 0.0, weights)


register_mutant(Mutant("reinforce-sum-not-mean", "sums the m per-trajectory estimates instead of averaging them", ("PG-VARIANCE-1-OVER-M",), {"reinforce_gradient": _reinforce_sum_not_mean}))
register_mutant(Mutant("traj-baseline-ignored", "whole-trajectory estimator that ignores its baseline", ("PG-BASELINE-VARIANCE",), {"trajectory_baseline_gradient": _traj_baseline_ignored}))
