"""Mutants for SPEC.md §7: actor and critic updates implemented as the source writes them, or
with the slips real implementations make."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from . import Mutant, register_mutant


def _vpg_descends(logits: Any, states: Any, actions: Any, rewards: Any, values: Any, gamma: float, lam: float, step_size: float, weights: Any = None) -> np.ndarray:
    th = np.asarray(logits, float)
    up = reference.vpg_step(th, states, actions, rewards, values, gamma, lam, step_size, weights)
    out: np.ndarray = 2 * th - up  # a loss's gradient added instead of subtracted: θ − α ĝ
    return out


def _q_actor_grad_pi(logits: Any, state: int, action: int, q_value: float, step_size: float) -> np.ndarray:
    th = np.asarray(logits, float)
    pi = reference.softmax_policy(th)
    step = reference.q_actor_step(th, state, action, q_value, step_size) - th
    out: np.ndarray = th + pi[state, action] * step  # ∇π(a|s) Q instead of ∇log π(a|s) Q
    return out


def _critic_missing_grad(params: Any, features: Any, next_features: Any, rewards: Any, terminated: Any, gamma: float, step_size: float, weights: Any = None) -> np.ndarray:
    w, x, xn, r = (np.asarray(a, float) for a in (params, features, next_features, rewards))
    term = np.asarray(terminated, bool)
    om = np.full(len(r), 1.0 / len(r)) if weights is None else np.asarray(weights, float)
    delta = r + gamma * np.where(term, 0.0, xn @ w) - x @ w
    out: np.ndarray = w + step_size * float(om @ delta)  # the source's S7.3: a scalar TD error added to every weight
    return out


def _critic_no_mask(params: Any, features: Any, next_features: Any, rewards: Any, terminated: Any, gamma: float, step_size: float, weights: Any = None) -> np.ndarray:
    return reference.td_critic_update(params, features, next_features, rewards, np.zeros(np.shape(rewards), bool), gamma, step_size, weights)


def _critic_residual_gradient(params: Any, features: Any, next_features: Any, rewards: Any, terminated: Any, gamma: float, step_size: float, weights: Any = None) -> np.ndarray:
    w, x, xn, r = (np.asarray(a, float) for a in (params, features, next_features, rewards))
    term = np.asarray(terminated, bool)
    om = np.full(len(r), 1.0 / len(r)) if weights is None else np.asarray(weights, float)
    boot = np.where(term, 0.0, 1.0)[:, None] * xn
    delta = r + gamma * np.where(term, 0.0, xn @ w) - x @ w
    out: np.ndarray = w + step_size * ((x - gamma * boot).T @ (om * delta))  # differentiates through the target too
    return out


def _a2c_delta_undiscounted(grad_logp: Any, rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float, weights: Any = None) -> np.ndarray:
    r, v, nv = (np.asarray(a, float) for a in (rewards, values, next_values))
    delta = r + np.where(np.asarray(terminated, bool), 0.0, nv) - v  # r + V(s') − V(s), γ forgotten
    return reference.advantage_gradient(grad_logp, delta, gamma, weights)


def _critic_target_s0(values: Any, rewards: Any, gamma: float) -> np.ndarray:
    v, r = np.asarray(values, float), np.asarray(rewards, float)
    g0 = r @ (gamma ** np.arange(r.shape[1], dtype=float))
    out: np.ndarray = 0.5 * (v - g0[:, None]) ** 2  # the source's S7.9: the return from s_0 for every step
    return out


def _critic_target_undiscounted(values: Any, rewards: Any, gamma: float) -> np.ndarray:
    return reference.a2c_critic_loss(values, rewards, 1.0)


for _m in [
    Mutant("vpg-step-descends", "VPG step moves against the gradient (θ − α ĝ)", ("VPG-ASCENT",), {"vpg_step": _vpg_descends}),
    Mutant("q-actor-grad-pi", "actor step with ∇π(a|s) instead of ∇log π(a|s)", ("ADV-Q-ACTOR-UNBIASED",), {"q_actor_step": _q_actor_grad_pi}),
    Mutant("critic-update-missing-grad", "critic update without the factor ∇_w Q_w (the source's S7.3)", ("TD-CRITIC-SEMI-GRADIENT", "TD-SARSA-FIXED-POINT", "A2C-CRITIC-FIXED-POINT"), {"td_critic_update": _critic_missing_grad}),
    Mutant("critic-update-no-terminal-mask", "critic bootstraps from the terminal state's value", ("A2C-CRITIC-FIXED-POINT", "TD-SARSA-FIXED-POINT"), {"td_critic_update": _critic_no_mask}),
    Mutant("critic-residual-gradient", "critic differentiates through its TD target (residual gradient)", ("TD-CRITIC-SEMI-GRADIENT",), {"td_critic_update": _critic_residual_gradient}),
    Mutant("a2c-delta-undiscounted", "A2C's TD error without γ on V(s_t+1)", ("A2C-ACTOR-TD-ADVANTAGE",), {"a2c_actor_gradient": _a2c_delta_undiscounted}),
    Mutant("critic-target-from-s0", "critic regresses V(s_t) on the return from s_0 (the source's S7.9)", ("A2C-CRITIC-LOSS-TARGET",), {"a2c_critic_loss": _critic_target_s0}),
    Mutant("critic-target-undiscounted", "critic target without the discount", ("A2C-CRITIC-LOSS-TARGET",), {"a2c_critic_loss": _critic_target_undiscounted}),
]:
    register_mutant(_m)
