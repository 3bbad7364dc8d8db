"""Mutants for SPEC.md §17 (practice): one family per target, drawn from the bugs RLHF libraries
have reported (issue 11's "Why"): aggregation normalisers, group/batch scaling, one-pass
variances, KL estimators on the wrong ratio or clamped, entropy NaN on −inf logits, temperature
ignored or applied in place, the value loss without ½ or with min, dual clip on positive
advantages, padding read."""

from __future__ import annotations

from typing import Any

import numpy as np

from reference import practice as P

from . import Mutant, register_mutant


def _f(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _b(x: Any) -> np.ndarray:
    return np.asarray(x).astype(bool)


# ---------------------------------------------------------------------------- aggregate_loss


def _agg_sum_divides_by_tokens(loss: Any, mask: Any, mode: str = "token_mean", norm_length: Any = None, *, norm_batch: bool = True) -> float:
    # the reported "seq-mean-token-sum" that divided by the token count: it is seq_mean_token_mean
    return P.aggregate_loss(loss, mask, "seq_mean_token_mean" if mode == "seq_mean_token_sum" else mode, norm_length, norm_batch=norm_batch)


def _agg_drgrpo_no_batch(loss: Any, mask: Any, mode: str = "token_mean", norm_length: Any = None, *, norm_batch: bool = True) -> float:
    # Dr. GRPO's normaliser missing the batch size, whatever the caller asked for
    return P.aggregate_loss(loss, mask, mode, norm_length, norm_batch=False if mode == "seq_mean_token_sum_norm" else norm_batch)


def _agg_token_mean_over_padding(loss: Any, mask: Any, mode: str = "token_mean", norm_length: Any = None, *, norm_batch: bool = True) -> float:
    if mode == "token_mean":
        return float((_f(loss) * _b(mask)).sum() / _f(loss).size)  # divides by B·T, padding counted
    return P.aggregate_loss(loss, mask, mode, norm_length, norm_batch=norm_batch)


def _agg_empty_rows_counted(loss: Any, mask: Any, mode: str = "token_mean", norm_length: Any = None, *, norm_batch: bool = True) -> float:
    if mode in ("seq_mean_token_mean", "seq_mean_token_sum"):
        lm, m = _f(loss) * _b(mask), _b(mask)
        per = lm.sum(axis=1) / (np.maximum(m.sum(axis=1), 1) if mode == "seq_mean_token_mean" else 1)
        return float(per.mean())  # rows without a token averaged in as 0
    return P.aggregate_loss(loss, mask, mode, norm_length, norm_batch=norm_batch)


register_mutant(Mutant("agg-seq-sum-divides-by-tokens", "seq_mean_token_sum divides each row's sum by its token count",
                       ("PR-AGG-MODES", "PR-AGG-BIAS"), {"aggregate_loss": _agg_sum_divides_by_tokens}))
register_mutant(Mutant("agg-drgrpo-missing-batch", "Dr. GRPO's normaliser without the 1/B (verl's variant applied as the default)",
                       ("PR-AGG-MODES", "PR-AGG-BIAS"), {"aggregate_loss": _agg_drgrpo_no_batch}))
register_mutant(Mutant("agg-token-mean-over-padding", "token_mean divides by B·T (padding counted as tokens)",
                       ("PR-AGG-MODES", "PR-MICROBATCH"), {"aggregate_loss": _agg_token_mean_over_padding}))
register_mutant(Mutant("agg-empty-rows-counted", "seq_mean modes average rows without a token in as 0",
                       ("PR-AGG-MODES",), {"aggregate_loss": _agg_empty_rows_counted}))


# ------------------------------------------------------------------------------- policy_loss


def _ppo_parts(logp_new: Any, logp_old: Any, advantages: Any, mask: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    m = _b(mask)
    return np.exp(np.where(m, _f(logp_new) - _f(logp_old), 0.0)), np.where(m, _f(advantages), 0.0), m


def _pl_dual_on_positive(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float = 0.2, clip_high: float = 0.2,
                         dual_clip: Any = None, agg: str = "token_mean", **kw: Any) -> float:
    rho, a, m = _ppo_parts(logp_new, logp_old, advantages, mask)
    o = np.minimum(rho * a, np.clip(rho, 1 - clip_low, 1 + clip_high) * a)
    if dual_clip is not None:
        o = np.maximum(o, dual_clip * a)  # applied to every sign: on A > 0 it lifts o to cA
    return -P.aggregate_loss(o, m, agg, kw.get("norm_length"), norm_batch=kw.get("norm_batch", True))


def _pl_over_padding(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float = 0.2, clip_high: float = 0.2,
                     dual_clip: Any = None, agg: str = "token_mean", **kw: Any) -> float:
    m = _b(mask)
    full = np.ones_like(m)
    # the mask is applied to the objective by multiplication, but the mean runs over every position
    o_loss = P.policy_loss(logp_new, logp_old, np.where(m, _f(advantages), 0.0), full, clip_low, clip_high, dual_clip, agg, **kw)
    return o_loss


def _pl_symmetric_clip(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float = 0.2, clip_high: float = 0.2,
                       dual_clip: Any = None, agg: str = "token_mean", **kw: Any) -> float:
    return P.policy_loss(logp_new, logp_old, advantages, mask, clip_low, clip_low, dual_clip, agg, **kw)  # clip_high ignored


def _pl_max_not_min(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float = 0.2, clip_high: float = 0.2,
                    dual_clip: Any = None, agg: str = "token_mean", **kw: Any) -> float:
    rho, a, m = _ppo_parts(logp_new, logp_old, advantages, mask)
    o = np.maximum(rho * a, np.clip(rho, 1 - clip_low, 1 + clip_high) * a)  # optimistic: the clip never binds
    if dual_clip is not None:
        o = np.where(a < 0, np.maximum(o, dual_clip * a), o)
    return -P.aggregate_loss(o, m, agg, kw.get("norm_length"), norm_batch=kw.get("norm_batch", True))


register_mutant(Mutant("ppo-dual-clip-on-positive", "dual clip max(o, cA) applied to positive advantages too",
                       ("PR-PPO-LOSS", "PR-DUAL-CLIP-BOUND"), {"policy_loss": _pl_dual_on_positive}))
register_mutant(Mutant("ppo-mean-over-padding", "the masked objective averaged over every position, padding included",
                       ("PR-PPO-LOSS",), {"policy_loss": _pl_over_padding}))
register_mutant(Mutant("ppo-clip-high-ignored", "asymmetric clip: 1 + clip_low used as the upper bound",
                       ("PR-PPO-LOSS",), {"policy_loss": _pl_symmetric_clip}))
register_mutant(Mutant("ppo-max-not-min", "max instead of min of the two branches: the clip never removes a gradient",
                       ("PR-PPO-LOSS", "PR-CLIP-GRAD"), {"policy_loss": _pl_max_not_min}))


# -------------------------------------------------------------------------------- value_loss


def _vl(values: Any, old_values: Any, returns: Any, mask: Any, clip: Any = None, agg: str = "token_mean", *, half: float = 0.5,
        op: Any = np.maximum, around: str = "old", **kw: Any) -> float:
    m = _b(mask)
    v, vo, r = (np.where(m, _f(x), 0.0) for x in (values, old_values, returns))
    per = (v - r) ** 2
    if clip is not None:
        centre = vo if around == "old" else r
        per = op(per, (centre + np.clip(v - centre, -clip, clip) - r) ** 2)
    return P.aggregate_loss(half * per, m, agg, kw.get("norm_length"), norm_batch=kw.get("norm_batch", True))


register_mutant(Mutant("value-loss-missing-half", "the value loss without ½",
                       ("PR-VALUE-LOSS", "PR-TORCH-TWINS"), {"value_loss": lambda *a, **k: _vl(*a, half=1.0, **k)}))
register_mutant(Mutant("value-loss-min", "min instead of max of the clipped and unclipped errors",
                       ("PR-VALUE-LOSS",), {"value_loss": lambda *a, **k: _vl(*a, op=np.minimum, **k)}))
register_mutant(Mutant("value-loss-clip-around-returns", "the clip centred on the returns instead of the old values",
                       ("PR-VALUE-LOSS",), {"value_loss": lambda *a, **k: _vl(*a, around="returns", **k)}))


# -------------------------------------------------------------------------------- kl_penalty


def _kl_k3_wrong_ratio(logp: Any, ref_logp: Any, kind: str = "k1", *, clamp: Any = None) -> np.ndarray:
    if kind == "k3":
        r = _f(logp) - _f(ref_logp)
        out: np.ndarray = np.expm1(r) - r  # k3 of π/π_ref instead of π_ref/π: estimates KL(π_ref‖π)
        return out
    return P.kl_penalty(logp, ref_logp, kind, clamp=clamp)


def _kl_clamped(logp: Any, ref_logp: Any, kind: str = "k1", *, clamp: Any = None) -> np.ndarray:
    return P.kl_penalty(logp, ref_logp, kind, clamp=10.0 if clamp is None else clamp)  # every estimator clamped to ±10


def _kl_k2_no_half(logp: Any, ref_logp: Any, kind: str = "k1", *, clamp: Any = None) -> np.ndarray:
    if kind == "k2":
        r = _f(logp) - _f(ref_logp)
        out: np.ndarray = r * r
        return out
    return P.kl_penalty(logp, ref_logp, kind, clamp=clamp)


def _kl_k3_naive(logp: Any, ref_logp: Any, kind: str = "k1", *, clamp: Any = None) -> np.ndarray:
    if kind == "k3":
        r = _f(logp) - _f(ref_logp)
        out: np.ndarray = np.exp(-r) - 1.0 + r  # cancels for small r
        return out
    return P.kl_penalty(logp, ref_logp, kind, clamp=clamp)


register_mutant(Mutant("kl-k3-wrong-ratio", "k3 applied to π/π_ref instead of π_ref/π",
                       ("PR-KL-EST-FORMS", "PR-KL-EST-EXPECT", "PR-KL-EST-GRAD"), {"kl_penalty": _kl_k3_wrong_ratio}))
register_mutant(Mutant("kl-clamped-10", "every estimator, k1 included, clamped to ±10 by default",
                       ("PR-KL-EST-FORMS",), {"kl_penalty": _kl_clamped}))
register_mutant(Mutant("kl-k2-no-half", "k2 = r² without the ½", ("PR-KL-EST-FORMS", "PR-KL-EST-GRAD", "PR-TORCH-TWINS"), {"kl_penalty": _kl_k2_no_half}))
register_mutant(Mutant("kl-k3-naive", "k3 as e^{−r} − 1 + r, which loses every digit for small r",
                       ("PR-KL-EST-FORMS",), {"kl_penalty": _kl_k3_naive}, conformance_visible=False))


# --------------------------------------------------------------------- log-probs and entropy


def _lp_ignores_temperature(logits: Any, tokens: Any, temperature: float = 1.0) -> np.ndarray:
    return P.token_logprobs(logits, tokens, 1.0)


def _lp_in_place(logits: Any, tokens: Any, temperature: float = 1.0) -> np.ndarray:
    z = logits if isinstance(logits, np.ndarray) and logits.dtype == np.float64 else _f(logits)
    z /= temperature  # divides the caller's logits in place
    return P.token_logprobs(z, tokens, 1.0)


def _ent_naive(logits: Any, temperature: float = 1.0) -> np.ndarray:
    z = _f(logits) / temperature
    with np.errstate(invalid="ignore", divide="ignore"):
        lp = z - np.log(np.exp(z - z.max(axis=-1, keepdims=True)).sum(axis=-1, keepdims=True)) - z.max(axis=-1, keepdims=True)
        out: np.ndarray = -(np.exp(lp) * lp).sum(axis=-1)  # 0 · (−inf) = NaN on a −inf logit
    return out


def _ent_ignores_temperature(logits: Any, temperature: float = 1.0) -> np.ndarray:
    return P.token_entropy(logits, 1.0)


register_mutant(Mutant("logprobs-ignore-temperature", "log-probs of the raw logits, not of logits / τ",
                       ("PR-LOGPROB-TEMP",), {"token_logprobs": _lp_ignores_temperature}))
register_mutant(Mutant("logprobs-divide-in-place", "divides the caller's logits by τ in place",
                       ("PR-LOGPROB-TEMP",), {"token_logprobs": _lp_in_place}))
register_mutant(Mutant("entropy-nan-on-minus-inf", "−Σ p log p computed as is: NaN for a −inf logit",
                       ("PR-ENTROPY-BOUNDS",), {"token_entropy": _ent_naive}))
register_mutant(Mutant("entropy-ignores-temperature", "entropy of softmax(logits), τ ignored",
                       ("PR-ENTROPY-BOUNDS",), {"token_entropy": _ent_ignores_temperature}))


# ----------------------------------------------------------------------------- masked_whiten


def _wh_over_padding(x: Any, mask: Any, shift_mean: bool = True, ddof: int = 1, eps: float = 1e-8, **kw: Any) -> np.ndarray:
    m = _b(mask)
    out: np.ndarray = P.masked_whiten(x, np.ones_like(m), shift_mean, ddof, eps, **kw) * m  # statistics over every position
    return out


def _wh_ddof_ignored(x: Any, mask: Any, shift_mean: bool = True, ddof: int = 1, eps: float = 1e-8, **kw: Any) -> np.ndarray:
    return P.masked_whiten(x, mask, shift_mean, 0, eps, **kw)


def _wh_shift_ignored(x: Any, mask: Any, shift_mean: bool = True, ddof: int = 1, eps: float = 1e-8, **kw: Any) -> np.ndarray:
    return P.masked_whiten(x, mask, True, ddof, eps, **kw)


register_mutant(Mutant("whiten-over-padding", "mean and variance over every position, padding included",
                       ("PR-WHITEN",), {"masked_whiten": _wh_over_padding}))
register_mutant(Mutant("whiten-ddof-ignored", "the population variance whatever ddof says",
                       ("PR-WHITEN",), {"masked_whiten": _wh_ddof_ignored}))
register_mutant(Mutant("whiten-shift-mean-ignored", "the mean is never added back", ("PR-WHITEN",), {"masked_whiten": _wh_shift_ignored}))


# -------------------------------------------------------------------------- group_advantages


def _ga_swapped(rewards: Any, group_size: int, scale: str = "group", eps: float = 1e-6, **kw: Any) -> np.ndarray:
    s = {"group": "batch", "batch": "group"}.get(scale, scale)  # group and batch scaling swapped
    return P.group_advantages(rewards, group_size, s, eps, **kw)


def _ga_none_divides(rewards: Any, group_size: int, scale: str = "group", eps: float = 1e-6, **kw: Any) -> np.ndarray:
    return P.group_advantages(rewards, group_size, "group" if scale == "none" else scale, eps, **kw)  # "none" still divides


def _ga_one_pass_floor(rewards: Any, group_size: int, scale: str = "group", eps: float = 1e-6, **kw: Any) -> np.ndarray:
    r = _f(rewards)
    g = r.reshape(-1, group_size)
    mu = g.mean(axis=1, keepdims=True)
    if scale == "none" or group_size == 1:
        return P.group_advantages(rewards, group_size, scale, eps, **kw)
    if scale == "batch":
        var = np.full_like(g, max(float((r * r).mean() - r.mean() ** 2), 1e-4))
    else:
        var = np.maximum((g * g).mean(axis=1, keepdims=True) - mu * mu, 1e-4)  # one pass, floored: shrinks low-variance groups
    out: np.ndarray = ((g - mu) / np.sqrt(var)).reshape(-1)
    return out


register_mutant(Mutant("group-batch-scale-swapped", "the group's std used for \"batch\" and the batch's for \"group\"",
                       ("PR-GROUP-ADV",), {"group_advantages": _ga_swapped}))
register_mutant(Mutant("group-none-still-divides", "\"none\" (Dr. GRPO) still divides by the group std",
                       ("PR-GROUP-ADV", "PR-BASELINE-SAME-BATCH", "PR-GROUP-STD-REWEIGHTS", "PR-RLOO-LOO"), {"group_advantages": _ga_none_divides}))
register_mutant(Mutant("group-one-pass-variance-floored", "one-pass variance E[r²] − μ², population, floored at 1e-4",
                       ("PR-GROUP-ADV",), {"group_advantages": _ga_one_pass_floor}))


# --------------------------------------------------------------------------- rloo_advantages


def _rloo_includes_self(rewards: Any, group_size: int) -> np.ndarray:
    return P.group_advantages(rewards, group_size, "none")  # the mean includes the sample itself


def _rloo_divides_by_g(rewards: Any, group_size: int) -> np.ndarray:
    g = _f(rewards).reshape(-1, group_size)
    out: np.ndarray = (g - (g.sum(axis=1, keepdims=True) - g) / group_size).reshape(-1)  # / G instead of / (G − 1)
    return out


register_mutant(Mutant("rloo-includes-self", "leave-one-out mean that includes the sample itself",
                       ("PR-RLOO-LOO", "PR-BASELINE-SAME-BATCH"), {"rloo_advantages": _rloo_includes_self}))
register_mutant(Mutant("rloo-divides-by-g", "the other rewards' sum divided by G, not G − 1 (still unbiased: a baseline "
                       "independent of the sample, but not the leave-one-out mean)",
                       ("PR-RLOO-LOO",), {"rloo_advantages": _rloo_divides_by_g}))


# -------------------------------------------------------------------------------- masked_gae


def _gae_reads_padding(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 0.95, *, holes: str = "skip") -> np.ndarray:
    r, v, m = _f(rewards), _f(values), _b(mask)
    out = np.zeros_like(r)
    for i in range(r.shape[0]):
        idx = np.flatnonzero(m[i])
        if idx.size == 0:
            continue
        last = 0.0
        for t in range(idx[-1], idx[0] - 1, -1):  # steps through holes, reading their values and rewards
            nv = v[i, t + 1] if t < idx[-1] else 0.0
            last = r[i, t] + gamma * nv - v[i, t] + gamma * lam * last
            out[i, t] = last
    return np.where(m, out, 0.0)


def _gae_bootstraps_past_end(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 0.95, *, holes: str = "skip") -> np.ndarray:
    r, v, m = _f(rewards), _f(values), _b(mask)
    bonus = np.zeros_like(r)
    for i in range(r.shape[0]):
        idx = np.flatnonzero(m[i])
        if idx.size and idx[-1] + 1 < r.shape[1]:
            bonus[i, idx[-1]] = gamma * v[i, idx[-1] + 1]  # bootstraps from the position after the last token
    return P.masked_gae(r + bonus, v, m, gamma, lam, holes=holes)


register_mutant(Mutant("gae-reads-padding", "token GAE stepping through holes and reading rewards and values there",
                       ("PR-GAE-MASKED",), {"practice_masked_gae": _gae_reads_padding}))
register_mutant(Mutant("gae-bootstraps-past-end", "no terminal after the last response token: V of the next position bootstraps",
                       ("PR-GAE-MASKED",), {"practice_masked_gae": _gae_bootstraps_past_end}))


# --------------------------------------------------------------------------- preference_loss


def _pref(kind_map: dict[str, Any]) -> Any:
    def fn(pc: Any, pr: Any, rc: Any, rr: Any, beta: float = 0.1, kind: str = "sigmoid", label_smoothing: float = 0.0) -> np.ndarray:
        if kind in kind_map:
            h = (_f(pc) - _f(rc)) - (_f(pr) - _f(rr))
            out: np.ndarray = kind_map[kind](h, beta, label_smoothing)
            return out
        return P.preference_loss(pc, pr, rc, rr, beta, kind, label_smoothing)

    return fn


def _naive_sigmoid(h: np.ndarray, beta: float, eps: float) -> np.ndarray:
    with np.errstate(over="ignore", divide="ignore"):
        s = 1.0 / (1.0 + np.exp(-beta * h))
        out: np.ndarray = -(1 - eps) * np.log(s) - eps * np.log(1 - s)
    return out


register_mutant(Mutant("pref-naive-log-sigmoid", "log(1/(1 + e^{−βh})): inf or 0 at large |βh|",
                       ("PR-PREF-FORMS",), {"preference_loss": _pref({"sigmoid": _naive_sigmoid})}))
register_mutant(Mutant("pref-ipo-margin-1-over-beta", "IPO's target margin 1/β instead of 1/(2β)",
                       ("PR-PREF-FORMS", "PR-IPO-MIN"), {"preference_loss": _pref({"ipo": lambda h, b, e: (h - 1.0 / b) ** 2})}))
register_mutant(Mutant("pref-robust-unnormalised", "the robust loss without the 1/(1 − 2ε)",
                       ("PR-PREF-FORMS", "PR-ROBUST-UNBIASED"),
                       {"preference_loss": _pref({"robust": lambda h, b, e: (1 - 2 * e) * P.preference_loss(h, 0 * h, 0 * h, 0 * h, b, "robust", e)})}))
register_mutant(Mutant("pref-hinge-no-beta", "hinge max(0, 1 − h) with β left out",
                       ("PR-PREF-FORMS",), {"preference_loss": _pref({"hinge": lambda h, b, e: np.maximum(0.0, 1.0 - h)})}))


# ------------------------------------------------------------------------ adaptive_kl_update


def _akl_no_clip(beta: float, kl: float, target: float, horizon: float, n_steps: float) -> float:
    return float(beta * (1.0 + (kl / target - 1.0) * n_steps / horizon))


def _akl_sign(beta: float, kl: float, target: float, horizon: float, n_steps: float) -> float:
    e = min(max(kl / target - 1.0, -0.2), 0.2)
    return float(beta * (1.0 - e * n_steps / horizon))  # lowers β when the KL is above target


register_mutant(Mutant("adaptive-kl-no-clip", "the proportional error not clipped to ±0.2",
                       ("PR-ADAPTIVE-KL",), {"adaptive_kl_update": _akl_no_clip}))
register_mutant(Mutant("adaptive-kl-sign-flipped", "β lowered when the KL is above its target",
                       ("PR-ADAPTIVE-KL", "PR-TORCH-TWINS"), {"adaptive_kl_update": _akl_sign}))

