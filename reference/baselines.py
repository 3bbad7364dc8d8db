"""Baselines for the policy gradient (SPEC.md §4)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import FloatArray, as_float_array, check_unit_interval

__all__ = ["constant_baseline", "min_variance_baseline", "time_dependent_baseline"]


def _weights(weights: Any, m: int, m_name: str) -> FloatArray:
    """Normalized weights of m trajectories; ``m_name`` names the array whose length is m."""
    if m == 0:
        raise ValueError(f"{m_name}: need at least one trajectory (m >= 1)")
    if weights is None:
        return np.full(m, 1.0 / m)
    w = as_float_array(weights, "weights", ndim=1)
    if w.shape[0] != m:
        raise ValueError(f"weights: expected shape [m] = [{m}] (m = {m_name}.shape[0]), got {w.shape}")
    if np.any(w < 0) or w.sum() <= 0:
        raise ValueError("weights: must be >= 0 with a positive sum")
    out: FloatArray = w / w.sum()
    return out


def constant_baseline(returns: Any, weights: Any = None) -> float:
    """b = (1/m) Σ_i R(τ^i) ≈ E[R(τ)]; SPEC.md eq. (4.1).

    Args:
        returns: [m], R(τ^i).
        weights: [m] or None; normalized to sum to one (exact engine: trajectory probabilities).
    """
    r = as_float_array(returns, "returns", ndim=1)
    return float(_weights(weights, r.shape[0], "returns") @ r)


def min_variance_baseline(grad_logp: Any, returns: Any, weights: Any = None) -> FloatArray:
    """Per-coordinate minimum-variance baseline b_k = Σ_i g_ik² R_i / Σ_i g_ik²; SPEC.md eq. (4.2).

    It minimizes Var[g_k (R − b_k)] coordinate by coordinate (claim PG-MINVAR-OPTIMAL).  Where
    Σ_i g_ik² = 0 the coordinate's estimator is zero whatever b_k is, and b_k = 0 is returned.

    Args:
        grad_logp: [m, n], g_i = ∇_θ log P(τ^i; θ) (trajectory scores).
        returns: [m], R(τ^i).
        weights: [m] or None (uniform); for exact expectations, trajectory probabilities.
    Returns:
        [n].
    """
    g = as_float_array(grad_logp, "grad_logp", ndim=2)
    r = as_float_array(returns, "returns", ndim=1)
    if r.shape[0] != g.shape[0]:
        raise ValueError(f"shape mismatch: grad_logp{g.shape} is [m, n], returns must be [m], got {r.shape}")
    w = _weights(weights, g.shape[0], "grad_logp")
    g2 = w[:, None] * g * g
    den = g2.sum(axis=0)
    num = g2.T @ r
    out = np.zeros(g.shape[1])
    nz = den > 0
    out[nz] = num[nz] / den[nz]
    return out


def time_dependent_baseline(rewards: Any, gamma: float = 1.0, weights: Any = None) -> FloatArray:
    """b_t = (1/m) Σ_i Σ_{k≥t} γ^{k−t} r_k^i, shape [T]; SPEC.md eq. (4.3) (source S4.3, γ = 1).

    Args:
        rewards: [m, T].
    """
    r = as_float_array(rewards, "rewards", ndim=2)
    g = check_unit_interval(gamma, "gamma")
    w = _weights(weights, r.shape[0], "rewards")
    # G_t = (Σ_{k≥t} γ^k r_k) / γ^t is unstable for small γ; run the recursion instead.
    ret = np.zeros_like(r)
    acc = np.zeros(r.shape[0])
    for t in range(r.shape[1] - 1, -1, -1):
        acc = r[:, t] + g * acc
        ret[:, t] = acc
    out: FloatArray = w @ ret
    return out
