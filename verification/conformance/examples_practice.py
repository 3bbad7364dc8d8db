"""Correct float32 torch implementations of the twelve practice targets (SPEC.md §17).

Written the way RLHF libraries write them (masks multiplied in, ``torch.where`` where a −inf or
padding value could leak, reductions over the mask), in float32; the harness must accept them on
values and, under ``--grad``, on vector–Jacobian products.  Also starting points:
``python -m verification diff policy_loss verification.conformance.examples_practice:policy_loss``.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = [
    "adaptive_kl_update", "aggregate_loss", "group_advantages", "kl_penalty", "masked_gae", "masked_whiten",
    "policy_loss", "preference_loss", "rloo_advantages", "token_entropy", "token_logprobs", "value_loss",
]

DT = torch.float32


def _t(x: Any) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x if x.dtype == DT else x.to(DT)
    return torch.as_tensor(x, dtype=DT)


def _m(x: Any) -> torch.Tensor:
    return torch.as_tensor(x).to(torch.bool)


def aggregate_loss(loss: Any, mask: Any, mode: str = "token_mean", norm_length: Any = None) -> torch.Tensor:
    lv, m = _t(loss), _m(mask)
    mf = m.to(DT)
    lm = torch.where(m, lv, torch.zeros((), dtype=DT))
    if mode == "token_mean":
        return lm.sum() / mf.sum().clamp(min=1.0)
    if mode == "seq_mean_token_sum_norm":
        length = lv.shape[1] if norm_length is None else float(norm_length)
        return lm.sum() / (lv.shape[0] * length)
    rows = mf.sum(dim=1)
    has = rows > 0
    per = lm.sum(dim=1)
    if mode == "seq_mean_token_mean":
        per = per / rows.clamp(min=1.0)
    return (per * has.to(DT)).sum() / has.to(DT).sum().clamp(min=1.0)


def policy_loss(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float = 0.2, clip_high: float = 0.2,
                dual_clip: Any = None, agg: str = "token_mean") -> torch.Tensor:
    m = _m(mask)
    log_ratio = torch.where(m, _t(logp_new) - _t(logp_old).detach(), torch.zeros((), dtype=DT))
    ratio = torch.exp(log_ratio)
    adv = torch.where(m, _t(advantages).detach(), torch.zeros((), dtype=DT))
    pg1 = -adv * ratio
    pg2 = -adv * torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    losses = torch.maximum(pg1, pg2)
    if dual_clip is not None:
        losses = torch.where(adv < 0, torch.minimum(losses, -adv * dual_clip), losses)
    return aggregate_loss(losses, m, agg)


def value_loss(values: Any, old_values: Any, returns: Any, mask: Any, clip: Any = None, agg: str = "token_mean") -> torch.Tensor:
    v, vo, r = _t(values), _t(old_values).detach(), _t(returns).detach()
    un = (v - r) ** 2
    if clip is None:
        per = un
    else:
        vc = vo + torch.clamp(v - vo, -clip, clip)
        per = torch.maximum(un, (vc - r) ** 2)
    return aggregate_loss(0.5 * per, mask, agg)


def kl_penalty(logp: Any, ref_logp: Any, kind: str = "k1") -> torch.Tensor:
    r = _t(logp) - _t(ref_logp)
    if kind == "k1":
        return r
    if kind == "k2":
        return 0.5 * r * r
    if kind == "abs":
        return r.abs()
    # k3 = e^{-r} − 1 + r; below |r| = 1e-2 its series r²/2 − r³/6 + r⁴/24 (float32 cancels there)
    series = r * r * (0.5 - r * (1.0 / 6.0 - r / 24.0))
    return torch.where(r.abs() < 1e-2, series, torch.expm1(-r) + r)


def token_logprobs(logits: Any, tokens: Any, temperature: float = 1.0) -> torch.Tensor:
    z = _t(logits) / temperature  # a new tensor: the caller's logits are untouched
    logp = torch.log_softmax(z, dim=-1)
    return logp.gather(-1, torch.as_tensor(tokens).long().unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: Any, temperature: float = 1.0) -> torch.Tensor:
    logp = torch.log_softmax(_t(logits) / temperature, dim=-1)
    p = logp.exp()
    return -(p * torch.where(p > 0, logp, torch.zeros((), dtype=DT))).sum(dim=-1)


def masked_whiten(x: Any, mask: Any, shift_mean: bool = True, ddof: int = 1, eps: float = 1e-8) -> torch.Tensor:
    xv, m = _t(x), _m(mask)
    mf = m.to(DT)
    n = mf.sum()
    mean = (xv * mf).sum() / n
    centred = torch.where(m, xv - mean, torch.zeros((), dtype=DT))
    var = (centred * centred).sum() / (n - ddof)
    out = centred * torch.rsqrt(var + eps)
    if not shift_mean:
        out = out + mean
    return out


def group_advantages(rewards: Any, group_size: int, scale: str = "group", eps: float = 1e-6) -> torch.Tensor:
    r = _t(rewards)
    g = r.view(-1, group_size)
    if group_size == 1:
        return torch.zeros_like(r)
    mean = g.mean(dim=1, keepdim=True)
    adv = g - mean
    if scale == "none":
        return adv.reshape(-1)
    std = g.std(dim=1, keepdim=True) if scale == "group" else r.std().expand_as(mean)
    den = std + eps
    # eps = 0 and a constant group: adv is 0 there, and 0/0 must give 0 (SPEC §17), not NaN
    den = torch.where(den == 0, torch.ones_like(den), den)
    return (adv / den).reshape(-1)


def rloo_advantages(rewards: Any, group_size: int) -> torch.Tensor:
    g = _t(rewards).view(-1, group_size)
    baseline = (g.sum(dim=1, keepdim=True) - g) / (group_size - 1)
    return (g - baseline).reshape(-1)


def masked_gae(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 0.95) -> torch.Tensor:
    m = _m(mask)
    zero = torch.zeros((), dtype=DT)
    r = torch.where(m, _t(rewards), zero)
    v = torch.where(m, _t(values), zero)
    b, t_len = r.shape
    last_adv = torch.zeros(b, dtype=DT)
    next_v = torch.zeros(b, dtype=DT)
    out = []
    for t in reversed(range(t_len)):
        mt = m[:, t]
        delta = r[:, t] + gamma * next_v - v[:, t]
        adv = delta + gamma * lam * last_adv
        last_adv = torch.where(mt, adv, last_adv)
        next_v = torch.where(mt, v[:, t], next_v)
        out.append(torch.where(mt, adv, zero))
    return torch.stack(out[::-1], dim=1)


def preference_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float = 0.1,
                    kind: str = "sigmoid", label_smoothing: float = 0.0) -> torch.Tensor:
    logits = (_t(policy_chosen) - _t(ref_chosen)) - (_t(policy_rejected) - _t(ref_rejected))
    ls = torch.nn.functional.logsigmoid
    eps = label_smoothing
    if kind == "sigmoid":
        return -ls(beta * logits) * (1 - eps) - ls(-beta * logits) * eps
    if kind == "robust":
        return (-ls(beta * logits) * (1 - eps) + ls(-beta * logits) * eps) / (1 - 2 * eps)
    if kind == "ipo":
        return (logits - 1 / (2 * beta)) ** 2
    return torch.relu(1 - beta * logits)


def adaptive_kl_update(beta: float, kl: float, target: float, horizon: float, n_steps: float) -> float:
    err = min(max(float(kl) / target - 1.0, -0.2), 0.2)
    return float(beta) * (1.0 + err * n_steps / horizon)
