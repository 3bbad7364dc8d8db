"""TD residuals and generalized advantage estimation on rollouts (SPEC.md §6).

Canonical rollout convention (SPEC.md §0), all arrays 1-D of length T (or [T, N] where noted):
rewards[t] = r_t, values[t] = V(s_t), next_values[t] = V(s_{t+1}) of the true next state
(also at an episode end), terminated[t]: s_{t+1} is terminal (no bootstrap), truncated[t]: a
time limit ended the episode after step t (bootstrap from next_values[t], but nothing flows
across the boundary).  The end of the arrays cuts the last episode like a truncation.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import (
    BoolArray,
    FloatArray,
    as_float_array,
    as_mask,
    check_same_shape,
    check_unit_interval,
)

__all__ = ["td_residuals", "gae"]


def _rollout(
    rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray, BoolArray]:
    r = as_float_array(rewards, "rewards")
    if r.ndim not in (1, 2):
        raise ValueError(f"rewards: expected shape [T] or [T, N], got {r.shape}")
    v = as_float_array(values, "values")
    nv = as_float_array(next_values, "next_values")
    term = as_mask(terminated, "terminated")
    trunc = as_mask(truncated, "truncated") if truncated is not None else np.zeros(r.shape, dtype=np.bool_)
    check_same_shape(
        rewards=r, values=v, next_values=nv, terminated=term, truncated=trunc
    )
    return r, v, nv, term, trunc


def td_residuals(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> FloatArray:
    """δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t); SPEC.md eq. (6.4).

    Args:
        rewards, values, next_values, terminated: shape [T] (or [T, N]), see the module doc.
        gamma: discount in [0, 1].
    Returns:
        δ, same shape.
    """
    r, v, nv, term, _ = _rollout(rewards, values, next_values, terminated)
    g = check_unit_interval(gamma, "gamma")
    out: FloatArray = r + g * np.where(term, 0.0, nv) - v
    return out


def gae(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> FloatArray:
    """GAE(γ, λ) by the backward recursion; SPEC.md eq. (6.8).

    Â_t = δ_t + γλ (1 − done_t) Â_{t+1},  Â_T = 0,  done_t = terminated_t or truncated_t,
    which equals Σ_{l≥0} (γλ)^l δ_{t+l} summed up to the end of s_t's episode.

    Args:
        rewards, values, next_values, terminated, truncated: shape [T] or [T, N] (time on axis 0).
        gamma, lam: in [0, 1].
    Returns:
        Â, same shape as rewards.
    """
    r, v, nv, term, trunc = _rollout(rewards, values, next_values, terminated, truncated)
    g = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    delta = r + g * np.where(term, 0.0, nv) - v
    cont = g * lm * ~(term | trunc)
    out = np.zeros_like(delta)
    acc = np.zeros(delta.shape[1:])
    for t in range(delta.shape[0] - 1, -1, -1):
        acc = delta[t] + cont[t] * acc
        out[t] = acc
    return out
