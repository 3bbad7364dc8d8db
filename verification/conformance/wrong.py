"""Families of wrong implementations, one family per target: the harness's own self-test.

Each is a bug that real implementations have shipped or that the issues of this project name
(no termination mask, recursion not cut at an episode end, truncation as termination, γ in place
of γλ, clip without the min, max in place of min, a log-prob difference used as the ratio, an
inverted ratio, a step without the factor 2, CG with a wrong β, an unstable log-sigmoid, DPO
without the reference model, the score on the wrong token, ...).  The tests require
``check(target, fn)`` to reject every one of them.  The mutants registered in
:mod:`verification.mutants` for a target's reference function join its family automatically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from numpy.typing import NDArray

import reference

__all__ = ["Wrong", "FAMILIES", "family"]

A = NDArray[Any]


@dataclass(frozen=True)
class Wrong:
    """A deliberately wrong implementation of one target."""

    target: str
    name: str
    bug: str
    fn: Callable[..., Any]
    #: keyword arguments of ``check`` under which the bug is in scope (conventions pinned with
    #: ``fix``, ``grad=True`` for a gradient bug, ``inputs="torch"``); empty: the defaults.
    options: Mapping[str, Any] = field(default_factory=dict)


FAMILIES: dict[str, list[Wrong]] = {}


def _w(target: str, name: str, bug: str, **options: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        FAMILIES.setdefault(target, []).append(Wrong(target, name, bug, fn, dict(options)))
        return fn

    return deco


def _f(x: Any) -> Any:
    return np.asarray(x, dtype=np.float64)


def _m(x: Any) -> NDArray[np.bool_]:
    return np.asarray(x).astype(bool)


def _backward(delta: A, cont: A) -> Any:
    out = np.zeros_like(delta)
    acc = 0.0
    for t in range(delta.shape[0] - 1, -1, -1):
        acc = delta[t] + cont[t] * acc
        out[t] = acc
    return out


# ----------------------------------------------------------------------------------- returns


@_w("returns", "forward-cumsum", "sums the past rewards Σ_{k<=t} γ^{t−k} r_k instead of the future")
def _ret_forward(rewards: Any, gamma: float) -> Any:
    r = _f(rewards)
    out, acc = np.zeros_like(r), 0.0
    for t in range(r.shape[0]):
        acc = r[t] + gamma * acc
        out[t] = acc
    return out


@_w("returns", "excludes-current", "G_t = Σ_{k>t} γ^{k−t} r_k: the reward of step t left out")
def _ret_excl(rewards: Any, gamma: float) -> Any:
    return reference.discounted_returns(rewards, gamma) - _f(rewards)


@_w("returns", "no-discount", "γ ignored (undiscounted rewards-to-go)")
def _ret_nodisc(rewards: Any, gamma: float) -> Any:
    return reference.discounted_returns(rewards, 1.0)


@_w("returns", "extra-gamma", "γ^{k−t+1}: every term discounted once too often")
def _ret_extra(rewards: Any, gamma: float) -> Any:
    return gamma * reference.discounted_returns(rewards, gamma)


@_w("returns", "float16", "computed in half precision: an order of magnitude beyond float32 round-off")
def _ret_half(rewards: Any, gamma: float) -> Any:
    r = np.asarray(rewards, dtype=np.float16)
    g = np.float16(gamma)
    out, acc = np.zeros_like(r), np.float16(0)
    for t in range(r.shape[0] - 1, -1, -1):
        acc = r[t] + g * acc
        out[t] = acc
    return out.astype(np.float64)


# ------------------------------------------------------------------------------ td residuals


@_w("td_residuals", "no-termination-mask", "bootstraps from V(s_{t+1}) even when s_{t+1} is terminal")
def _td_nomask(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> Any:
    return _f(rewards) + gamma * _f(next_values) - _f(values)


@_w("td_residuals", "mask-inverted", "bootstraps only from terminal states")
def _td_inv(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> Any:
    return _f(rewards) + gamma * np.where(_m(terminated), _f(next_values), 0.0) - _f(values)


@_w("td_residuals", "next-row-value", "reads V(s_{t+1}) from values[t+1] (the next episode's first state at an end; 0 after the last row)")
def _td_shift(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> Any:
    v = _f(values)
    nv = np.append(v[1:], 0.0)
    return _f(rewards) + gamma * np.where(_m(terminated), 0.0, nv) - v


@_w("td_residuals", "no-gamma", "δ_t = r_t + V(s_{t+1}) − V(s_t) without the discount")
def _td_nogamma(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> Any:
    return reference.td_residuals(rewards, values, next_values, terminated, 1.0)


@_w("td_residuals", "sign-flipped", "V(s_t) − r_t − γV(s_{t+1})")
def _td_sign(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> Any:
    return -reference.td_residuals(rewards, values, next_values, terminated, gamma)


# --------------------------------------------------------------------------------------- GAE


def _delta(r: Any, v: Any, nv: Any, term: Any, gamma: float) -> Any:
    return reference.td_residuals(r, v, nv, term, gamma)


@_w("gae", "no-termination-mask", "δ bootstraps from V(s_{t+1}) at a termination")
def _gae_nomask(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    delta = _f(rewards) + gamma * _f(next_values) - _f(values)
    return _backward(delta, gamma * lam * ~(_m(terminated) | _m(truncated)))


@_w("gae", "recursion-not-cut", "the backward recursion runs across episode ends")
def _gae_nocut(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    delta = _delta(rewards, values, next_values, terminated, gamma)
    return _backward(delta, np.full(delta.shape, gamma * lam))


@_w("gae", "truncation-as-termination", "no bootstrap at a time-limit truncation")
def _gae_trunc_term(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    done = _m(terminated) | _m(truncated)
    return _backward(_delta(rewards, values, next_values, done, gamma), gamma * lam * ~done)


@_w("gae", "truncation-ignored", "the recursion is cut only at terminations, so it flows across truncations")
def _gae_trunc_ignored(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    return _backward(_delta(rewards, values, next_values, terminated, gamma), gamma * lam * ~_m(terminated))


@_w("gae", "gamma-not-gamma-lambda", "Â_t = δ_t + γ Â_{t+1}: λ forgotten in the recursion")
def _gae_gamma(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    return reference.gae(rewards, values, next_values, terminated, truncated, gamma, 1.0)


@_w("gae", "lambda-not-gamma-lambda", "Â_t = δ_t + λ Â_{t+1}: γ forgotten in the recursion")
def _gae_lambda(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    delta = _delta(rewards, values, next_values, terminated, gamma)
    return _backward(delta, lam * ~(_m(terminated) | _m(truncated)))


@_w("gae", "end-of-rollout-terminal", "the last step of the arrays is treated as terminal (no bootstrap from next_values[T−1])")
def _gae_last(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    term = _m(terminated).copy()
    term[-1] = True
    return reference.gae(rewards, values, next_values, term, truncated, gamma, lam)


@_w("gae", "next-row-value", "V(s_{t+1}) read from values[t+1] also at a truncation (the next episode's first state)")
def _gae_shift(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    v = _f(values)
    nv = np.append(v[1:], _f(next_values)[-1])
    return reference.gae(rewards, values, nv, terminated, truncated, gamma, lam)


@_w("gae", "done-off-by-one", "uses done[t−1] (an 'episode start' flag read as 'episode end') to cut the recursion")
def _gae_offby1(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    done = _m(terminated) | _m(truncated)
    starts = np.append(False, done[:-1])
    return _backward(_delta(rewards, values, next_values, terminated, gamma), gamma * lam * ~starts)


@_w("gae", "float16", "computed in half precision")
def _gae_half(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    h = np.float16
    r, v, nv = (np.asarray(x, dtype=h) for x in (rewards, values, next_values))
    delta = r + h(gamma) * nv * ~_m(terminated) - v
    cont = h(gamma * lam) * ~(_m(terminated) | _m(truncated))
    out, acc = np.zeros_like(delta), h(0)
    for t in range(delta.shape[0] - 1, -1, -1):
        acc = delta[t] + cont[t] * acc
        out[t] = acc
    return out.astype(np.float64)


# -------------------------------------------------------------------------------------- PPO


def _ratio(lp: Any, lo: Any) -> Any:
    return np.exp(_f(lp) - _f(lo))


@_w("ppo_clip", "clip-without-min", "clip(ρ, 1−ε, 1+ε)·A only: no pessimistic min with ρA")
def _ppo_nomin(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    return np.clip(_ratio(logp_new, logp_old), 1 - epsilon, 1 + epsilon) * _f(advantages)


@_w("ppo_clip", "max-not-min", "max(ρA, clip(ρ)A): optimistic instead of pessimistic")
def _ppo_max(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    r, a = _ratio(logp_new, logp_old), _f(advantages)
    return np.maximum(r * a, np.clip(r, 1 - epsilon, 1 + epsilon) * a)


@_w("ppo_clip", "log-prob-ratio", "uses logp_new − logp_old as the ratio (forgot the exp)")
def _ppo_logratio(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    r, a = _f(logp_new) - _f(logp_old), _f(advantages)
    return np.minimum(r * a, np.clip(r, 1 - epsilon, 1 + epsilon) * a)


@_w("ppo_clip", "inverted-ratio", "ρ = π_old/π_new")
def _ppo_inv(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    return reference.ppo_clip(logp_old, logp_new, advantages, epsilon)


@_w("ppo_clip", "unclipped", "ρA: no clipping at all")
def _ppo_unclipped(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    return _ratio(logp_new, logp_old) * _f(advantages)


@_w("ppo_clip", "upper-clip-only", "clips ρ at 1+ε only, never at 1−ε")
def _ppo_upper(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    r, a = _ratio(logp_new, logp_old), _f(advantages)
    return np.minimum(r * a, np.minimum(r, 1 + epsilon) * a)


@_w("ppo_clip", "reciprocal-band", "band [1/(1+ε), 1+ε] instead of [1−ε, 1+ε]")
def _ppo_band(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    r, a = _ratio(logp_new, logp_old), _f(advantages)
    return np.minimum(r * a, np.clip(r, 1 / (1 + epsilon), 1 + epsilon) * a)


@_w("ppo_clip", "loss-sign", "returns the loss −L (to minimize) where the objective L is specified")
def _ppo_loss(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    return -reference.ppo_clip(logp_new, logp_old, advantages, epsilon)


@_w("ppo_clip", "probability-ratio", "ρ = exp(logp_new)/exp(logp_old): 0/0 once log-probs are below −745")
def _ppo_probs(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    with np.errstate(divide="ignore", invalid="ignore", under="ignore"):
        r = np.exp(_f(logp_new)) / np.exp(_f(logp_old))
        a = _f(advantages)
        return np.minimum(r * a, np.clip(r, 1 - epsilon, 1 + epsilon) * a)


# ---------------------------------------------------------------------------- kl_beta_update


@_w("kl_beta_update", "direction-inverted", "halves β when the KL is too large and doubles it when too small")
def _klb_inv(beta: float, kl: float, kl_target: float) -> float:
    if kl < kl_target / 1.5:
        return beta * 2
    if kl > kl_target * 1.5:
        return beta / 2
    return beta


@_w("kl_beta_update", "no-band", "compares with the target itself, without the 1.5 band")
def _klb_noband(beta: float, kl: float, kl_target: float) -> float:
    return beta / 2 if kl < kl_target else beta * 2 if kl > kl_target else beta


@_w("kl_beta_update", "factor-1.5", "multiplies and divides β by 1.5 instead of 2")
def _klb_factor(beta: float, kl: float, kl_target: float) -> float:
    return beta / 1.5 if kl < kl_target / 1.5 else beta * 1.5 if kl > kl_target * 1.5 else beta


@_w("kl_beta_update", "never-decreases", "only the increase branch")
def _klb_up(beta: float, kl: float, kl_target: float) -> float:
    return beta * 2 if kl > kl_target * 1.5 else beta


@_w("kl_beta_update", "band-2", "band edges at KL_target/2 and 2·KL_target")
def _klb_band2(beta: float, kl: float, kl_target: float) -> float:
    return beta / 2 if kl < kl_target / 2 else beta * 2 if kl > kl_target * 2 else beta


# ------------------------------------------------------------------------------ natural step


@_w("natural_step", "no-factor-2", "Δ = sqrt(δ / gᵀF⁻¹g) F⁻¹g: the step without the factor 2")
def _ns_no2(g: Any, fisher: Any, max_kl: float) -> Any:
    return np.asarray(reference.natural_step(g, fisher, max_kl) / np.sqrt(2.0))


@_w("natural_step", "plain-gradient", "steps along g (scaled to the KL budget) instead of F⁻¹g")
def _ns_plain(g: Any, fisher: Any, max_kl: float) -> Any:
    gv, f = _f(g), _f(fisher)
    q = float(gv @ f @ gv)
    return np.zeros_like(gv) if q <= 0 else np.sqrt(2 * max_kl / q) * gv


@_w("natural_step", "times-fisher", "multiplies by F where F⁻¹ is meant")
def _ns_times(g: Any, fisher: Any, max_kl: float) -> Any:
    gv, f = _f(g), _f(fisher)
    x = f @ gv
    q = float(gv @ x)
    return np.zeros_like(gv) if q <= 0 else np.sqrt(2 * max_kl / q) * x


@_w("natural_step", "normalized-by-gTg", "sqrt(2δ / gᵀg) F⁻¹g: the wrong quadratic form in the step size")
def _ns_gg(g: Any, fisher: Any, max_kl: float) -> Any:
    gv = _f(g)
    q = float(gv @ gv)
    return np.zeros_like(gv) if q <= 0 else np.sqrt(2 * max_kl / q) * np.linalg.solve(_f(fisher), gv)


@_w("natural_step", "no-sqrt", "(2δ / gᵀF⁻¹g) F⁻¹g: the step size without the square root")
def _ns_nosqrt(g: Any, fisher: Any, max_kl: float) -> Any:
    gv = _f(g)
    x = np.linalg.solve(_f(fisher), gv)
    q = float(gv @ x)
    return np.zeros_like(gv) if q <= 0 else (2 * max_kl / q) * x


@_w("natural_step", "nan-at-zero-gradient", "correct, except 0/0 = NaN when g = 0")
def _ns_nan(g: Any, fisher: Any, max_kl: float) -> Any:
    gv = _f(g)
    x = np.linalg.solve(_f(fisher), gv)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: A = np.sqrt(2 * max_kl / float(gv @ x)) * x if float(gv @ x) != 0 else np.full_like(gv, np.nan)
    return out


# ------------------------------------------------------------------------------ CG


def _cg(matvec: Callable[[A], Any], b: Any, iters: int, variant: str) -> Any:
    bv = _f(b)
    x = bv.copy() if variant == "start-at-b" else np.zeros_like(bv)
    r = bv - _f(matvec(x)) if variant == "start-at-b" else bv.copy()
    p = r.copy()
    rs = float(r @ r)
    n_it = iters - 1 if variant == "one-iteration-short" else iters
    n_it = min(n_it, len(bv) - 1) if variant == "stops-before-n" else n_it
    n_it = 10 if variant == "fixed-10-iterations" else n_it
    for _ in range(n_it):
        if rs == 0.0:
            break
        ap = _f(matvec(p))
        pap = float(p @ ap)
        alpha = rs / (float(p @ p) if variant == "wrong-alpha" else pap)
        x = x + alpha * p
        r = r + alpha * ap if variant == "residual-sign" else r - alpha * ap
        rs_new = float(r @ r)
        beta = {"wrong-beta": rs / rs_new if rs_new else 0.0, "steepest-descent": 0.0}.get(variant, rs_new / rs)
        p = r + beta * p
        rs = rs_new
    return x


for _name, _bug in [
    ("wrong-beta", "β = r_kᵀr_k / r_{k+1}ᵀr_{k+1}: the Fletcher–Reeves ratio inverted"),
    ("steepest-descent", "β = 0: steepest descent, which does not converge in n steps"),
    ("wrong-alpha", "α = rᵀr / pᵀp instead of rᵀr / pᵀAp"),
    ("residual-sign", "r ← r + αAp"),
    ("stops-before-n", "at most n − 1 iterations"),
    ("fixed-10-iterations", "ignores iters and always runs 10 iterations (TRPO's cg_iters hard-coded)"),
]:
    FAMILIES.setdefault("conjugate_gradient", []).append(
        Wrong("conjugate_gradient", _name, _bug, lambda matvec, b, iters, _v=_name: _cg(matvec, b, iters, _v))
    )


# --------------------------------------------------------------------------------- baselines


@_w("min_variance_baseline", "scalar-baseline", "one scalar b = Σ‖g_i‖² R_i / Σ‖g_i‖² for every coordinate (the source's S4.2, erratum E4.1)")
def _mv_scalar(grad_logp: Any, returns: Any) -> Any:
    g, r = _f(grad_logp), _f(returns)
    w = (g * g).sum(axis=1)
    return np.full(g.shape[1], float(w @ r / w.sum()) if w.sum() > 0 else 0.0)


@_w("min_variance_baseline", "nan-on-zero-column", "0/0 = NaN for a coordinate whose scores are all zero")
def _mv_nan(grad_logp: Any, returns: Any) -> Any:
    g2 = _f(grad_logp) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        out: A = (g2.T @ _f(returns)) / g2.sum(axis=0)
    return out


@_w("min_variance_baseline", "wrong-axis", "normalizes by Σ_k g_ik² per sample instead of Σ_i g_ik² per coordinate")
def _mv_axis(grad_logp: Any, returns: Any) -> Any:
    g2 = _f(grad_logp) ** 2
    den = g2.sum(axis=1, keepdims=True)
    w = np.where(den > 0, g2 / np.where(den > 0, den, 1.0), 0.0)
    return np.asarray(w.T @ _f(returns) / max(g2.shape[0], 1))


# -------------------------------------------------------------------------------- RLHF


def _unstable_nls(x: A) -> Any:
    """−log σ(x) computed as −log(1/(1+exp(−x))): inf once exp(−x) overflows."""
    with np.errstate(over="ignore", divide="ignore"):
        out: A = -np.log(1.0 / (1.0 + np.exp(-x)))
    return out


@_w("bt_loss", "unstable-log-sigmoid", "−log(1/(1+exp(−d))): inf for margins below about −709")
def _bt_unstable(r_chosen: Any, r_rejected: Any) -> Any:
    return _unstable_nls(_f(r_chosen) - _f(r_rejected))


@_w("bt_loss", "swapped", "−log σ(r_l − r_w): chosen and rejected exchanged")
def _bt_swap(r_chosen: Any, r_rejected: Any) -> Any:
    return reference.bt_loss(r_rejected, r_chosen)


@_w("bt_loss", "sigmoid-not-log", "1 − σ(r_w − r_l) instead of −log σ(r_w − r_l)")
def _bt_sig(r_chosen: Any, r_rejected: Any) -> Any:
    return 1.0 - 1.0 / (1.0 + np.exp(-np.clip(_f(r_chosen) - _f(r_rejected), -700, 700)))


@_w("bt_loss", "batch-mean", "returns the batch mean (reduced too early): a single number")
def _bt_mean(r_chosen: Any, r_rejected: Any) -> Any:
    return np.asarray(reference.bt_loss(r_chosen, r_rejected).mean())


@_w("bt_loss", "log1p-exp", "log(1 + exp(−d)) without the stable form: inf for d below about −709")
def _bt_log1p(r_chosen: Any, r_rejected: Any) -> Any:
    with np.errstate(over="ignore"):
        out: A = np.log1p(np.exp(-(_f(r_chosen) - _f(r_rejected))))
    return out


def _dpo_margin(pc: Any, pr: Any, rc: Any, rr: Any) -> Any:
    return (_f(pc) - _f(rc)) - (_f(pr) - _f(rr))


@_w("dpo_loss", "no-reference", "−log σ(β(π_w − π_l)): the reference model left out")
def _dpo_noref(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    return np.logaddexp(0.0, -beta * (_f(policy_chosen) - _f(policy_rejected)))


@_w("dpo_loss", "unstable-log-sigmoid", "−log(1/(1+exp(−m))): inf for margins below about −709")
def _dpo_unstable(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    return _unstable_nls(beta * _dpo_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected))


@_w("dpo_loss", "swapped", "chosen and rejected exchanged")
def _dpo_swap(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    return reference.dpo_loss(policy_rejected, policy_chosen, ref_rejected, ref_chosen, beta)


@_w("dpo_loss", "beta-outside", "β·(−log σ(m)) instead of −log σ(β·m)")
def _dpo_bout(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    return beta * np.logaddexp(0.0, -_dpo_margin(policy_chosen, policy_rejected, ref_chosen, ref_rejected))


@_w("dpo_loss", "reference-added", "(π_w + ref_w) − (π_l + ref_l): the reference log-prob added, not subtracted")
def _dpo_refsign(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    m = (_f(policy_chosen) + _f(ref_chosen)) - (_f(policy_rejected) + _f(ref_rejected))
    return np.logaddexp(0.0, -beta * m)


@_w("dpo_loss", "batch-mean", "returns the batch mean: a single number")
def _dpo_mean(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    return np.asarray(reference.dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta).mean())


def _klr(scores: Any, logp: Any, ref_logp: Any, mask: Any, beta: float, where: str = "last", sign: float = -1.0, kl_on_pad: bool = False, k3: bool = False) -> Any:
    m = _m(mask)
    lp, ref = _f(logp), _f(ref_logp)
    kl = (np.exp(ref - lp) - 1.0) - (ref - lp) if k3 else lp - ref
    out = sign * beta * kl
    if not kl_on_pad:
        out = np.where(m, out, 0.0)
    rows = np.arange(m.shape[0])
    cols = np.arange(m.shape[1])
    last = m.shape[1] - 1 - np.argmax(m[:, ::-1], axis=1)
    sc = _f(scores)
    if where == "every":
        out = out + np.where(m, sc[:, None], 0.0)
        return out
    idx = {
        "last": last,
        "count-1": np.maximum(m.sum(axis=1) - 1, 0),
        "last-column": np.full(m.shape[0], m.shape[1] - 1),
        "first": np.argmax(m, axis=1),
        "after-last": np.minimum(last + 1, m.shape[1] - 1),
    }[where]
    del cols
    out[rows, idx] += sc
    return out


for _name, _bug, _kw in [
    ("score-at-count", "score at index sum(mask) − 1: assumes the response starts at token 0 (wrong after a prompt)", {"where": "count-1"}),
    ("score-at-last-column", "score on the last column L − 1, which is padding for short responses", {"where": "last-column"}),
    ("score-at-first-token", "score on the first response token", {"where": "first"}),
    ("score-after-eos", "score one slot after the last response token (clamped to the row)", {"where": "after-last"}),
    ("score-on-every-token", "score added to every response token", {"where": "every"}),
    ("kl-sign-flipped", "+β(logp − ref_logp): rewards moving away from the reference", {"sign": 1.0}),
    ("kl-on-padding", "KL term also on padding tokens", {"kl_on_pad": True}),
    ("k3-estimator", "per-token k3 = (r − 1) − log r with r = π_ref/π instead of log π − log π_ref (a different estimator, outside this target)", {"k3": True}),
]:
    FAMILIES.setdefault("kl_rewards", []).append(
        Wrong("kl_rewards", _name, _bug, lambda scores, logp, ref_logp, mask, beta, _kw=_kw: _klr(scores, logp, ref_logp, mask, beta, **_kw))
    )


# ------------------------------------------------------- layouts, reductions and gradients (v2)
# The three mask and reduction bugs that an adapter flattening the batch would hide, a CG that
# ignores its iteration count, and a stop-gradient bug that leaves every value right.


@_w("ppo_clip", "mean-over-padding", "the PPO loss −mean(L) over every position of the [B, T] batch, padding included",
    fix={"reduction": "masked_mean"})
def _ppo_mean_pad(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, epsilon: float) -> Any:
    return -np.mean(reference.ppo_clip(logp_new, logp_old, advantages, epsilon))


@_w("ppo_clip", "per-row-mean", "averages each row over its tokens, then the rows (seq-mean-token-mean where the token mean is specified)",
    fix={"reduction": "masked_mean"})
def _ppo_row_mean(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, epsilon: float) -> Any:
    m = _m(mask)
    per = np.where(m, reference.ppo_clip(logp_new, logp_old, advantages, epsilon), 0.0)
    n = m.sum(axis=1)
    return -np.mean(per.sum(axis=1)[n > 0] / n[n > 0])


@_w("ppo_clip", "detached-ratio", "ρ computed from a detached logp_new: every value right, no gradient reaches the policy", grad=True)
def _ppo_detached(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    import torch

    ratio = torch.exp(logp_new.detach() - logp_old)
    return torch.minimum(ratio * advantages, torch.clamp(ratio, 1 - epsilon, 1 + epsilon) * advantages)


@_w("ppo_clip", "clip-branch-detached", "the clipped branch computed from a detached ratio: its gradient is 0 also where it is the active min", grad=True)
def _ppo_clip_detached(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    import torch

    ratio = torch.exp(logp_new - logp_old)
    return torch.minimum(ratio * advantages, torch.clamp(ratio.detach(), 1 - epsilon, 1 + epsilon) * advantages + 0 * ratio)


@_w("gae", "envs-flattened", "a [T, N] buffer flattened env after env into one trajectory: the recursion flows from one env's first step into the previous env's last",
    fix={"layout": "[T,N]"})
def _gae_flat(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    shape = np.shape(rewards)
    r, v, nv, te, tr = (np.asarray(x).reshape(-1, order="F") for x in (rewards, values, next_values, terminated, truncated))
    return reference.gae(r, v, nv, te, tr, gamma, lam).reshape(shape, order="F")


@_w("returns", "time-on-axis-1", "a [T, N] batch read as [N, T]: discounts across environments instead of time", fix={"layout": "[T,N]"})
def _ret_axis(rewards: Any, gamma: float) -> Any:
    r = _f(rewards)
    return reference.discounted_returns(r.T, gamma).T if r.ndim == 2 else reference.discounted_returns(r, gamma)


def _token_gae(rewards: Any, values: Any, mask: Any, gamma: float, lam: float, read_padding: bool) -> Any:
    r, v, m = _f(rewards), _f(values), _m(mask)
    out = np.zeros_like(r)
    for b in range(r.shape[0]):
        acc, nxt = 0.0, 0.0
        for t in range(r.shape[1] - 1, -1, -1):
            if not m[b, t]:
                continue
            later = np.flatnonzero(m[b, t + 1:])
            if read_padding:  # bootstraps from values[t + 1] whatever is there (padding after the last token, a hole)
                nxt = v[b, t + 1] if t + 1 < r.shape[1] else 0.0
            else:
                nxt = v[b, t + 1 + later[0]] if later.size else 0.0
            delta = r[b, t] + gamma * nxt - v[b, t]
            acc = delta + gamma * lam * acc
            out[b, t] = acc
    return out


@_w("gae", "token-gae-reads-padding", "token GAE bootstraps from values[t + 1] even where t + 1 is padding or a hole", fix={"layout": "[B,T]"})
def _gae_tokens_pad(rewards: Any, values: Any, mask: Any, gamma: float, lam: float) -> Any:
    return _token_gae(rewards, values, mask, gamma, lam, True)


@_w("dpo_loss", "sums-unmasked-tokens", "sums every token's log-prob, padding included, into the sequence log-prob", fix={"layout": "[B,T]"})
def _dpo_unmasked(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, chosen_mask: Any, rejected_mask: Any, beta: float) -> Any:
    return reference.dpo_loss(_f(policy_chosen).sum(1), _f(policy_rejected).sum(1), _f(ref_chosen).sum(1), _f(ref_rejected).sum(1), beta)


@_w("dpo_loss", "mean-not-sum", "averages the masked token log-probs (a length-normalised sequence log-prob) where the sum is specified",
    fix={"layout": "[B,T]"})
def _dpo_mean_tokens(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, chosen_mask: Any, rejected_mask: Any, beta: float) -> Any:
    cm, rm = _m(chosen_mask), _m(rejected_mask)

    def avg(x: Any, m: Any) -> Any:
        return np.where(m, _f(x), 0.0).sum(1) / m.sum(1)

    return reference.dpo_loss(avg(policy_chosen, cm), avg(policy_rejected, rm), avg(ref_chosen, cm), avg(ref_rejected, rm), beta)


def family(target: str) -> list[Wrong]:
    """The wrong implementations of ``target``: this module's, plus the registered mutants of its reference function."""
    from ..mutants import all_mutants
    from .table import get_target

    t = get_target(target)
    out = list(FAMILIES.get(target, []))
    for m in all_mutants():
        fn = m.overrides.get(t.reference_name)
        if fn is not None and m.conformance_visible:
            out.append(Wrong(target, f"mutant:{m.name}", m.description, fn))
    return out
