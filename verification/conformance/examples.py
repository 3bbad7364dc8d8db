"""Correct implementations of every target computed in float32 with torch.

They are what a careful library author would write, and the harness must accept them (SPEC.md
§13.2: a correct float32 implementation conforms).  Also usable as starting points:
``python -m verification diff gae verification.conformance.examples:gae``.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
import torch.nn.functional as F

__all__ = [
    "bt_loss", "conjugate_gradient", "dpo_loss", "gae", "kl_beta_update", "kl_rewards",
    "min_variance_baseline", "natural_step", "ppo_clip", "returns", "td_residuals", "FLOAT32",
]

DT = torch.float32


def _t(x: Any) -> torch.Tensor:
    return torch.as_tensor(x, dtype=DT)


def _mask(x: Any) -> torch.Tensor:
    return torch.as_tensor(x).to(torch.bool)


def returns(rewards: Any, gamma: float) -> torch.Tensor:
    r = _t(rewards)
    out = torch.empty_like(r)
    acc = torch.zeros((), dtype=DT)
    for t in range(r.shape[0] - 1, -1, -1):
        acc = r[t] + gamma * acc
        out[t] = acc
    return out


def td_residuals(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> torch.Tensor:
    return _t(rewards) + gamma * _t(next_values) * (~_mask(terminated)).to(DT) - _t(values)


def gae(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> torch.Tensor:
    delta = td_residuals(rewards, values, next_values, terminated, gamma)
    cont = (gamma * lam) * (~(_mask(terminated) | _mask(truncated))).to(DT)
    out = torch.empty_like(delta)
    acc = torch.zeros((), dtype=DT)
    for t in range(delta.shape[0] - 1, -1, -1):
        acc = delta[t] + cont[t] * acc
        out[t] = acc
    return out


def ppo_clip(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> torch.Tensor:
    ratio = torch.exp(_t(logp_new) - _t(logp_old))
    adv = _t(advantages)
    return torch.min(ratio * adv, torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon) * adv)


def kl_beta_update(beta: float, kl: float, kl_target: float) -> torch.Tensor:
    b, d, tgt = _t(beta), _t(kl), _t(kl_target)
    if d < tgt / 1.5:
        return b / 2
    if d > tgt * 1.5:
        return b * 2
    return b


def natural_step(g: Any, fisher: Any, max_kl: float) -> torch.Tensor:
    gv = _t(g)
    x = torch.linalg.solve(_t(fisher), gv)
    quad = gv @ x
    if quad <= 0:
        return torch.zeros_like(gv)
    step: torch.Tensor = torch.sqrt(2.0 * max_kl / quad) * x
    return step


def conjugate_gradient(matvec: Callable[[torch.Tensor], torch.Tensor], b: Any, iters: int) -> torch.Tensor:
    bv = _t(b)
    x = torch.zeros_like(bv)
    r = bv.clone()
    p = r.clone()
    rs = r @ r
    stop = torch.finfo(DT).eps ** 2 * rs  # residual at float32 round-off: converged, stop before 0/0
    for _ in range(iters):
        if rs <= stop:
            break
        ap = matvec(p)
        alpha = rs / (p @ ap)
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = r @ r
        p = r + (rs_new / rs) * p
        rs = rs_new
    return x


def min_variance_baseline(grad_logp: Any, returns: Any) -> torch.Tensor:
    g2 = _t(grad_logp) ** 2
    den = g2.sum(dim=0)
    num = g2.T @ _t(returns)
    return torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.zeros_like(den))


def bt_loss(r_chosen: Any, r_rejected: Any) -> torch.Tensor:
    return -F.logsigmoid(_t(r_chosen) - _t(r_rejected))


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> torch.Tensor:
    margin = (_t(policy_chosen) - _t(ref_chosen)) - (_t(policy_rejected) - _t(ref_rejected))
    return -F.logsigmoid(beta * margin)


def kl_rewards(scores: Any, logp: Any, ref_logp: Any, mask: Any, beta: float) -> torch.Tensor:
    m = _mask(mask)
    out = torch.where(m, -beta * (_t(logp) - _t(ref_logp)), torch.zeros((), dtype=DT))
    cols = torch.arange(m.shape[1])
    last = torch.where(m, cols, torch.full_like(cols, -1)).max(dim=1).values
    out[torch.arange(m.shape[0]), last] += _t(scores)
    return out


#: target name -> the float32 implementation above.
FLOAT32: dict[str, Callable[..., Any]] = {
    "returns": returns, "td_residuals": td_residuals, "gae": gae, "ppo_clip": ppo_clip, "kl_beta_update": kl_beta_update,
    "natural_step": natural_step, "conjugate_gradient": conjugate_gradient, "min_variance_baseline": min_variance_baseline,
    "bt_loss": bt_loss, "dpo_loss": dpo_loss, "kl_rewards": kl_rewards,
}
