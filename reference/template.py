"""The generic policy-gradient template and its Ψ_t variants (SPEC.md §11).

ĝ = Σ_i w_i Σ_t ∇_θ log π_θ(a_t^i|s_t^i) Ψ_t^i  (w_i = 1/m for a sample mean).

Every Ψ function takes m trajectories of horizon T as [m, T] arrays (trajectory-major, like the
per-step scores [m, T, n]) and returns Ψ as [m, T].  Time-indexed values follow SPEC.md §0 and
§4: values[i, t] = V_t(s_t^i), next_values[i, t] = V_{t+1}(s_{t+1}^i) (0 after the last step),
q_values[i, t] = Q_t(s_t^i, a_t^i).

Discounting: the template estimates ∇J for J = E[Σ_t γ^t r_t], so every Ψ below that is built
from quantities "measured from t" carries the factor γ^t (with γ = 1 every form is the source's).
Pass ``discount_t=False`` to drop it: the common library form, which for γ < 1 is the gradient
of a different objective (SPEC.md §14.1).

The ``*_as_written`` functions reproduce the source's incorrect or mislabelled forms (errata
E11.2-E11.4); they are here so that the negative controls can show what goes wrong.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import FloatArray, as_float_array, check_distribution, check_flag, check_trajectory_batch, check_unit_interval
from .advantage import gae

__all__ = [
    "policy_gradient_template",
    "psi_actor_critic",
    "psi_actor_critic_as_written",
    "psi_advantage",
    "psi_baseline_reward_to_go",
    "psi_baseline_reward_to_go_as_written",
    "psi_gae",
    "psi_q_value",
    "psi_reward_to_go",
    "psi_td_residual",
    "psi_td_residual_as_written",
    "psi_total_return",
]


def _table(x: Any, name: str, like: FloatArray | None = None, like_name: str = "rewards") -> FloatArray:
    arr = as_float_array(x, name, ndim=2)
    if like is not None and arr.shape != like.shape:
        raise ValueError(f"shape mismatch: {name}{arr.shape} must have the shape of {like_name}{like.shape} ([m, T])")
    return arr


def _per_action(x: Any, name: str, like: FloatArray) -> FloatArray:
    arr = as_float_array(x, name, ndim=3)
    if arr.shape[:2] != like.shape or arr.shape[2] == 0:
        raise ValueError(f"shape mismatch: {name}{arr.shape} must be [m, T, A] with A >= 1 and [m, T] = rewards.shape = {like.shape}")
    return arr


def _policy(pi: FloatArray, name: str) -> FloatArray:
    """A [m, T, A] table of action distributions π(·|s): each row over A sums to one."""
    return check_distribution(pi, name, axis=2)


def _time_weights(n_t: int, gamma: float, discount_t: bool) -> FloatArray:
    if not check_flag(discount_t, "discount_t"):
        return np.ones(n_t)
    out: FloatArray = gamma ** np.arange(n_t, dtype=np.float64)
    return out


def _returns_from_t(r: FloatArray, gamma: float) -> FloatArray:
    """G_t = Σ_{t'≥t} γ^{t'−t} r_{t'} along axis 1."""
    out = np.zeros_like(r)
    acc = np.zeros(r.shape[0])
    for t in range(r.shape[1] - 1, -1, -1):
        acc = r[:, t] + gamma * acc
        out[:, t] = acc
    return out


def policy_gradient_template(grad_logp: Any, psi: Any, weights: Any = None) -> FloatArray:
    """ĝ = Σ_i w_i Σ_t ∇_θ log π_θ(a_t^i|s_t^i) Ψ_t^i; SPEC.md eq. (11.1).

    An estimate of the *gradient* ∇_θ J (the source calls it Ĵ, errata E11.1).

    Args:
        grad_logp: [m, T, n] per-step scores.
        psi: [m, T], the weight of each step.
        weights: [m] or None (1/m, the sample mean); P(τ^i) for an exact expectation.
    Returns:
        [n].
    """
    g, ps, w = check_trajectory_batch(grad_logp, psi, weights, "psi")
    out: FloatArray = np.einsum("i,itn,it->n", w, g, ps)
    return out


def psi_total_return(rewards: Any, gamma: float = 1.0) -> FloatArray:
    """Ψ_t = R(τ) = Σ_{t'=0}^{T−1} γ^{t'} r_{t'}, the same for every t (REINFORCE); eq. (11.2), S11.2."""
    r = _table(rewards, "rewards")
    gam = check_unit_interval(gamma, "gamma")
    ret = r @ (gam ** np.arange(r.shape[1], dtype=np.float64))
    return np.repeat(ret[:, None], r.shape[1], axis=1)


def psi_reward_to_go(rewards: Any, gamma: float = 1.0, *, discount_t: bool = True) -> FloatArray:
    """Ψ_t = Σ_{t'=t}^{T−1} γ^{t'} r_{t'} = γ^t G_t (rewards-to-go); eq. (11.3), S11.3."""
    r = _table(rewards, "rewards")
    gam = check_unit_interval(gamma, "gamma")
    out: FloatArray = _time_weights(r.shape[1], gam, discount_t) * _returns_from_t(r, gam)
    return out


def psi_baseline_reward_to_go(rewards: Any, values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> FloatArray:
    """Ψ_t = γ^t (Σ_{t'=t}^{T−1} γ^{t'−t} r_{t'} − V(s_t)); eq. (11.4), S11.4 corrected (E11.2).

    Any baseline that does not depend on a_t, ..., a_{T−1} keeps the estimator unbiased;
    V_t(s_t) is the usual choice.
    """
    r = _table(rewards, "rewards")
    v = _table(values, "values", r)
    gam = check_unit_interval(gamma, "gamma")
    out: FloatArray = _time_weights(r.shape[1], gam, discount_t) * (_returns_from_t(r, gam) - v)
    return out


def psi_td_residual(rewards: Any, values: Any, next_values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> FloatArray:
    """Ψ_t = γ^t δ_t,  δ_t = r_t + γ V(s_{t+1}) − V(s_t); eq. (11.5), S11.6 corrected (E11.3).

    Unbiased for ∇J when V is the policy's value function (then E[δ_t | s_t, a_t] = A(s_t, a_t)).
    """
    r = _table(rewards, "rewards")
    v = _table(values, "values", r)
    nv = _table(next_values, "next_values", r)
    gam = check_unit_interval(gamma, "gamma")
    out: FloatArray = _time_weights(r.shape[1], gam, discount_t) * (r + gam * nv - v)
    return out


def psi_actor_critic(
    rewards: Any, q_current: Any, q_next: Any, pi_current: Any, pi_next: Any, gamma: float = 1.0, *, discount_t: bool = True
) -> FloatArray:
    """Ψ_t = γ^t (r_t + γ Σ_a' π(a'|s_{t+1}) Q(s_{t+1}, a') − Σ_a π(a|s_t) Q(s_t, a)); eq. (11.6).

    S11.8 corrected (E11.4): the TD residual with V(s) = Σ_a π(a|s) Q(s, a) on both sides, the
    expectation under the policy being improved (not a max over actions).

    Args:
        rewards: [m, T].
        q_current: [m, T, A], Q_t(s_t, ·).
        q_next: [m, T, A], Q_{t+1}(s_{t+1}, ·) (zeros after the last step).
        pi_current, pi_next: [m, T, A], π(·|s_t) and π(·|s_{t+1}); each row over A a
            distribution (non-negative, summing to one).
        discount_t: True or False (any other object is a TypeError).
    """
    r = _table(rewards, "rewards")
    qc = _per_action(q_current, "q_current", r)
    qn = _per_action(q_next, "q_next", r)
    pc = _per_action(pi_current, "pi_current", r)
    pn = _per_action(pi_next, "pi_next", r)
    if not qc.shape == qn.shape == pc.shape == pn.shape:
        raise ValueError(f"shape mismatch: q_current{qc.shape}, q_next{qn.shape}, pi_current{pc.shape}, pi_next{pn.shape} must all match")
    _policy(pc, "pi_current")
    _policy(pn, "pi_next")
    gam = check_unit_interval(gamma, "gamma")
    v_next = (pn * qn).sum(axis=2)
    v_cur = (pc * qc).sum(axis=2)
    out: FloatArray = _time_weights(r.shape[1], gam, discount_t) * (r + gam * v_next - v_cur)
    return out


def psi_q_value(q_values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> FloatArray:
    """Ψ_t = γ^t Q(s_t, a_t) (the Q actor-critic of S7.2, S7.6); eq. (11.7)."""
    q = _table(q_values, "q_values")
    gam = check_unit_interval(gamma, "gamma")
    out: FloatArray = _time_weights(q.shape[1], gam, discount_t) * q
    return out


def psi_advantage(q_values: Any, values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> FloatArray:
    """Ψ_t = γ^t A(s_t, a_t) = γ^t (Q(s_t, a_t) − V(s_t)) (S6.3); eq. (11.8)."""
    q = _table(q_values, "q_values")
    v = _table(values, "values", q, "q_values")
    gam = check_unit_interval(gamma, "gamma")
    out: FloatArray = _time_weights(q.shape[1], gam, discount_t) * (q - v)
    return out


def psi_gae(rewards: Any, values: Any, next_values: Any, gamma: float, lam: float, *, discount_t: bool = True) -> FloatArray:
    """Ψ_t = γ^t Â_t^{GAE(γ,λ)} = γ^t Σ_{l≥0} (γλ)^l δ_{t+l} within the trajectory (S6.9); eq. (11.9).

    Computed with :func:`reference.gae` along each trajectory (time on axis 1 here); the last
    step bootstraps from next_values, which is 0 at the horizon.
    """
    r = _table(rewards, "rewards")
    v = _table(values, "values", r)
    nv = _table(next_values, "next_values", r)
    gam = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    no_end = np.zeros(r.T.shape, dtype=np.bool_)
    adv = gae(r.T, v.T, nv.T, no_end, no_end, gam, lm).T
    out: FloatArray = _time_weights(r.shape[1], gam, discount_t) * adv
    return out


def psi_baseline_reward_to_go_as_written(rewards: Any, values: Any, gamma: float = 1.0) -> FloatArray:
    """The source's S11.4: Ψ_t = Σ_{t'=0}^{T−1} γ^{t'} r_{t'} − γ^t V(s_t) (sum from t' = 0).

    Unbiased (past rewards and V(s_t) are both independent of a_t given the history) but it is
    not a rewards-to-go form and keeps the variance of the past rewards (errata E11.2).
    """
    r = _table(rewards, "rewards")
    v = _table(values, "values", r)
    gam = check_unit_interval(gamma, "gamma")
    powers = gam ** np.arange(r.shape[1], dtype=np.float64)
    out: FloatArray = (r @ powers)[:, None] - powers * v
    return out


def psi_td_residual_as_written(rewards: Any, values: Any, next_values: Any, gamma: float = 1.0) -> FloatArray:
    """The source's S11.6: Ψ_t = γ^t (r_t + V(s_{t+1}) − V(s_t)), without γ on V(s_{t+1}) (E11.3).

    ``gamma`` enters only through the template's time weight γ^t, so the one difference from
    :func:`psi_td_residual` is the dropped discount; biased for γ < 1.
    """
    r = _table(rewards, "rewards")
    v = _table(values, "values", r)
    nv = _table(next_values, "next_values", r)
    gam = check_unit_interval(gamma, "gamma")
    out: FloatArray = _time_weights(r.shape[1], gam, True) * (r + nv - v)
    return out


def psi_actor_critic_as_written(rewards: Any, q_current: Any, q_next: Any, pi_current: Any, gamma: float = 1.0) -> FloatArray:
    """The source's S11.8: Ψ_t = γ^t (r_t + max_a' Q(s_{t+1}, a') − Σ_a π(a|s_t) Q(s_t, a)) (E11.4).

    The max is the greedy policy's value (a Q-learning target), not the value of π, and the
    bootstrap carries no γ; biased unless π is greedy with respect to Q (and γ = 1).
    """
    r = _table(rewards, "rewards")
    qc = _per_action(q_current, "q_current", r)
    qn = _per_action(q_next, "q_next", r)
    pc = _per_action(pi_current, "pi_current", r)
    if not qc.shape == qn.shape == pc.shape:
        raise ValueError(f"shape mismatch: q_current{qc.shape}, q_next{qn.shape}, pi_current{pc.shape} must all match")
    _policy(pc, "pi_current")
    gam = check_unit_interval(gamma, "gamma")
    out: FloatArray = _time_weights(r.shape[1], gam, True) * (r + qn.max(axis=2) - (pc * qc).sum(axis=2))
    return out
