"""PPO: the clipped and KL-penalized surrogates, their pieces and the combined loss (SPEC.md §9).

Conventions (SPEC.md §0): ρ_i = exp(logp_new_i − logp_old_i); objectives are quantities to
maximize and losses their negation; every function returns per-sample values [N] and leaves the
reduction (a mean over samples, tokens or sequences) to the caller.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ._validate import (
    FloatArray,
    as_float_array,
    as_scalar,
    check_nonnegative,
    check_positive,
    check_same_shape,
)

__all__ = [
    "categorical_entropy",
    "categorical_kl",
    "kl_beta_update",
    "kl_estimate",
    "ppo_actor_critic_loss",
    "ppo_clip",
    "ppo_clip_cases",
    "ppo_clip_grad",
    "ppo_penalty",
]


def _ratio_inputs(logp_new: Any, logp_old: Any, advantages: Any) -> tuple[FloatArray, FloatArray]:
    lp = as_float_array(logp_new, "logp_new")
    lo = as_float_array(logp_old, "logp_old")
    adv = as_float_array(advantages, "advantages")
    check_same_shape(logp_new=lp, logp_old=lo, advantages=adv)
    with np.errstate(over="ignore"):
        ratio: FloatArray = np.exp(lp - lo)
    return ratio, adv


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
    ratio, adv = _ratio_inputs(logp_new, logp_old, advantages)
    eps = check_positive(epsilon, "epsilon")
    clipped = np.clip(ratio, 1.0 - eps, 1.0 + eps)
    with np.errstate(invalid="ignore"):
        out = np.minimum(ratio * adv, clipped * adv)
    out = np.where(adv == 0.0, 0.0, out)
    return np.asarray(out, dtype=np.float64)


def ppo_clip_cases(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> FloatArray:
    """The case form of PPO-Clip; SPEC.md eq. (9.3) (S9.5, S9.7).

    L_i = min(ρ_i, 1 + ε) A_i if A_i ≥ 0,   L_i = max(ρ_i, 1 − ε) A_i if A_i < 0,
    which equals eq. (9.2) for every ρ and A (claim PPO-CLIP-CASES); equivalently
    min(ρA, g(ε, A)) with g = (1 + ε)A for A ≥ 0 and (1 − ε)A for A < 0.

    Args:
        logp_new, logp_old, advantages: shape [N].
        epsilon: > 0.
    Returns:
        [N].
    """
    ratio, adv = _ratio_inputs(logp_new, logp_old, advantages)
    eps = check_positive(epsilon, "epsilon")
    with np.errstate(invalid="ignore"):
        pos = np.minimum(ratio, 1.0 + eps) * adv
        neg = np.maximum(ratio, 1.0 - eps) * adv
    out = np.where(adv >= 0.0, pos, neg)
    out = np.where(adv == 0.0, 0.0, out)
    return np.asarray(out, dtype=np.float64)


def ppo_clip_grad(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> FloatArray:
    """∂L_i/∂logp_new_i of the per-sample PPO-Clip objective; SPEC.md eq. (9.4).

    ∂L/∂logp_new = ρ A where the unclipped term is active, and 0 where clipping holds the
    objective constant: A > 0 and ρ > 1 + ε, or A < 0 and ρ < 1 − ε.  At the kinks ρ = 1 ± ε
    the value is ρ A (the one-sided derivative from inside the band), which is what autograd
    returns for min(ρA, clamp(ρ, 1 − ε, 1 + ε)A).  Chain with ∇_θ log π_θ(a_i|s_i) for ∇_θ L_i.

    Args:
        logp_new, logp_old, advantages: shape [N].
        epsilon: > 0.
    Returns:
        [N].
    """
    ratio, adv = _ratio_inputs(logp_new, logp_old, advantages)
    eps = check_positive(epsilon, "epsilon")
    flat = ((adv > 0.0) & (ratio > 1.0 + eps)) | ((adv < 0.0) & (ratio < 1.0 - eps)) | (adv == 0.0)
    with np.errstate(invalid="ignore"):
        out = np.where(flat, 0.0, ratio * adv)
    return np.asarray(out, dtype=np.float64)


def ppo_penalty(logp_new: Any, logp_old: Any, advantages: Any, kl: Any, beta: float) -> FloatArray:
    """Per-sample KL-penalized surrogate of PPO-Penalty (to maximize); SPEC.md eq. (9.6).

    L_i = ρ_i A_i − β KL_i,  ρ_i = exp(logp_new_i − logp_old_i), where KL_i is the KL divergence
    KL(π_old(·|s_i) ‖ π_θ(·|s_i)) at the sample's state (Schulman et al. 2017, eq. 8): the exact
    per-state value from :func:`categorical_kl` or a per-sample estimate from :func:`kl_estimate`.

    Args:
        logp_new, logp_old, advantages, kl: shape [N].
        beta: penalty coefficient, >= 0 (adapted by :func:`kl_beta_update`).
    Returns:
        [N].
    """
    ratio, adv = _ratio_inputs(logp_new, logp_old, advantages)
    k = as_float_array(kl, "kl")
    check_same_shape(advantages=adv, kl=k)
    b = check_nonnegative(beta, "beta")
    if not np.all(np.isfinite(ratio)):
        raise ValueError("logp_new: logp_new − logp_old overflows exp (ratio > 1e308)")
    out: FloatArray = ratio * adv - b * k
    return out


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


def _log_softmax(logits: Any, name: str) -> FloatArray:
    th = as_float_array(logits, name)
    if th.ndim == 0 or th.shape[-1] == 0:
        raise ValueError(f"{name}: expected shape [..., A] with A >= 1, got {th.shape}")
    z = th - th.max(axis=-1, keepdims=True)
    out: FloatArray = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return out


def categorical_entropy(logits: Any) -> FloatArray:
    """H[π] = −Σ_a π(a) log π(a) of π = softmax(logits) along the last axis; SPEC.md eq. (9.8).

    Args:
        logits: [..., A], finite.
    Returns:
        [...], each in [0, log A].
    """
    logp = _log_softmax(logits, "logits")
    out: FloatArray = -(np.exp(logp) * logp).sum(axis=-1)
    return out


def categorical_kl(logits_p: Any, logits_q: Any) -> FloatArray:
    """KL(p ‖ q) = Σ_a p(a) (log p(a) − log q(a)) for p = softmax(logits_p), q = softmax(logits_q).

    SPEC.md eq. (9.7).  The first argument is the distribution the expectation is taken under.

    Args:
        logits_p, logits_q: [..., A], one shape.
    Returns:
        [...], >= 0.
    """
    lp = _log_softmax(logits_p, "logits_p")
    lq = _log_softmax(logits_q, "logits_q")
    check_same_shape(logits_p=lp, logits_q=lq)
    out: FloatArray = np.maximum((np.exp(lp) * (lp - lq)).sum(axis=-1), 0.0)
    return out


KLEstimator = Literal["k1", "k2", "k3"]


def kl_estimate(logp_new: Any, logp_old: Any, estimator: KLEstimator = "k3") -> FloatArray:
    """Per-sample estimates of KL(π_old ‖ π_new) from actions sampled under π_old; SPEC.md eq. (9.7).

    With log ρ = logp_new − logp_old:  k1 = −log ρ,  k2 = ½ (log ρ)²,  k3 = (ρ − 1) − log ρ.
    k1 and k3 are unbiased (E_{π_old}[ρ] = 1); k3 is also >= 0 per sample; k2 is biased, equal
    to the KL only to second order (claim PPO-KL-ESTIMATORS).

    Args:
        logp_new, logp_old: [N], log-probabilities of the sampled actions.
        estimator: "k1", "k2" or "k3".
    Returns:
        [N].
    """
    lp = as_float_array(logp_new, "logp_new")
    lo = as_float_array(logp_old, "logp_old")
    check_same_shape(logp_new=lp, logp_old=lo)
    log_r = lp - lo
    if estimator == "k1":
        out: FloatArray = -log_r
    elif estimator == "k2":
        out = 0.5 * log_r**2
    elif estimator == "k3":
        with np.errstate(over="ignore"):
            out = np.expm1(log_r) - log_r
    else:
        raise ValueError(f"estimator: expected 'k1', 'k2' or 'k3', got {estimator!r}")
    return out


def ppo_actor_critic_loss(
    logp_new: Any,
    logp_old: Any,
    advantages: Any,
    values: Any,
    returns: Any,
    entropy: Any,
    epsilon: float,
    c1: float,
    c2: float,
) -> FloatArray:
    """Per-sample combined PPO loss (to minimize); SPEC.md eq. (9.9) (Schulman et al. 2017, eq. 9).

    ℓ_i = −L^CLIP_i + c1 (V_θ(s_i) − V_i^targ)² − c2 H[π_θ(·|s_i)],
    the negation of the objective L^CLIP − c1 L^VF + c2 H to maximize.  The value loss has no
    factor ½ (a ½ is the same loss with c1/2: SPEC.md §14.3).

    Args:
        logp_new, logp_old, advantages: [N], as for :func:`ppo_clip`.
        values: [N], V_θ(s_i).
        returns: [N], the value targets V_i^targ (e.g. Â_i + V_old(s_i)).
        entropy: [N], H[π_θ(·|s_i)] (e.g. :func:`categorical_entropy` of the state's logits).
        epsilon: > 0.
        c1, c2: >= 0.
    Returns:
        [N].
    """
    clip_obj = ppo_clip(logp_new, logp_old, advantages, epsilon)
    v = as_float_array(values, "values")
    ret = as_float_array(returns, "returns")
    ent = as_float_array(entropy, "entropy")
    check_same_shape(advantages=np.asarray(advantages), values=v, returns=ret, entropy=ent)
    k1 = check_nonnegative(c1, "c1")
    k2 = check_nonnegative(c2, "c2")
    out: FloatArray = -clip_obj + k1 * (v - ret) ** 2 - k2 * ent
    return out
