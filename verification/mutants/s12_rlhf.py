"""Mutants for SPEC.md §12 (RLHF): the bugs RLHF implementations actually ship or could ship."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

import reference

from . import Mutant, register_mutant


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _seq_logp_with_padding(token_logp: Any, mask: Any) -> np.ndarray:
    out: np.ndarray = _f(token_logp).sum(axis=1)  # sums padding slots too
    return out


def _token_logp_off_by_one(next_token_logits: Any, responses: Any) -> np.ndarray:
    t, y = _f(next_token_logits), np.asarray(responses)
    v = t.shape[1]
    logp = t - np.log(np.exp(t).sum(axis=1, keepdims=True))
    # conditions token t on the prefix y_<=t (its own value leaks in) instead of y_<t
    rows = np.minimum(reference.prefix_index(y, v) + y, t.shape[0] - 1)
    out: np.ndarray = logp[rows, y]
    return out


def _bt_naive(r_chosen: Any, r_rejected: Any) -> np.ndarray:
    with np.errstate(over="ignore", divide="ignore"):
        out: np.ndarray = -np.log(1.0 / (1.0 + np.exp(-(_f(r_chosen) - _f(r_rejected)))))
    return out


def _bt_swapped(r_chosen: Any, r_rejected: Any) -> np.ndarray:
    return reference.bt_loss(r_rejected, r_chosen)


def _bt_grad_swapped(r_chosen: Any, r_rejected: Any) -> tuple[np.ndarray, np.ndarray]:
    gw, gl = reference.bt_loss_grad(r_chosen, r_rejected)
    return gl, gw


def _bt_grad_wrong_sigmoid(r_chosen: Any, r_rejected: Any) -> tuple[np.ndarray, np.ndarray]:
    s = expit(_f(r_chosen) - _f(r_rejected))  # σ(m) instead of σ(−m)
    return -s, s


def _bt_prob_swapped(r_chosen: Any, r_rejected: Any) -> np.ndarray:
    return reference.bt_preference_prob(r_rejected, r_chosen)


def _fit_win_rate(winners: Any, losers: Any, n_items: int, weights: Any = None, l2: float = 0.0) -> np.ndarray:
    w = np.ones(len(winners)) if weights is None else _f(weights)
    wins, games = np.zeros(n_items), np.zeros(n_items)
    np.add.at(wins, np.asarray(winners), w)
    np.add.at(games, np.asarray(winners), w)
    np.add.at(games, np.asarray(losers), w)
    p = np.clip(wins / games, 1e-9, 1 - 1e-9)
    r = np.log(p / (1 - p))  # per-item log-odds of winning: ignores whom each item was compared with
    out: np.ndarray = r - r.mean()
    return out


def _reward_last_position(hidden: Any, mask: Any, w: Any, b: float) -> np.ndarray:
    out: np.ndarray = _f(hidden)[:, -1] @ _f(w) + b  # the last slot, a pad under right padding
    return out


def _reward_first_token(hidden: Any, mask: Any, w: Any, b: float) -> np.ndarray:
    first = np.argmax(np.asarray(mask, dtype=bool), axis=1)
    out: np.ndarray = _f(hidden)[np.arange(first.shape[0]), first] @ _f(w) + b
    return out


def _kl_sign_flipped(scores: Any, logp: Any, ref_logp: Any, mask: Any, beta: float) -> np.ndarray:
    return reference.kl_rewards(scores, ref_logp, logp, mask, beta)  # +β log(π/π_ref): a KL bonus


def _kl_score_first_token(scores: Any, logp: Any, ref_logp: Any, mask: Any, beta: float) -> np.ndarray:
    m = np.asarray(mask, dtype=bool)
    out = reference.kl_rewards(np.zeros(len(scores)), logp, ref_logp, m, beta)
    out[np.arange(m.shape[0]), np.argmax(m, axis=1)] += _f(scores)
    return out


def _kl_score_after_eos(scores: Any, logp: Any, ref_logp: Any, mask: Any, beta: float) -> np.ndarray:
    m = np.asarray(mask, dtype=bool)
    out = reference.kl_rewards(np.zeros(len(scores)), logp, ref_logp, m, beta)
    last = reference.last_token_index(m)
    slot = np.where(last + 1 < m.shape[1], last + 1, last)  # one slot after EOS, unless at the edge
    out[np.arange(m.shape[0]), slot] += _f(scores)
    return out


def _gae_leaks_padding(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 1.0) -> np.ndarray:
    r, v, m = _f(rewards), _f(values), np.asarray(mask, dtype=bool)
    # runs reference.gae over every slot (time on axis 0), padding included, then masks the output
    nv = np.concatenate([v[:, 1:], np.zeros((v.shape[0], 1))], axis=1)
    term = np.zeros(r.shape, dtype=bool)
    term[:, -1] = True
    adv = reference.gae(r.T, v.T, nv.T, term.T, np.zeros_like(term.T), gamma, lam).T
    out: np.ndarray = np.where(m, adv, 0.0)
    return out


def _gae_bootstraps_from_pad(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 1.0) -> np.ndarray:
    r, v, m = _f(rewards), _f(values), np.asarray(mask, dtype=bool)
    last = reference.last_token_index(m)
    r = r.copy()
    after = np.where(last + 1 < m.shape[1], last + 1, last)
    boot = np.where(last + 1 < m.shape[1], v[np.arange(m.shape[0]), after], 0.0)
    r[np.arange(m.shape[0]), last] += gamma * boot  # V of the slot after the response, a pad
    return reference.masked_gae(r, v, m, gamma, lam)


def _gae_ignores_lambda(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 1.0) -> np.ndarray:
    return reference.masked_gae(rewards, values, mask, gamma, 1.0)


def _returns_with_padding(rewards: Any, mask: Any, gamma: float = 1.0) -> np.ndarray:
    r, m = _f(rewards), np.asarray(mask, dtype=bool)
    g = np.zeros_like(r)
    acc = np.zeros(r.shape[0])
    for t in range(r.shape[1] - 1, -1, -1):
        acc = r[:, t] + gamma * acc  # padding rewards flow into the returns
        g[:, t] = acc
    out: np.ndarray = np.where(m, g, 0.0)
    return out


def _value_head_no_bias(hidden: Any, w: Any, b: float) -> np.ndarray:
    out: np.ndarray = _f(hidden) @ _f(w)  # the bias dropped
    return out


def _pistar_times_beta(ref_probs: Any, rewards: Any, beta: float) -> np.ndarray:
    return reference.kl_optimal_policy(ref_probs, _f(rewards) * beta * beta, beta)  # e^{rβ} instead of e^{r/β}


def _value_log_z(ref_probs: Any, rewards: Any, beta: float) -> Any:
    return _f(reference.kl_optimal_value(ref_probs, rewards, beta)) / beta  # log Z without the β


def _objective_reverse_kl(policy_probs: Any, ref_probs: Any, rewards: Any, beta: float) -> Any:
    q, p, r = _f(policy_probs), _f(ref_probs), _f(rewards)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(p > 0, p * (np.log(p) - np.log(np.where(q > 0, q, 1e-300))), 0.0).sum(axis=-1)
    return (q * r).sum(axis=-1) - beta * kl  # KL(π_ref ‖ π)


def _dpo_no_reference(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> np.ndarray:
    return reference.dpo_loss(policy_chosen, policy_rejected, np.zeros(len(policy_chosen)), np.zeros(len(policy_chosen)), beta)


def _implicit_no_reference(policy_logp: Any, ref_logp: Any, beta: float) -> np.ndarray:
    return reference.dpo_implicit_reward(policy_logp, np.zeros(len(policy_logp)), beta)


def _implicit_no_beta(policy_logp: Any, ref_logp: Any, beta: float) -> np.ndarray:
    out: np.ndarray = _f(policy_logp) - _f(ref_logp)
    return out


def _dpo_naive(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> np.ndarray:
    m = beta * ((_f(policy_chosen) - _f(ref_chosen)) - (_f(policy_rejected) - _f(ref_rejected)))
    with np.errstate(over="ignore", divide="ignore"):
        out: np.ndarray = -np.log(1.0 / (1.0 + np.exp(-m)))
    return out


def _dpo_beta_outside(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> np.ndarray:
    m = (_f(policy_chosen) - _f(ref_chosen)) - (_f(policy_rejected) - _f(ref_rejected))
    return beta * reference.bt_loss(m, np.zeros_like(m))  # β·(−log σ(margin)) instead of −log σ(β·margin)


for _m in [
    Mutant("seq-logp-sums-padding", "sequence log-prob summed over every slot, padding included", ("RLHF-SEQ-FACTORIZES",), {"sequence_log_prob": _seq_logp_with_padding}),
    Mutant("token-logp-off-by-one", "token t conditioned on the prefix y_<=t (its own value) instead of y_<t", ("RLHF-SEQ-FACTORIZES",), {"tabular_token_log_probs": _token_logp_off_by_one}),
    Mutant("bt-naive-log-sigmoid", "−log(1/(1+e^−m)): inf once e^−m overflows (m < −709)", ("RM-LOSS-STABLE",), {"bt_loss": _bt_naive}),
    Mutant("bt-swapped", "chosen and rejected swapped in the reward-model loss", ("RM-LOSS-SIGN", "RM-BT-RECOVERS-REWARD"), {"bt_loss": _bt_swapped}),
    Mutant("bt-grad-swapped", "gradient returned as (∂/∂r_l, ∂/∂r_w)", ("RM-LOSS-SIGN", "RM-BT-RECOVERS-REWARD"), {"bt_loss_grad": _bt_grad_swapped}),
    Mutant("bt-grad-sigma-m", "gradient magnitude σ(m) instead of σ(−m)", ("RM-LOSS-SIGN",), {"bt_loss_grad": _bt_grad_wrong_sigmoid}),
    Mutant("bt-prob-swapped", "P(y_w ≻ y_l) computed as σ(r_l − r_w)", ("RM-LOSS-SIGN",), {"bt_preference_prob": _bt_prob_swapped}),
    Mutant("bt-fit-win-rate", "rewards as each item's log-odds of winning, ignoring the opponents", ("RM-BT-RECOVERS-REWARD",), {"fit_bt_rewards": _fit_win_rate}),
    Mutant("reward-last-position", "score read from the last slot, a pad under right padding", ("RM-PADDING-INVARIANT",), {"last_token_reward": _reward_last_position}),
    Mutant("reward-first-token", "score read from the first non-padding token", ("RM-PADDING-INVARIANT",), {"last_token_reward": _reward_first_token}),
    Mutant("kl-sign-flipped", "shaped reward +β log(π/π_ref): rewards drifting away from the reference", ("RLHF-KL-REWARD-SUM", "RLHF-TOKEN-PG-UNBIASED"), {"kl_rewards": _kl_sign_flipped}),
    Mutant("kl-score-first-token", "the score added to the first response token", ("RLHF-KL-REWARD-SUM", "RLHF-TOKEN-PG-UNBIASED"), {"kl_rewards": _kl_score_first_token}),
    Mutant("kl-score-after-eos", "the score added one slot after the last response token (a pad), as TRL v2 does", ("RLHF-KL-REWARD-SUM",), {"kl_rewards": _kl_score_after_eos}),
    Mutant("gae-leaks-padding", "GAE run over every slot with padding included, then masked", ("RLHF-TOKEN-GAE-MASKED",), {"masked_gae": _gae_leaks_padding}),
    Mutant("gae-bootstraps-from-pad", "bootstraps the last response token from the value of the pad after it", ("RLHF-TOKEN-GAE-MASKED",), {"masked_gae": _gae_bootstraps_from_pad}),
    Mutant("gae-ignores-lambda", "λ silently taken as 1", ("RLHF-TOKEN-GAE-MASKED",), {"masked_gae": _gae_ignores_lambda}),
    Mutant("returns-sum-padding", "returns-to-go accumulated through padding rewards", ("RLHF-TOKEN-GAE-MASKED", "RLHF-VALUE-REGRESSION"), {"masked_returns": _returns_with_padding}),
    Mutant("value-head-no-bias", "value head wᵀh without its bias b", ("RLHF-VALUE-REGRESSION",), {"value_head": _value_head_no_bias}),
    Mutant("pistar-exp-r-beta", "π* ∝ π_ref e^{rβ} instead of e^{r/β}", ("RLHF-OPTIMUM", "DPO-OPTIMUM"), {"kl_optimal_policy": _pistar_times_beta}),
    Mutant("value-log-z-without-beta", "max J reported as log Z instead of β log Z", ("RLHF-OPTIMUM",), {"kl_optimal_value": _value_log_z}),
    Mutant("objective-reverse-kl", "J computed with KL(π_ref‖π) instead of KL(π‖π_ref)", ("RLHF-OPTIMUM", "RLHF-KL-REWARD-SUM"), {"kl_regularized_objective": _objective_reverse_kl}),
    Mutant("dpo-no-reference", "DPO without the reference log-probs (implicit reward β log π)", ("DPO-IS-BT", "DPO-OPTIMUM"), {"dpo_loss": _dpo_no_reference, "dpo_implicit_reward": _implicit_no_reference}),
    Mutant("dpo-implicit-no-beta", "implicit reward log π/π_ref without β", ("DPO-IS-BT", "DPO-OPTIMUM"), {"dpo_implicit_reward": _implicit_no_beta}),
    Mutant("dpo-naive-log-sigmoid", "DPO loss as −log(1/(1+e^−m)): inf for margins below −709", ("DPO-STABLE",), {"dpo_loss": _dpo_naive}),
    Mutant("dpo-beta-outside", "β multiplies the loss instead of the margin", ("DPO-IS-BT", "DPO-STABLE", "DPO-OPTIMUM"), {"dpo_loss": _dpo_beta_outside}),
]:
    register_mutant(_m)
