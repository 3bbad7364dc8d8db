"""Mutants for SPEC.md §9: the ways PPO's clipped objective, its gradient, the penalty, the KL
estimators, the adaptive coefficient and the combined loss are commonly miswritten."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from . import Mutant, register_mutant


def _arrays(logp_new: Any, logp_old: Any, advantages: Any) -> tuple[np.ndarray, np.ndarray]:
    r = np.exp(np.asarray(logp_new, float) - np.asarray(logp_old, float))
    return r, np.asarray(advantages, float)


def _clip_without_min(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    r, a = _arrays(logp_new, logp_old, advantages)
    out: np.ndarray = np.clip(r, 1 - epsilon, 1 + epsilon) * a  # clip(ρ)A alone
    return out


def _clip_max(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    r, a = _arrays(logp_new, logp_old, advantages)
    out: np.ndarray = np.maximum(r * a, np.clip(r, 1 - epsilon, 1 + epsilon) * a)  # optimistic
    return out


def _clip_log_ratio(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    lp, lo, a = (np.asarray(x, float) for x in (logp_new, logp_old, advantages))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = lp / lo  # a ratio of log-probabilities (the source's S8.2)
        out: np.ndarray = np.minimum(r * a, np.clip(r, 1 - epsilon, 1 + epsilon) * a)
    return out


def _clip_inverted(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    return reference.ppo_clip(logp_old, logp_new, advantages, epsilon)  # π_old/π_new


def _clip_as_loss(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    return -reference.ppo_clip(logp_new, logp_old, advantages, epsilon)  # the loss where the objective is expected


def _cases_swapped(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    r, a = _arrays(logp_new, logp_old, advantages)
    out: np.ndarray = np.where(a >= 0, np.maximum(r, 1 - epsilon) * a, np.minimum(r, 1 + epsilon) * a)  # cases swapped
    return out


def _grad_unmasked(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    r, a = _arrays(logp_new, logp_old, advantages)
    out: np.ndarray = r * a  # the gradient of the unclipped surrogate
    return out


def _grad_wrt_ratio(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    g = reference.ppo_clip_grad(logp_new, logp_old, advantages, epsilon)
    r, _ = _arrays(logp_new, logp_old, advantages)
    out: np.ndarray = g / r  # ∂L/∂ρ returned where ∂L/∂log π is specified
    return out


def _grad_both_sides(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    r, a = _arrays(logp_new, logp_old, advantages)
    out: np.ndarray = np.where((r > 1 + epsilon) | (r < 1 - epsilon), 0.0, r * a)  # zero outside the band on both sides
    return out


def _grad_sign(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> np.ndarray:
    return -reference.ppo_clip_grad(logp_new, logp_old, advantages, epsilon)  # the loss's gradient


def _penalty_plus(logp_new: Any, logp_old: Any, advantages: Any, kl: Any, beta: float) -> np.ndarray:
    r, a = _arrays(logp_new, logp_old, advantages)
    out: np.ndarray = r * a + beta * np.asarray(kl, float)  # the penalty added
    return out


def _kl_reversed(logits_p: Any, logits_q: Any) -> np.ndarray:
    return reference.categorical_kl(logits_q, logits_p)  # KL(new‖old) where KL(old‖new) is specified


def _beta_inverted(beta: float, kl: float, kl_target: float) -> float:
    if kl < kl_target / 1.5:
        return beta * 2.0
    if kl > 1.5 * kl_target:
        return beta / 2.0
    return beta


def _beta_inclusive(beta: float, kl: float, kl_target: float) -> float:
    if kl <= kl_target / 1.5:
        return beta / 2.0
    if kl >= 1.5 * kl_target:
        return beta * 2.0
    return beta


def _k3_wrong_sign(logp_new: Any, logp_old: Any, estimator: str = "k3") -> np.ndarray:
    log_r = np.asarray(logp_new, float) - np.asarray(logp_old, float)
    if estimator == "k3":
        out: np.ndarray = (np.exp(log_r) - 1.0) + log_r
        return out
    return reference.kl_estimate(logp_new, logp_old, estimator)  # type: ignore[arg-type]


def _k1_wrong_sign(logp_new: Any, logp_old: Any, estimator: str = "k3") -> np.ndarray:
    if estimator == "k1":
        out: np.ndarray = np.asarray(logp_new, float) - np.asarray(logp_old, float)  # log ρ: estimates −KL
        return out
    return reference.kl_estimate(logp_new, logp_old, estimator)  # type: ignore[arg-type]


def _entropy_no_minus(logits: Any) -> np.ndarray:
    return -reference.categorical_entropy(logits)


def _entropy_log2(logits: Any) -> np.ndarray:
    out: np.ndarray = reference.categorical_entropy(logits) / np.log(2.0)  # bits instead of nats
    return out


def _combined_entropy_sign(*args: Any) -> np.ndarray:
    logp_new, logp_old, adv, values, returns, entropy, eps, c1, c2 = args
    base = reference.ppo_actor_critic_loss(logp_new, logp_old, adv, values, returns, entropy, eps, c1, 0.0)
    out: np.ndarray = base + c2 * np.asarray(entropy, float)  # rewards determinism
    return out


def _combined_value_sign(*args: Any) -> np.ndarray:
    logp_new, logp_old, adv, values, returns, entropy, eps, c1, c2 = args
    base = reference.ppo_actor_critic_loss(logp_new, logp_old, adv, values, returns, entropy, eps, 0.0, c2)
    out: np.ndarray = base - c1 * (np.asarray(values, float) - np.asarray(returns, float)) ** 2  # the source's "+ L_VF" in an objective
    return out


def _combined_not_negated(*args: Any) -> np.ndarray:
    logp_new, logp_old, adv, values, returns, entropy, eps, c1, c2 = args
    clip = reference.ppo_clip(logp_new, logp_old, adv, eps)
    out: np.ndarray = clip + c1 * (np.asarray(values, float) - np.asarray(returns, float)) ** 2 - c2 * np.asarray(entropy, float)
    return out


for _m in [
    Mutant("ppo-clip-without-min", "clip(ρ, 1−ε, 1+ε)A without the min with ρA", ("PPO-CLIP-CASES", "PPO-CLIP-POS", "PPO-CLIP-NEG", "PPO-CLIP-PESSIMISTIC"), {"ppo_clip": _clip_without_min}),
    Mutant("ppo-clip-max-instead-of-min", "max(ρA, clip(ρ)A): an optimistic bound", ("PPO-CLIP-CASES", "PPO-CLIP-POS", "PPO-CLIP-NEG", "PPO-CLIP-PESSIMISTIC"), {"ppo_clip": _clip_max}),
    Mutant("ppo-clip-log-prob-ratio", "ρ = log π_θ / log π_old (the source's S8.2)", ("PPO-CLIP-CASES",), {"ppo_clip": _clip_log_ratio}),
    Mutant("ppo-clip-inverted-ratio", "ρ = π_old/π_θ", ("PPO-CLIP-CASES", "PPO-CLIP-PESSIMISTIC"), {"ppo_clip": _clip_inverted}),
    Mutant("ppo-clip-returns-loss", "returns −L (the loss) where the objective is specified", ("PPO-CLIP-CASES", "PPO-RATIO-ONE"), {"ppo_clip": _clip_as_loss}),
    Mutant("ppo-cases-swapped", "case form with min/max swapped between A >= 0 and A < 0", ("PPO-CLIP-CASES",), {"ppo_clip_cases": _cases_swapped}),
    Mutant("ppo-grad-unmasked", "∂L/∂log π = ρA everywhere (the unclipped surrogate's gradient)", ("PPO-CLIP-POS", "PPO-CLIP-NEG", "PPO-CLIP-GRAD"), {"ppo_clip_grad": _grad_unmasked}),
    Mutant("ppo-grad-wrt-ratio", "∂L/∂ρ = A returned instead of ∂L/∂log π = ρA", ("PPO-CLIP-POS", "PPO-CLIP-GRAD"), {"ppo_clip_grad": _grad_wrt_ratio}),
    Mutant("ppo-grad-zero-outside-band", "gradient zeroed whenever ρ leaves the band, whatever the sign of A", ("PPO-CLIP-POS", "PPO-CLIP-NEG", "PPO-CLIP-GRAD"), {"ppo_clip_grad": _grad_both_sides}),
    Mutant("ppo-grad-sign", "the loss's gradient −∂L/∂log π", ("PPO-RATIO-ONE", "PPO-CLIP-GRAD"), {"ppo_clip_grad": _grad_sign}),
    Mutant("ppo-penalty-plus", "ρA + βKL: the penalty added to the objective", ("PPO-PENALTY-OBJECTIVE",), {"ppo_penalty": _penalty_plus}),
    Mutant("kl-reversed", "categorical_kl computing KL(q‖p)", ("PPO-PENALTY-OBJECTIVE",), {"categorical_kl": _kl_reversed}),
    Mutant("kl-beta-inverted-band", "β doubled when the KL is too small and halved when too large", ("PPO-KL-BETA-RULE",), {"kl_beta_update": _beta_inverted}),
    Mutant("kl-beta-inclusive-edges", "β changed when the KL is exactly on a band edge (<=, >=)", ("PPO-KL-BETA-RULE",), {"kl_beta_update": _beta_inclusive}, conformance_visible=False),
    Mutant("kl-k3-wrong-sign", "k3 = (ρ − 1) + log ρ", ("PPO-KL-ESTIMATORS",), {"kl_estimate": _k3_wrong_sign}),
    Mutant("kl-k1-wrong-sign", "k1 = log ρ (estimates −KL)", ("PPO-KL-ESTIMATORS",), {"kl_estimate": _k1_wrong_sign}),
    Mutant("entropy-no-minus", "Σ p log p (the negative entropy)", ("PPO-ENTROPY",), {"categorical_entropy": _entropy_no_minus}),
    Mutant("entropy-in-bits", "entropy in bits (log2) where nats are specified", ("PPO-ENTROPY",), {"categorical_entropy": _entropy_log2}),
    Mutant("ppo-loss-entropy-sign", "+c2·H in the loss: penalizes exploration", ("PPO-COMBINED-LOSS",), {"ppo_actor_critic_loss": _combined_entropy_sign}),
    Mutant("ppo-loss-value-sign", "−c1·L_VF in the loss (the source's '+ L_VF' in an objective)", ("PPO-COMBINED-LOSS",), {"ppo_actor_critic_loss": _combined_value_sign}),
    Mutant("ppo-loss-not-negated", "+L^CLIP in a loss that is minimized", ("PPO-COMBINED-LOSS",), {"ppo_actor_critic_loss": _combined_not_negated}),
]:
    register_mutant(_m)
