"""Vanilla policy gradient with a learned baseline, Q actor-critic and A2C (SPEC.md §7).

Pure functions for a tabular softmax actor (logits θ of shape [S, A], SPEC.md §0) and a
linear critic V_w(x) = xᵀw or Q_w(x) = xᵀw (one-hot features give a table).  Batches of
trajectories are [m, T] arrays (trajectory i, time t), as in :mod:`reference.policy_gradient`;
rollout arrays of :mod:`reference.advantage` are [T] or [T, N] (time first).

Discounting.  The exact gradient of J = E[Σ_t γ^t r_t] weights step t by γ^t
(SPEC.md §3, eq. 3.3); every gradient here keeps that factor (γ = 1 is the source).  Most
libraries drop it (SPEC.md §14.2).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import (
    FloatArray,
    as_float_array,
    as_index_array,
    as_mask,
    as_scalar,
    check_nonnegative,
    check_unit_interval,
)
from .advantage import gae, td_residuals
from .mdp import _check_logits, softmax_policy
from .policy_gradient import step_scores

__all__ = [
    "a2c_actor_gradient",
    "a2c_critic_loss",
    "advantage_gradient",
    "q_actor_step",
    "td_critic_update",
    "vpg_step",
]


def _weights(weights: Any, m: int) -> FloatArray:
    if weights is None:
        return np.full(m, 1.0 / m)
    w = as_float_array(weights, "weights", ndim=1)
    if w.shape[0] != m:
        raise ValueError(f"weights: expected shape [m] = [{m}], got {w.shape}")
    if np.any(w < 0):
        raise ValueError("weights: must be >= 0")
    return w


def _scores_and_psi(grad_logp: Any, psi: Any, psi_name: str) -> tuple[FloatArray, FloatArray]:
    g = as_float_array(grad_logp, "grad_logp", ndim=3)
    a = as_float_array(psi, psi_name, ndim=2)
    if g.shape[:2] != a.shape:
        raise ValueError(
            f"shape mismatch: grad_logp{g.shape} is [m, T, n] so {psi_name} must be [m, T] = {g.shape[:2]}, got {a.shape}"
        )
    if g.shape[0] == 0:
        raise ValueError("grad_logp: need at least one trajectory (m >= 1)")
    return g, a


def advantage_gradient(grad_logp: Any, advantages: Any, gamma: float = 1.0, weights: Any = None) -> FloatArray:
    """ĝ = Σ_i w_i Σ_t γ^t ∇_θ log π_θ(a_t^i|s_t^i) Ψ_t^i; SPEC.md eqs. (6.12), (7.1).

    Ψ = A^π (the source's S6.3), Q^π, Q_w, GAE estimates or TD errors: with Ψ_t = A_t(s_t, a_t)
    or Q_t(s_t, a_t) the expectation is ∇J exactly (claim ADV-BASELINE-UNBIASED).

    Args:
        grad_logp: [m, T, n] per-step scores ∇ log π(a_t|s_t).
        advantages: [m, T], Ψ_t per trajectory and step.
        gamma: the γ^t weight of step t, in [0, 1].
        weights: [m] or None (uniform 1/m); trajectory probabilities give the exact expectation.
    Returns:
        [n].
    """
    g, a = _scores_and_psi(grad_logp, advantages, "advantages")
    gam = check_unit_interval(gamma, "gamma")
    w = _weights(weights, g.shape[0])
    powers = gam ** np.arange(a.shape[1], dtype=np.float64)
    out: FloatArray = np.einsum("i,itn,it->n", w, g, a * powers)
    return out


def _episodes(
    logits: Any, states: Any, actions: Any, rewards: Any, values: Any
) -> tuple[FloatArray, np.ndarray, np.ndarray, FloatArray, FloatArray]:
    th = _check_logits(logits)
    s = as_index_array(states, "states", th.shape[0], ndim=2, upper_name="logits.shape[0]")
    a = as_index_array(actions, "actions", th.shape[1], ndim=2, upper_name="logits.shape[1]")
    r = as_float_array(rewards, "rewards", ndim=2)
    v = as_float_array(values, "values", ndim=2)
    for name, arr in (("actions", a), ("rewards", r), ("values", v)):
        if arr.shape != s.shape:
            raise ValueError(f"shape mismatch: states{s.shape} is [m, T], {name} must match, got {arr.shape}")
    if s.shape[0] == 0 or s.shape[1] == 0:
        raise ValueError(f"states: need m >= 1 trajectories of T >= 1 steps, got shape {s.shape}")
    return th, s, a, r, v


def vpg_step(
    logits: Any,
    states: Any,
    actions: Any,
    rewards: Any,
    values: Any,
    gamma: float,
    lam: float,
    step_size: float,
    weights: Any = None,
) -> FloatArray:
    """One vanilla-policy-gradient actor step with a learned baseline; SPEC.md eq. (7.2).

    θ' = θ + α ĝ with ĝ = Σ_i w_i Σ_t γ^t ∇log π(a_t^i|s_t^i) Â_t^i and Â the GAE(γ, λ) of
    each trajectory computed with the learned values V_φ(s_t) (eq. 6.9).  Each row is one
    complete episode of the finite-horizon MDP: it terminates after step T − 1 (V_T = 0).
    The baseline itself is fitted by regression on the returns (SPEC.md §5, eq. 5.1).  With
    λ = 1 the step direction is unbiased for any V_φ; with V_φ = V^π for any λ.

    Args:
        logits: θ, [S, A].
        states: [m, T], s_0..s_{T−1}; actions: [m, T]; rewards: [m, T].
        values: [m, T], V_φ(s_t) as the critic predicts it.
        gamma, lam: in [0, 1]; step_size: α ≥ 0.
        weights: [m] or None (uniform 1/m).
    Returns:
        θ', [S, A].
    """
    th, s, a, r, v = _episodes(logits, states, actions, rewards, values)
    gam = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    alpha = check_nonnegative(step_size, "step_size")
    w = _weights(weights, s.shape[0])
    next_v = np.zeros_like(v)
    next_v[:, :-1] = v[:, 1:]
    term = np.zeros(v.shape, dtype=np.bool_)
    term[:, -1] = True
    no_trunc = np.zeros(v.shape, dtype=np.bool_)
    adv = gae(r.T, v.T, next_v.T, term.T, no_trunc.T, gam, lm).T
    grad = advantage_gradient(step_scores(th, s, a), adv, gam, w)
    out: FloatArray = th + alpha * grad.reshape(th.shape)
    return out


def q_actor_step(logits: Any, state: int, action: int, q_value: float, step_size: float) -> FloatArray:
    """The Q actor-critic's actor step θ' = θ + α ∇_θ log π_θ(a_t|s_t) Q_w(s_t, a_t); eq. (7.3).

    The source writes ∇_θ(log π_θ(s_t, a_t) Q_w(s_t, a_t)) (S7.2): Q_w does not depend on θ,
    so the gradient acts on log π only.  Averaged over on-policy samples with weights γ^t and
    with Q_w = Q^π the step is α ∇J (claim ADV-Q-ACTOR-UNBIASED).

    Args:
        logits: θ, [S, A]; state, action: the sample (s_t, a_t); q_value: Q_w(s_t, a_t).
        step_size: α ≥ 0.
    Returns:
        θ', [S, A].
    """
    th = _check_logits(logits)
    s = int(as_index_array(state, "state", th.shape[0], ndim=0, upper_name="logits.shape[0]"))
    a = int(as_index_array(action, "action", th.shape[1], ndim=0, upper_name="logits.shape[1]"))
    q = as_scalar(q_value, "q_value")
    alpha = check_nonnegative(step_size, "step_size")
    score = np.zeros_like(th)
    score[s] = -softmax_policy(th)[s]
    score[s, a] += 1.0
    out: FloatArray = th + alpha * q * score
    return out


def td_critic_update(
    params: Any,
    features: Any,
    next_features: Any,
    rewards: Any,
    terminated: Any,
    gamma: float,
    step_size: float,
    weights: Any = None,
) -> FloatArray:
    """Semi-gradient TD(0) step of a linear critic; SPEC.md eq. (7.4) (SARSA: eq. 7.5).

    w' = w + β Σ_i ω_i δ_i x_i,  δ_i = r_i + γ (1 − terminated_i) x'_iᵀw − x_iᵀw,

    i.e. w' = w − β ∇_w ½ Σ_i ω_i (y_i − x_iᵀw)² with the target y_i held fixed.  With
    x = φ(s_t) and x' = φ(s_{t+1}) it is A2C's TD(0) critic; with x = φ(s_t, a_t) and
    x' = φ(s_{t+1}, a_{t+1}) it is the source's SARSA critic (S7.3), whose update omits the
    factor ∇_w Q_w(s_t, a_t) = x_i (errata E7.3).

    Args:
        params: w, [d].
        features: [N, d], x_i; next_features: [N, d], x'_i.
        rewards: [N]; terminated: [N] boolean (no bootstrap from x'_i).
        gamma: in [0, 1]; step_size: β ≥ 0.
        weights: [N] or None (uniform 1/N); occupancy probabilities give the expected update.
    Returns:
        w', [d].
    """
    w = as_float_array(params, "params", ndim=1)
    x = as_float_array(features, "features", ndim=2)
    xn = as_float_array(next_features, "next_features", ndim=2)
    r = as_float_array(rewards, "rewards", ndim=1)
    term = as_mask(terminated, "terminated", ndim=1)
    if x.shape[1] != w.shape[0]:
        raise ValueError(f"features: expected shape [N, d] with d = len(params) = {w.shape[0]}, got {x.shape}")
    if xn.shape != x.shape:
        raise ValueError(f"shape mismatch: next_features{xn.shape} must equal features{x.shape}")
    if r.shape != (x.shape[0],) or term.shape != (x.shape[0],):
        raise ValueError(f"shape mismatch: rewards{r.shape} and terminated{term.shape} must be [N] = [{x.shape[0]}]")
    if x.shape[0] == 0:
        raise ValueError("features: need at least one sample (N >= 1)")
    gam = check_unit_interval(gamma, "gamma")
    beta = check_nonnegative(step_size, "step_size")
    om = _weights(weights, x.shape[0])
    delta = r + gam * np.where(term, 0.0, xn @ w) - x @ w
    out: FloatArray = w + beta * (x.T @ (om * delta))
    return out


def a2c_actor_gradient(
    grad_logp: Any,
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    gamma: float,
    weights: Any = None,
) -> FloatArray:
    """A2C's actor gradient with the TD error as advantage; SPEC.md eq. (7.6).

    ĝ = Σ_i w_i Σ_t γ^t ∇log π(a_t^i|s_t^i) δ_t^i,  δ_t = r_t + γ(1 − terminated_t) V_w(s_{t+1}) − V_w(s_t).

    Unbiased when V_w = V^π (claim A2C-ACTOR-TD-ADVANTAGE); biased otherwise.

    Args:
        grad_logp: [m, T, n].
        rewards, values, next_values, terminated: [m, T] (trajectory i, time t).
        gamma: in [0, 1]; weights: [m] or None (uniform).
    Returns:
        [n].
    """
    g = as_float_array(grad_logp, "grad_logp", ndim=3)
    r = as_float_array(rewards, "rewards", ndim=2)
    v = as_float_array(values, "values", ndim=2)
    nv = as_float_array(next_values, "next_values", ndim=2)
    term = as_mask(terminated, "terminated", ndim=2)
    delta = td_residuals(r.T, v.T, nv.T, term.T, gamma).T
    return advantage_gradient(g, delta, gamma, weights)


def a2c_critic_loss(values: Any, rewards: Any, gamma: float) -> FloatArray:
    """Per-step critic loss ℓ_t = ½ (V_w(s_t) − G_t)², G_t = Σ_{k=t}^{T−1} γ^{k−t} r_k; eq. (7.7).

    The target is the return from s_t.  The source regresses every V(s_t) on the return from
    s_0, Σ_t γ^t r_t (S7.9, errata E7.5), whose minimizer is E[G_0 | s_t], not V^π(s_t).
    Unreduced: the mean over steps and trajectories (and the factor ½) are the caller's.

    Args:
        values: [m, T], V_w(s_t) for complete episodes s_0..s_{T−1}.
        rewards: [m, T].
        gamma: in [0, 1].
    Returns:
        [m, T].
    """
    v = as_float_array(values, "values", ndim=2)
    r = as_float_array(rewards, "rewards", ndim=2)
    if v.shape != r.shape:
        raise ValueError(f"shape mismatch: values{v.shape} and rewards{r.shape} must both be [m, T]")
    gam = check_unit_interval(gamma, "gamma")
    ret = np.zeros_like(r)
    acc = np.zeros(r.shape[0])
    for t in range(r.shape[1] - 1, -1, -1):
        acc = r[:, t] + gam * acc
        ret[:, t] = acc
    out: FloatArray = 0.5 * (v - ret) ** 2
    return out
