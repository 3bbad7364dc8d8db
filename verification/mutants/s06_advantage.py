"""Mutants for SPEC.md §6: the ways GAE and its relatives are implemented wrongly in practice."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from . import Mutant, register_mutant


def _arrays(*xs: Any) -> list[np.ndarray]:
    return [np.asarray(x) for x in xs]


def _loop(delta: np.ndarray, cont: np.ndarray) -> np.ndarray:
    out = np.zeros_like(delta)
    acc = np.zeros(delta.shape[1:])
    for t in range(delta.shape[0] - 1, -1, -1):
        acc = delta[t] + cont[t] * acc
        out[t] = acc
    return out


def _td_no_mask(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> np.ndarray:
    r, v, nv = _arrays(rewards, values, next_values)
    out: np.ndarray = r + gamma * nv - v  # bootstraps from a terminal state
    return out


def _gae_no_mask(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    r, v, nv, term, trunc = _arrays(rewards, values, next_values, terminated, truncated)
    done = term.astype(bool) | trunc.astype(bool)
    return _loop(r + gamma * nv - v, gamma * lam * ~done)


def _gae_not_cut(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    r, v, nv, term = _arrays(rewards, values, next_values, terminated)
    delta = r + gamma * np.where(term.astype(bool), 0.0, nv) - v
    return _loop(delta, np.full(delta.shape, gamma * lam))  # advantage flows into the previous episode


def _gae_trunc_as_term(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    r, v, nv, term, trunc = _arrays(rewards, values, next_values, terminated, truncated)
    done = term.astype(bool) | trunc.astype(bool)
    return _loop(r + gamma * np.where(done, 0.0, nv) - v, gamma * lam * ~done)  # CleanRL-style: no bootstrap at a time limit


def _gae_gamma_not_gamma_lambda(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    r, v, nv, term, trunc = _arrays(rewards, values, next_values, terminated, truncated)
    done = term.astype(bool) | trunc.astype(bool)
    return _loop(r + gamma * np.where(term.astype(bool), 0.0, nv) - v, gamma * ~done)


def _gae_off_by_one(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    r, v, nv, term, trunc = _arrays(rewards, values, next_values, terminated, truncated)
    nxt = np.concatenate([v[1:], nv[-1:]], axis=0)  # values[t+1]: the next episode's first state at an end
    done = term.astype(bool) | trunc.astype(bool)
    return _loop(r + gamma * np.where(term.astype(bool), 0.0, nxt) - v, gamma * lam * ~done)


def _gae_fast_not_cut(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    r, v, nv, term = _arrays(rewards, values, next_values, terminated)
    delta = r + gamma * np.where(term.astype(bool), 0.0, nv) - v
    no_end = np.zeros(delta.shape, dtype=bool)
    return reference.gae_fast(delta, np.zeros_like(delta), np.zeros_like(delta), no_end, no_end, gamma, lam)


def _gae_whitened(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    a = reference.gae(rewards, values, next_values, terminated, truncated, gamma, lam)
    std = a.std()
    out: np.ndarray = (a - a.mean()) / (std if std > 0 else 1.0)  # advantage normalization inside the estimator
    return out


def _gae_fast_flattened(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    r, v, nv, term, trunc = _arrays(rewards, values, next_values, terminated, truncated)
    out = reference.gae_fast(r.reshape(-1), v.reshape(-1), nv.reshape(-1), term.reshape(-1), trunc.reshape(-1), gamma, lam)
    return out.reshape(r.shape)  # [T, N] read row-major as one sequence: environments leak into each other


def _k_step_delta_t_plus_1(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, k: int) -> np.ndarray:
    d = reference.td_residuals(rewards, values, next_values, terminated, gamma)
    n = reference.episode_lengths(terminated, truncated)
    d_next = np.concatenate([d[1:], d[-1:]], axis=0)
    out = d.copy()
    for l in range(1, k):
        out = out + np.where(n > l, gamma**l * d_next, 0.0)  # the source's S6.8: δ_{t+1} for every l ≥ 1
    return out


def _gae_sum_gamma_l(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    return reference.gae_sum(rewards, values, next_values, terminated, truncated, gamma, 1.0)  # γ^l, λ forgotten


def _literal_no_tail(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    n = reference.episode_lengths(terminated, truncated)
    out = np.zeros(np.shape(rewards))
    for k in range(1, int(n.max(initial=1)) + 1):
        a_k = reference.k_step_advantage(rewards, values, next_values, terminated, truncated, gamma, k)
        out = out + np.where(n >= k, (1.0 - lam) * lam ** (k - 1) * a_k, 0.0)  # the infinite mix cut at n, no tail
    return out


def _k_return_gamma_not_gamma_k(rewards: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, k: int) -> np.ndarray:
    g_k = reference.k_step_return(rewards, next_values, terminated, truncated, gamma, k)
    zero = reference.k_step_return(rewards, np.zeros(np.shape(next_values)), terminated, truncated, gamma, k)
    n = np.minimum(reference.episode_lengths(terminated, truncated), k)
    boot = (g_k - zero) / np.where(gamma**n > 0, gamma**n, 1.0)
    out: np.ndarray = zero + np.where(gamma**n > 0, gamma * boot, 0.0)  # the source's S6.5: γ V(s_t+k) for every k
    return out


def _lambda_returns_rtg(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> np.ndarray:
    z = np.zeros(np.shape(values))
    return reference.gae(rewards, z, z, terminated, truncated, gamma, 1.0)  # reward-to-go: no λ, no bootstrap


def _advantages_greedy(mdp: reference.TabularMDP, logits: Any) -> np.ndarray:
    q = reference.action_values(mdp, logits)
    out: np.ndarray = q - q.max(axis=2, keepdims=True)  # baseline max_a Q instead of V = E_π[Q]
    return out


def _adv_grad_no_gamma_t(grad_logp: Any, advantages: Any, gamma: float = 1.0, weights: Any = None) -> np.ndarray:
    return reference.advantage_gradient(grad_logp, advantages, 1.0, weights)


for _m in [
    Mutant("td-no-termination-mask", "TD residual bootstraps from a terminal next state", ("GAE-LAMBDA0", "TD-UNBIASED-ADVANTAGE"), {"td_residuals": _td_no_mask}),
    Mutant("gae-no-termination-mask", "GAE bootstraps from a terminal next state", ("GAE-LAMBDA1", "GAE-FORMS-AGREE"), {"gae": _gae_no_mask}),
    Mutant("gae-not-cut-at-episode-end", "GAE recursion continues across terminations and truncations", ("GAE-EPISODE-ISOLATION", "GAE-FORMS-AGREE"), {"gae": _gae_not_cut}),
    Mutant("gae-truncation-as-termination", "a time-limit truncation treated as a termination (no bootstrap)", ("GAE-LAMBDA0", "GAE-LAMBDA1"), {"gae": _gae_trunc_as_term}),
    Mutant("gae-gamma-not-gamma-lambda", "γ instead of γλ in the recursion", ("GAE-LAMBDA0", "GAE-FORMS-AGREE"), {"gae": _gae_gamma_not_gamma_lambda}),
    Mutant("gae-off-by-one-bootstrap", "bootstraps from values[t+1] instead of next_values[t]", ("GAE-LAMBDA0", "GAE-LAMBDA1"), {"gae": _gae_off_by_one}),
    Mutant("gae-fast-not-cut", "fast form filters across episode ends", ("GAE-FORMS-AGREE", "GAE-EPISODE-ISOLATION"), {"gae_fast": _gae_fast_not_cut}),
    Mutant("gae-whitened", "advantage normalization folded into the estimator", ("GAE-LINEAR",), {"gae": _gae_whitened}),
    Mutant("gae-fast-batched-flattened", "[T, N] flattened row-major into one sequence", ("GAE-BATCHED",), {"gae_fast": _gae_fast_flattened}),
    Mutant("k-step-delta-t-plus-1", "k-step estimator sums δ_t+1 (the source's S6.8) instead of δ_t+l", ("GAE-MIX-EQUALS-SUM", "GAE-KSTEP-TELESCOPE"), {"k_step_advantage": _k_step_delta_t_plus_1}),
    Mutant("gae-sum-gamma-only", "explicit sum with γ^l instead of (γλ)^l", ("GAE-MIX-EQUALS-SUM",), {"gae_sum": _gae_sum_gamma_l}),
    Mutant("gae-literal-no-tail", "the (1−λ) mix cut at the episode end without the tail λ^(n−1) Â^(n)", ("GAE-FORMS-AGREE",), {"gae_literal": _literal_no_tail}),
    Mutant("gae-mix-no-tail", "GAE as the (1−λ) mix without the tail: δ_t's weight is 1 − λ^n, not 1", ("GAE-VPI-UNBIASED",), {"gae": _literal_no_tail}),
    Mutant("k-step-return-gamma-not-gamma-k", "k-step return bootstraps with γ V(s_t+k) (the source's S6.5)", ("GAE-KSTEP-TELESCOPE", "GAE-LAMBDA-RETURN"), {"k_step_return": _k_return_gamma_not_gamma_k}),
    Mutant("lambda-returns-reward-to-go", "value target = discounted reward-to-go without bootstrap", ("GAE-LAMBDA-RETURN",), {"lambda_returns": _lambda_returns_rtg}),
    Mutant("advantages-greedy-baseline", "A = Q − max_a Q (a greedy baseline instead of V)", ("ADV-Q-V-ENUM",), {"advantages": _advantages_greedy}),
    Mutant("advantage-gradient-no-gamma-t", "policy gradient without the γ^t factor", ("ADV-BASELINE-UNBIASED", "GAE-VPI-UNBIASED"), {"advantage_gradient": _adv_grad_no_gamma_t}),
]:
    register_mutant(_m)
