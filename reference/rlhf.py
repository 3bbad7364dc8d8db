"""Preference losses and KL-shaped rewards for RLHF (SPEC.md §12)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import (
    FloatArray,
    as_float_array,
    check_distribution,
    as_mask,
    check_nonnegative,
    check_positive,
    check_same_shape,
)

__all__ = ["bt_loss", "dpo_loss", "kl_rewards", "kl_optimal_policy", "kl_optimal_value", "kl_regularized_objective"]


def _softplus(x: FloatArray) -> FloatArray:
    out: FloatArray = np.logaddexp(0.0, x)
    return out


def bt_loss(r_chosen: Any, r_rejected: Any) -> FloatArray:
    """Per-pair Bradley–Terry loss −log σ(r_w − r_l) = softplus(−(r_w − r_l)); SPEC.md eq. (12.3).

    Args:
        r_chosen: [N], r(x, y_w).
        r_rejected: [N], r(x, y_l).
    Returns:
        [N] (reduce separately).
    """
    rc = as_float_array(r_chosen, "r_chosen", ndim=1)
    rr = as_float_array(r_rejected, "r_rejected", ndim=1)
    check_same_shape(r_chosen=rc, r_rejected=rr)
    return _softplus(-(rc - rr))


def dpo_loss(
    policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float
) -> FloatArray:
    """Per-pair DPO loss (Rafailov et al. 2023); SPEC.md eq. (12.9).

    −log σ(β[(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))]),
    from summed sequence log-probabilities, each [N].
    """
    pc = as_float_array(policy_chosen, "policy_chosen", ndim=1)
    pr = as_float_array(policy_rejected, "policy_rejected", ndim=1)
    rc = as_float_array(ref_chosen, "ref_chosen", ndim=1)
    rr = as_float_array(ref_rejected, "ref_rejected", ndim=1)
    check_same_shape(policy_chosen=pc, policy_rejected=pr, ref_chosen=rc, ref_rejected=rr)
    b = check_positive(beta, "beta")
    margin = b * ((pc - rc) - (pr - rr))
    return _softplus(-margin)


def kl_rewards(scores: Any, logp: Any, ref_logp: Any, mask: Any, beta: float) -> FloatArray:
    """Per-token KL-shaped rewards (Ziegler et al. 2019); SPEC.md eq. (12.6).

    r_{n,l} = −β (logp_{n,l} − ref_logp_{n,l}) on response tokens (mask true),
    plus scores[n] on the last response token of row n, and 0 on padding.

    Args:
        scores: [N], reward-model score of each response.
        logp, ref_logp: [N, L], token log-probs under the policy and the reference.
        mask: [N, L], true on response tokens; every row needs at least one.
        beta: KL coefficient, >= 0.
    Returns:
        [N, L].
    """
    sc = as_float_array(scores, "scores", ndim=1)
    lp = as_float_array(logp, "logp", ndim=2)
    ref = as_float_array(ref_logp, "ref_logp", ndim=2)
    m = as_mask(mask, "mask", ndim=2)
    check_same_shape(logp=lp, ref_logp=ref, mask=m)
    if lp.shape[0] != sc.shape[0]:
        raise ValueError(f"shape mismatch: scores{sc.shape} must be [N] with N = logp.shape[0] = {lp.shape[0]}")
    if lp.shape[0] == 0:
        raise ValueError("scores: empty batch (N = 0)")
    has = m.any(axis=1)
    if not np.all(has):
        bad = int(np.flatnonzero(~has)[0])
        raise ValueError(f"mask: row {bad} has no response token")
    b = check_nonnegative(beta, "beta")
    out = np.where(m, -b * (lp - ref), 0.0)
    last = m.shape[1] - 1 - np.argmax(m[:, ::-1], axis=1)
    out[np.arange(m.shape[0]), last] += sc
    return out


def _response_dists(ref: Any, rewards: Any) -> tuple[FloatArray, FloatArray]:
    p = as_float_array(ref, "ref_probs")
    r = as_float_array(rewards, "rewards")
    if p.ndim not in (1, 2) or p.shape[-1] == 0:
        raise ValueError(f"ref_probs: expected shape [K] or [P, K] with K >= 1, got {p.shape}")
    check_same_shape(ref_probs=p, rewards=r)
    check_distribution(p, "ref_probs", axis=-1)
    return p, r


def kl_optimal_policy(ref_probs: Any, rewards: Any, beta: float) -> FloatArray:
    """π*(y|x) = π_ref(y|x) exp(r(x,y)/β) / Z(x), the maximizer of (12.10); SPEC.md eq. (12.11).

    Args:
        ref_probs: π_ref over the K responses of a prompt, [K] (or [P, K], one row per prompt).
        rewards: r(x, y), same shape.
        beta: β > 0.
    Returns:
        π*, same shape; zero wherever π_ref is zero.
    """
    p, r = _response_dists(ref_probs, rewards)
    b = check_positive(beta, "beta")
    with np.errstate(divide="ignore"):
        logits = np.where(p > 0, np.log(p) + r / b, -np.inf)
    logits = logits - logits.max(axis=-1, keepdims=True)
    w = np.exp(logits)
    out: FloatArray = w / w.sum(axis=-1, keepdims=True)
    return out


def kl_optimal_value(ref_probs: Any, rewards: Any, beta: float) -> FloatArray | float:
    """max_π J(π) = β log Z(x) = β log Σ_y π_ref(y|x) exp(r(x,y)/β); SPEC.md eq. (12.12).

    Returns a float for [K] input, an array [P] for [P, K].
    """
    p, r = _response_dists(ref_probs, rewards)
    b = check_positive(beta, "beta")
    with np.errstate(divide="ignore"):
        z = np.where(p > 0, np.log(p) + r / b, -np.inf)
    m = z.max(axis=-1)
    out = b * (m + np.log(np.exp(z - m[..., None]).sum(axis=-1)))
    return float(out) if out.ndim == 0 else np.asarray(out, dtype=np.float64)


def kl_regularized_objective(policy_probs: Any, ref_probs: Any, rewards: Any, beta: float) -> FloatArray | float:
    """J(π) = E_{y~π}[r(x,y)] − β KL(π(·|x) ‖ π_ref(·|x)); SPEC.md eq. (12.10).

    Uses 0·log 0 = 0; a policy with mass where π_ref is zero has infinite KL and J = −inf.
    Returns a float for [K] input, an array [P] for [P, K].
    """
    p, r = _response_dists(ref_probs, rewards)
    q = as_float_array(policy_probs, "policy_probs")
    check_same_shape(policy_probs=q, ref_probs=p)
    check_distribution(q, "policy_probs", axis=-1)
    b = check_nonnegative(beta, "beta")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * (np.log(q) - np.log(np.where(p > 0, p, 1.0))), 0.0)
        infinite = np.any((q > 0) & (p == 0), axis=-1)
    kl = np.where(infinite, np.inf, terms.sum(axis=-1))
    out = (q * r).sum(axis=-1) - b * kl
    return float(out) if out.ndim == 0 else np.asarray(out, dtype=np.float64)
