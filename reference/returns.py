"""Discounted returns and rewards-to-go (SPEC.md §3).

G_t = Σ_{k=t}^{T-1} γ^{k−t} r_k for a single trajectory, in two forms that must agree
(claim RET-FAST-EQUALS-LITERAL): the literal double sum and a linear filter.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import FloatArray, as_float_array, check_unit_interval

__all__ = ["discounted_returns", "discounted_returns_literal", "rewards_to_go"]


def discounted_returns_literal(rewards: Any, gamma: float) -> FloatArray:
    """G_t = Σ_{k=t}^{T-1} γ^{k−t} r_k, computed term by term (O(T²)); SPEC.md eq. (3.1).

    Args:
        rewards: r_0..r_{T-1}, shape [T].
        gamma: discount in [0, 1]; 0**0 is taken as 1.
    Returns:
        G_0..G_{T-1}, shape [T].
    """
    r = as_float_array(rewards, "rewards", ndim=1)
    g = check_unit_interval(gamma, "gamma")
    n = r.shape[0]
    out = np.zeros(n)
    for t in range(n):
        acc = 0.0
        for k in range(t, n):
            acc += (g ** (k - t)) * r[k]
        out[t] = acc
    return out


def discounted_returns(rewards: Any, gamma: float) -> FloatArray:
    """G_t = r_t + γ G_{t+1}, G_T = 0, as an IIR filter run backwards in time; SPEC.md eq. (3.2).

    Accepts [T] or [T, N] (N independent trajectories in columns, time on axis 0).
    """
    r = as_float_array(rewards, "rewards")
    if r.ndim not in (1, 2):
        raise ValueError(f"rewards: expected shape [T] or [T, N], got {r.shape}")
    g = check_unit_interval(gamma, "gamma")
    if r.shape[0] == 0:
        return r.copy()
    from scipy.signal import lfilter  # here, not at import: scipy.signal takes ~1 s to import

    out = lfilter([1.0], [1.0, -g], r[::-1], axis=0)[::-1]
    return np.ascontiguousarray(out, dtype=np.float64)


def rewards_to_go(rewards: Any) -> FloatArray:
    """Undiscounted rewards-to-go Σ_{t'=t}^{T-1} r_{t'} (source S3.3), shape [T]."""
    return discounted_returns(as_float_array(rewards, "rewards", ndim=1), 1.0)
