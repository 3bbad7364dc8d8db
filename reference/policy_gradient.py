"""Score functions and the REINFORCE family of gradient estimators (SPEC.md §2-§4).

Parameters: the flattened logit table, n = S·A entries in row-major order, so coordinate
k = s·A + a is θ[s, a].  Estimators take per-step scores grad_logp[i, t, :] = ∇_θ log
π_θ(a_t^(i)|s_t^(i)) for m trajectories of horizon T, so the same functions serve a tabular
policy, a neural one, or the exact engine (which passes every trajectory with weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import FloatArray, as_float_array, as_index_array, check_trajectory_batch, check_unit_interval
from .mdp import TabularMDP, _check_logits, _require_mdp, action_values, softmax_policy, state_occupancy

__all__ = [
    "score_function",
    "step_scores",
    "trajectory_score",
    "reinforce_gradient",
    "reward_to_go_gradient",
    "baseline_gradient",
    "trajectory_baseline_gradient",
    "policy_gradient_theorem",
]


def score_function(logits: Any, state: int, action: int) -> FloatArray:
    """∇_θ log π_θ(a|s) for a softmax table, shape [S, A]; SPEC.md eq. (2.3).

    Row s is onehot(a) − π_θ(·|s); every other row is zero.
    """
    th = _check_logits(logits)
    s = int(as_index_array(state, "state", th.shape[0], ndim=0, upper_name="logits.shape[0]"))
    a = int(as_index_array(action, "action", th.shape[1], ndim=0, upper_name="logits.shape[1]"))
    out = np.zeros_like(th)
    out[s] = -softmax_policy(th)[s]
    out[s, a] += 1.0
    return out


def step_scores(logits: Any, states: Any, actions: Any) -> FloatArray:
    """Per-step scores ∇_θ log π_θ(a_t|s_t) for t = 0..T−1, shape [T, S·A] (flattened θ).

    Args:
        states: s_0..s_{T-1}, shape [T] (or [..., T]; leading axes are batch axes).
        actions: a_0..a_{T-1}, same shape as states.
    """
    th = _check_logits(logits)
    n_s, n_a = th.shape
    s = as_index_array(states, "states", n_s, upper_name="logits.shape[0]")
    a = as_index_array(actions, "actions", n_a, upper_name="logits.shape[1]")
    if s.shape != a.shape:
        raise ValueError(f"shape mismatch: states{s.shape} and actions{a.shape} must match")
    pi = softmax_policy(th)
    out = np.zeros(s.shape + (n_s, n_a))
    idx = np.indices(s.shape)
    out[(*idx, s)] = -pi[s]
    out[(*idx, s, a)] += 1.0
    return out.reshape(s.shape + (n_s * n_a,))


def trajectory_score(grad_logp: Any) -> FloatArray:
    """∇_θ log P(τ; θ) = Σ_t ∇_θ log π_θ(a_t|s_t) (temporal decomposition, SPEC.md eq. 2.4).

    The dynamics and the initial-state distribution do not depend on θ, so they drop out.

    Args:
        grad_logp: per-step scores, shape [..., T, n].
    Returns:
        shape [..., n].
    """
    g = as_float_array(grad_logp, "grad_logp")
    if g.ndim < 2:
        raise ValueError(f"grad_logp: expected shape [..., T, n], got {g.shape}")
    out: FloatArray = g.sum(axis=-2)
    return out


def _check_batch(grad_logp: Any, rewards: Any, weights: Any) -> tuple[FloatArray, FloatArray, FloatArray]:
    return check_trajectory_batch(grad_logp, rewards, weights)


def _discount_powers(n: int, gamma: float) -> FloatArray:
    return gamma ** np.arange(n, dtype=np.float64)


def reinforce_gradient(grad_logp: Any, rewards: Any, gamma: float = 1.0, weights: Any = None) -> FloatArray:
    """ĝ = Σ_i w_i [Σ_t ∇ log π(a_t^i|s_t^i)] R(τ^i), R(τ) = Σ_t γ^t r_t; SPEC.md eq. (2.5).

    With the default weights w_i = 1/m this is the source's sample mean (S2.6); with
    w_i = P(τ_i) over every trajectory it is the exact expectation.

    Args:
        grad_logp: [m, T, n] per-step scores.
        rewards: [m, T], r_t = r(s_t, a_t).
        weights: [m] or None (uniform 1/m).
    Returns:
        [n].
    """
    g, r, w = _check_batch(grad_logp, rewards, weights)
    gam = check_unit_interval(gamma, "gamma")
    ret = r @ _discount_powers(r.shape[1], gam)
    out: FloatArray = np.einsum("i,itn,i->n", w, g, ret)
    return out


def reward_to_go_gradient(grad_logp: Any, rewards: Any, gamma: float = 1.0, weights: Any = None) -> FloatArray:
    """ĝ = Σ_i w_i Σ_t ∇ log π(a_t^i|s_t^i) Σ_{t'≥t} γ^{t'} r_{t'}^i; SPEC.md eq. (3.3).

    The weight of step t is the discounted reward from t on, measured from time 0 (the factor
    γ^t is kept so the estimator stays unbiased for J = E[Σ γ^t r_t]; with γ = 1 it is the
    source's rewards-to-go, S3.3).
    """
    g, r, w = _check_batch(grad_logp, rewards, weights)
    gam = check_unit_interval(gamma, "gamma")
    disc = r * _discount_powers(r.shape[1], gam)
    rtg = np.cumsum(disc[:, ::-1], axis=1)[:, ::-1]
    out: FloatArray = np.einsum("i,itn,it->n", w, g, rtg)
    return out


def baseline_gradient(
    grad_logp: Any, rewards: Any, baseline: Any, gamma: float = 1.0, weights: Any = None
) -> FloatArray:
    """ĝ = Σ_i w_i Σ_t ∇ log π(a_t^i|s_t^i) γ^t (G_t^i − b_t^i); SPEC.md eq. (3.5).

    G_t = Σ_{t'≥t} γ^{t'−t} r_{t'} is the return from t, and b_t^i is any baseline that does
    not depend on a_t (a constant, b(t), or V(s_t^i)); shape [m, T], or a scalar.
    """
    g, r, w = _check_batch(grad_logp, rewards, weights)
    gam = check_unit_interval(gamma, "gamma")
    b = as_float_array(baseline, "baseline")
    if b.ndim == 0:
        b = np.full(r.shape, float(b))
    if b.shape != r.shape:
        raise ValueError(f"baseline: expected a scalar or shape [m, T] = {r.shape}, got {b.shape}")
    powers = _discount_powers(r.shape[1], gam)
    rtg = np.cumsum((r * powers)[:, ::-1], axis=1)[:, ::-1]
    psi = rtg - powers * b
    out: FloatArray = np.einsum("i,itn,it->n", w, g, psi)
    return out


def trajectory_baseline_gradient(
    traj_scores: Any, returns: Any, baseline: Any, weights: Any = None
) -> FloatArray:
    """ĝ = Σ_i w_i ∇ log P(τ^i; θ) (R(τ^i) − b); SPEC.md eq. (3.4).

    Args:
        traj_scores: [m, n], ∇_θ log P(τ^i; θ) (see :func:`trajectory_score`).
        returns: [m], R(τ^i).
        baseline: a scalar, or [n] for a per-coordinate baseline (the minimum-variance one).
        weights: [m] or None (uniform 1/m).
    Returns:
        [n].
    """
    g = as_float_array(traj_scores, "traj_scores", ndim=2)
    ret = as_float_array(returns, "returns", ndim=1)
    if ret.shape[0] != g.shape[0]:
        raise ValueError(f"shape mismatch: traj_scores{g.shape} is [m, n], returns must be [m], got {ret.shape}")
    _, _, w = _check_batch(g[:, None, :], ret[:, None], weights)
    b = as_float_array(baseline, "baseline")
    if b.ndim == 0:
        b = np.full(g.shape[1], float(b))
    if b.shape != (g.shape[1],):
        raise ValueError(f"baseline: expected a scalar or shape [n] = [{g.shape[1]}], got {b.shape}")
    out: FloatArray = np.einsum("i,in,in->n", w, g, ret[:, None] - b[None, :])
    return out


def policy_gradient_theorem(mdp: TabularMDP, logits: Any) -> FloatArray:
    """Exact ∇_θ J by the finite-horizon policy-gradient theorem, flattened [S·A]; SPEC.md eq. (2.6).

    ∇J = Σ_t γ^t Σ_s d_t(s) Σ_a π(a|s) ∇log π(a|s) Q_t(s, a), with d_t the state occupancy and
    Q_t the time-indexed action value.  For a softmax table the (s, a) entry is
    Σ_t γ^t d_t(s) π(a|s) (Q_t(s, a) − V_t(s)).  Costs O(T·S²·A), so it serves MDPs far too large
    to enumerate (the Monte Carlo tier's ground truth).
    """
    th = _check_logits(logits, _require_mdp(mdp))
    pi = softmax_policy(th)
    d = state_occupancy(mdp, th)
    q = action_values(mdp, th)
    v = np.sum(pi[None] * q, axis=2, keepdims=True)
    disc = mdp.gamma ** np.arange(mdp.horizon, dtype=np.float64)
    grad = np.einsum("t,ts,sa,tsa->sa", disc, d, pi, q - v)
    out: FloatArray = grad.reshape(-1)
    return out
