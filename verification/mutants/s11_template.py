"""Mutants for SPEC.md §11: Ψ_t variants and the template written wrongly."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from . import Mutant, register_mutant


def _td_drops_gamma(rewards: Any, values: Any, next_values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> np.ndarray:
    return reference.psi_td_residual_as_written(rewards, values, next_values, gamma)


def _ac_max(rewards: Any, q_current: Any, q_next: Any, pi_current: Any, pi_next: Any, gamma: float = 1.0, *, discount_t: bool = True) -> np.ndarray:
    r = np.asarray(rewards, float)
    t_w = gamma ** np.arange(r.shape[1])
    out: np.ndarray = t_w * (r + gamma * np.asarray(q_next).max(axis=2) - (np.asarray(pi_current) * np.asarray(q_current)).sum(axis=2))
    return out


def _rtg_no_discount_t(rewards: Any, gamma: float = 1.0, *, discount_t: bool = True) -> np.ndarray:
    return reference.psi_reward_to_go(rewards, gamma, discount_t=False)


def _gae_no_discount_t(rewards: Any, values: Any, next_values: Any, gamma: float, lam: float, *, discount_t: bool = True) -> np.ndarray:
    return reference.psi_gae(rewards, values, next_values, gamma, lam, discount_t=False)


def _advantage_sign(q_values: Any, values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> np.ndarray:
    return reference.psi_advantage(values, q_values, gamma)  # V − Q


def _q_value_no_discount_t(q_values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> np.ndarray:
    return reference.psi_q_value(q_values, gamma, discount_t=False)


def _total_return_undiscounted(rewards: Any, gamma: float = 1.0) -> np.ndarray:
    return reference.psi_total_return(rewards, 1.0)


def _baseline_future_values(rewards: Any, values: Any, gamma: float = 1.0, *, discount_t: bool = True) -> np.ndarray:
    v = np.asarray(values, float)
    later = np.concatenate([v[:, 1:], np.zeros((v.shape[0], 1))], axis=1)  # V(s_{t+1}): depends on a_t
    return reference.psi_baseline_reward_to_go(rewards, later, gamma)


def _template_per_step_mean(grad_logp: Any, psi: Any, weights: Any = None) -> np.ndarray:
    g = np.asarray(grad_logp, float)
    out: np.ndarray = reference.policy_gradient_template(g, psi, weights) / g.shape[1]  # 1/(mT) where 1/m is specified
    return out


for _m in [
    Mutant("psi-td-drops-gamma", "TD residual r + V(s_t+1) − V(s_t) without γ (the source's S11.6)", ("TEMPLATE-PSI-UNBIASED",), {"psi_td_residual": _td_drops_gamma}),
    Mutant("psi-actor-critic-max", "actor-critic bootstrap max_a' Q(s_t+1, a') (Q-learning's target) instead of Σ π Q", ("TEMPLATE-PSI-UNBIASED",), {"psi_actor_critic": _ac_max}),
    Mutant("psi-rtg-no-discount-t", "rewards-to-go G_t without γ^t (biased for J when γ < 1)", ("TEMPLATE-PSI-UNBIASED",), {"psi_reward_to_go": _rtg_no_discount_t}),
    Mutant("psi-gae-no-discount-t", "GAE without γ^t", ("TEMPLATE-PSI-UNBIASED",), {"psi_gae": _gae_no_discount_t}),
    Mutant("psi-advantage-sign", "V − Q for the advantage", ("TEMPLATE-PSI-UNBIASED",), {"psi_advantage": _advantage_sign}),
    Mutant("psi-q-no-discount-t", "Q(s_t, a_t) without γ^t", ("TEMPLATE-PSI-UNBIASED",), {"psi_q_value": _q_value_no_discount_t}),
    Mutant("psi-total-return-undiscounted", "R(τ) summed without discount", ("TEMPLATE-PSI-UNBIASED",), {"psi_total_return": _total_return_undiscounted}),
    Mutant("psi-baseline-next-state", "baseline V(s_t+1), which depends on a_t", ("TEMPLATE-PSI-UNBIASED",), {"psi_baseline_reward_to_go": _baseline_future_values}),
    Mutant("template-mean-over-steps", "the template divided by T as well as m", ("TEMPLATE-PSI-UNBIASED",), {"policy_gradient_template": _template_per_step_mean}),
]:
    register_mutant(_m)
