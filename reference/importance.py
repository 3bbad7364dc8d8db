"""Importance sampling and the importance-weighted policy gradient (SPEC.md §8).

The identity E_{x~p}[f(x)] = E_{x~q}[(p(x)/q(x)) f(x)] holds whenever q(x) > 0 wherever
p(x) f(x) ≠ 0.  In a policy-gradient update the weight is a ratio of *probabilities*,
ρ = π_θ(a|s)/π_θold(a|s) = exp(log π_θ − log π_θold); the source writes a ratio of
log-probabilities (errata E8.1), which is a different and wrong weight.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import FloatArray, as_float_array, check_distribution, check_same_shape, check_trajectory_batch

__all__ = ["importance_expectation", "importance_ratio", "importance_weighted_gradient"]


def importance_ratio(logp_new: Any, logp_old: Any) -> FloatArray:
    """ρ = π_new/π_old = exp(logp_new − logp_old), elementwise; SPEC.md eq. (8.2).

    Args:
        logp_new, logp_old: log-probabilities of the same samples, one shape (any).
    Returns:
        ρ, same shape; +inf where the difference overflows float64 (> ~709).
    """
    lp = as_float_array(logp_new, "logp_new")
    lo = as_float_array(logp_old, "logp_old")
    check_same_shape(logp_new=lp, logp_old=lo)
    with np.errstate(over="ignore"):
        out: FloatArray = np.exp(lp - lo)
    return out


def importance_expectation(f: Any, p: Any, q: Any) -> FloatArray:
    """E_{x~q}[(p(x)/q(x)) f(x)] = Σ_x q(x) (p(x)/q(x)) f(x) on a finite space; SPEC.md eq. (8.1).

    Equals E_{x~p}[f(x)] exactly when q covers p (q(x) > 0 wherever p(x) > 0); points with
    q(x) = 0 = p(x) contribute nothing.

    Args:
        f: [K] or [K, ...], the value f(x_k) at each of the K points.
        p: [K], the target distribution.
        q: [K], the sampling (behaviour) distribution.
    Returns:
        shape f.shape[1:] (a 0-d array for scalar f).
    Raises:
        ValueError: q(x) = 0 at a point where p(x) > 0 (the support condition fails).
    """
    pv = check_distribution(as_float_array(p, "p", ndim=1), "p")
    qv = check_distribution(as_float_array(q, "q", ndim=1), "q")
    fv = as_float_array(f, "f")
    if fv.ndim == 0 or fv.shape[0] != pv.shape[0] or qv.shape != pv.shape:
        raise ValueError(f"shape mismatch: p{pv.shape} and q{qv.shape} must be [K] and f{fv.shape} must be [K, ...]")
    uncovered = (qv == 0) & (pv > 0)
    if np.any(uncovered):
        k = int(np.flatnonzero(uncovered)[0])
        raise ValueError(f"q: must be > 0 wherever p > 0 (support condition of importance sampling); q[{k}] = 0 < p[{k}]")
    safe_q = np.where(qv > 0, qv, 1.0)
    weight = np.where(qv > 0, pv / safe_q, 0.0)
    out: FloatArray = np.tensordot(qv * weight, fv, axes=(0, 0))
    return out


def importance_weighted_gradient(
    grad_logp: Any, logp: Any, logp_old: Any, psi: Any, weights: Any = None
) -> FloatArray:
    """ĝ = Σ_i w_i Σ_t ρ_t^i ∇_θ log π_θ(a_t^i|s_t^i) Ψ_t^i,  ρ_t^i = exp(logp_t^i − logp_old_t^i); eq. (8.3).

    This is ∇_θ of the importance-weighted surrogate Σ_i w_i Σ_t ρ_t^i Ψ_t^i (because
    ∇ρ = ρ ∇log π_θ), for trajectories sampled from the behaviour policy π_θold.  Which
    expectation it estimates depends on what the caller passes as the log-probabilities:

    - per-step log π(a_t|s_t) with Ψ_t = γ^t A^{π_old}_t: the gradient of the surrogate
      L(θ_old, θ) of §10, equal to ∇J(θ) only at θ = θ_old (PPO, TRPO);
    - the prefix sums Σ_{k≤t} log π(a_k|s_k) with Ψ_t = γ^t Q^{π_θ}_t: ∇J(θ) exactly;
    - the whole-trajectory sum Σ_k log π(a_k|s_k) with Ψ_t = R(τ): ∇J(θ) exactly.

    Args:
        grad_logp: [m, T, n], ∇_θ log π_θ(a_t^i|s_t^i) at the *current* θ.
        logp: [m, T], log-probabilities under π_θ (see above for which ones).
        logp_old: [m, T], the same under the behaviour policy π_θold.
        psi: [m, T], the per-step weight Ψ_t (an advantage, a return, ...).
        weights: [m] or None: 1/m (the sample mean over trajectories); P_old(τ^i) for an
            exact expectation over every trajectory.
    Returns:
        [n].
    """
    lp = as_float_array(logp, "logp", ndim=2)
    lo = as_float_array(logp_old, "logp_old", ndim=2)
    ps = as_float_array(psi, "psi", ndim=2)
    check_same_shape(logp=lp, logp_old=lo, psi=ps)
    g, lp, w = check_trajectory_batch(grad_logp, lp, weights, "logp")
    rho = importance_ratio(lp, lo)
    if not np.all(np.isfinite(rho)):
        raise ValueError("logp: logp − logp_old overflows exp (ratio > 1e308); the policies are too far apart")
    out: FloatArray = np.einsum("i,itn,it->n", w, g, rho * ps)
    return out
