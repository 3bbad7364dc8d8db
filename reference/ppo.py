"""Importance ratios and PPO objectives (SPEC.md §8-§9)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import FloatArray, as_float_array, as_scalar, check_positive, check_same_shape

__all__ = ["ppo_clip", "kl_beta_update"]


def ppo_clip(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> FloatArray:
    """Per-sample PPO-Clip objective (to maximize); SPEC.md eq. (9.2).

    L_i = min(ρ_i A_i, clip(ρ_i, 1 − ε, 1 + ε) A_i),  ρ_i = exp(logp_new_i − logp_old_i).
    The loss is −L and the reduction (mean over samples or tokens) is a separate step.

    Args:
        logp_new, logp_old, advantages: shape [N].
        epsilon: clip range, > 0.
    Returns:
        [N].
    """
    lp = as_float_array(logp_new, "logp_new")
    lo = as_float_array(logp_old, "logp_old")
    adv = as_float_array(advantages, "advantages")
    check_same_shape(logp_new=lp, logp_old=lo, advantages=adv)
    eps = check_positive(epsilon, "epsilon")
    with np.errstate(over="ignore"):
        ratio = np.exp(lp - lo)
    clipped = np.clip(ratio, 1.0 - eps, 1.0 + eps)
    with np.errstate(invalid="ignore"):
        out = np.minimum(ratio * adv, clipped * adv)
    out = np.where(adv == 0.0, 0.0, out)
    return np.asarray(out, dtype=np.float64)


def kl_beta_update(beta: float, kl: float, kl_target: float) -> float:
    """Adaptive KL coefficient of PPO-Penalty (Schulman et al. 2017, §4); SPEC.md eq. (9.5).

    β ← β/2 if KL < KL_target/1.5;  β ← 2β if KL > 1.5·KL_target;  otherwise unchanged
    (both inequalities strict, so a KL exactly on a band edge leaves β unchanged).
    """
    b = check_positive(beta, "beta")
    d = as_scalar(kl, "kl")
    if d < 0:
        raise ValueError(f"kl: a KL divergence must be >= 0, got {d}")
    tgt = check_positive(kl_target, "kl_target")
    if d < tgt / 1.5:
        return b / 2.0
    if d > tgt * 1.5:
        return b * 2.0
    return b
