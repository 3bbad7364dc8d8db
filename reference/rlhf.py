"""Preference losses and KL-shaped rewards for RLHF (SPEC.md §12)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import (
    FloatArray,
    as_float_array,
    as_mask,
    check_nonnegative,
    check_positive,
    check_same_shape,
)

__all__ = ["bt_loss", "dpo_loss", "kl_rewards"]


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
